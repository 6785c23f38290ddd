import { Option, type Command } from 'commander';
import { landInputCommit, type InputCommitKind } from '../../stages/input-commit.js';
import { answer, say } from '../print.js';
import { globals, withOptions } from '../options.js';
import { PUBLISH_OPTIONS, publishInputsOptions, reportPublish, requireRepo, targetOf, type PublishFlags } from '../publish-flags.js';

interface InputCommitFlags extends PublishFlags {
  readonly pushConfig: boolean;
}

function inputCommitOptions(cmd: Command): Command {
  return withOptions(
    cmd,
    ...PUBLISH_OPTIONS.map((use) =>
      // Here a pull request is opened in the config repo, not the manifests repo.
      use === 'mode'
        ? { name: use, help: 'push the commit to the config repo and publish, or open a pull request in the config repo' }
        : use === 'githubRepo'
          ? { name: use, help: "the config repo on GitHub, for --mode pr (default: from its upstream's URL)" }
          : use,
    ),
  ).addOption(
    new Option('--no-push-config', 'leave the new config commit in this clone only (push it before the next pipeline run, which otherwise refuses the remote inputs as diverged from this deploy)'),
  );
}

export function register(program: Command): void {
  inputCommitOptions(
    program
      .command('rollback')
      .argument('[input-commit]', 'the input commit to undo (default: the last commit that changed the inputs)')
      .description('git revert an input commit in the config repo, push it, then publish (--mode pr: open a pull request in the config repo)'),
  ).action((commit: string | undefined, opts: InputCommitFlags, cmd: Command) => land('rollback', commit, opts, cmd));

  inputCommitOptions(
    program
      .command('deploy')
      .argument('<input-commit>', 'the earlier input commit to deploy again')
      .description('restore sites.yaml and canary.yaml from an earlier commit as a new commit, push it, then publish (--mode pr: open a pull request in the config repo)'),
  ).action((commit: string, opts: InputCommitFlags, cmd: Command) => land('deploy', commit, opts, cmd));
}

async function land(kind: InputCommitKind, target: string | undefined, opts: InputCommitFlags, cmd: Command): Promise<void> {
  // A pull request in the config repo publishes nothing now: the pipeline does when it merges.
  const g = globals(cmd);
  const manifests = targetOf(cmd, g.canary);
  if (opts.mode === 'push') requireRepo(manifests);
  const outcome = await landInputCommit(kind, { ...publishInputsOptions(g, opts, manifests), target, pushConfig: opts.pushConfig });
  switch (outcome.status) {
    case 'unchanged':
      return say('Nothing to propose: the config repo already holds these inputs.');
    case 'published':
      return reportPublish(outcome.publish, opts, manifests);
    case 'pull-request': {
      const { pullRequest, branch } = outcome;
      return answer(opts.json, { status: 'pull-request', branch, commit: outcome.commit, pullRequest }, () =>
        `${pullRequest.created ? 'Opened' : 'Updated'} pull request #${pullRequest.number} in the config repo from ${branch}:\n${pullRequest.url}`,
      );
    }
  }
}
