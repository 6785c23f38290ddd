import { Option, type Command } from 'commander';
import { UsageError } from '../../shared/errors.js';
import { ensurePullRequest, pullRequestTarget, type GitHubTarget } from '../../publish/github.js';
import { credentialsFrom } from '../../git/credentials.js';
import { pushInputs, upstreamOf, type Upstream } from '../../config-repo/push-upstream.js';
import { configRepo } from '../../config-repo/inputs.js';
import { restoreInputs, revertInputCommit, type InputCommitResult, type InputFiles } from '../../config-repo/rollback.js';
import { globals, type GlobalOptions } from './globals.js';
import { note, publishInputs, publishOptions, report, requireRepo, say, type PublishFlags } from './publish.js';

/**
 * rollback and deploy: a new commit in the config repo, pushed to the branch
 * it tracks (the source of truth the next pipeline run reads), then
 * published. With `--mode pr` the commit goes to a pull request in the config
 * repo instead, and the pipeline publishes it when it merges.
 */

interface InputCommitFlags extends PublishFlags {
  pushConfig: boolean;
}

type Kind = 'rollback' | 'deploy';

function inputCommitOptions(cmd: Command): Command {
  publishOptions(cmd);
  // Here a pull request is opened in the config repo, not the manifests repo.
  const describe = (flag: string, text: string) => void (cmd.options.find((o) => o.long === flag)!.description = text);
  describe('--mode', 'push the commit to the config repo and publish, or open a pull request in the config repo');
  describe('--github-repo', "the config repo on GitHub, for --mode pr (default: from its upstream's URL)");
  return cmd.addOption(
    new Option('--no-push-config', 'leave the new config commit in this clone only (push it before the next pipeline run, which otherwise refuses the remote inputs as diverged from this deploy)'),
  );
}

export function register(program: Command): void {
  inputCommitOptions(
    program
      .command('rollback')
      .argument('[input-commit]', 'the input commit to undo (default: the last commit that changed the inputs)')
      .description('git revert an input commit in the config repo, push it, then publish (--mode pr: open a pull request in the config repo)'),
  ).action(async (commit: string | undefined, opts: InputCommitFlags, cmd: Command) => {
    await land('rollback', globals(cmd), opts, (inputs) => revertInputCommit(inputs, commit));
  });

  inputCommitOptions(
    program
      .command('deploy')
      .argument('<input-commit>', 'the earlier input commit to deploy again')
      .description('restore sites.yaml and canary.yaml from an earlier commit as a new commit, push it, then publish (--mode pr: open a pull request in the config repo)'),
  ).action(async (commit: string, opts: InputCommitFlags, cmd: Command) => {
    await land('deploy', globals(cmd), opts, (inputs) => restoreInputs(inputs, commit));
  });
}

async function land(kind: Kind, g: GlobalOptions, opts: InputCommitFlags, makeCommit: (inputs: InputFiles) => Promise<InputCommitResult>): Promise<void> {
  const dir = process.cwd();
  // Every setting is checked before the config repo is touched.
  if (opts.mode === 'pr' && !opts.pushConfig) throw new UsageError('--mode pr pushes the commit to a pull-request branch of the config repo: drop --no-push-config');
  const upstream = opts.pushConfig ? await upstreamOf(dir) : undefined;
  const github = opts.mode === 'pr' ? configPullRequestTarget(opts, upstream) : undefined;
  if (opts.mode === 'push') requireRepo(opts.repo);

  const done = await makeCommit({ dir, files: [g.sites, g.canary] });
  const verb = kind === 'rollback' ? 'Reverted' : 'Restored the inputs of';
  if (!done.commit) {
    note(`Config repo unchanged (${done.subject}).`);
    if (github) return say('Nothing to propose: the config repo already holds these inputs.');
    return report(await publishInputs(g, opts, undefined), opts);
  }
  note(`${verb} ${done.target.slice(0, 12)} in the config repo: new commit ${done.commit.slice(0, 12)} "${done.subject}".`);
  if (github) return propose(kind, done, upstream!, github, opts);

  let source = done.commit;
  if (upstream) {
    source = await undoOnFailure(done, () => pushInputs(dir, upstream, { log: note }));
    const rebased = source === done.commit ? '' : ` (rebased onto newer commits there, now ${source.slice(0, 12)})`;
    note(`Pushed it to ${upstream.branch} of ${upstream.url}${rebased}.`);
  } else {
    const why = opts.pushConfig ? 'the checked-out branch tracks no remote branch' : '--no-push-config';
    note(`Not pushed (${why}): push it before the next pipeline run; until then a pipeline of the remote's inputs is refused as diverged from this deploy.`);
  }
  report(await publishInputs(g, opts, source), opts);
}

/** Takes the new commit back out of the checked-out branch, keeping any other local state. */
async function resetBefore(done: InputCommitResult): Promise<void> {
  await configRepo(process.cwd()).raw(['reset', '-q', '--keep', `${done.commit}~1`]);
}

/** A commit that could not be pushed is taken back, so a re-run starts from the same place. */
async function undoOnFailure<T>(done: InputCommitResult, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    await resetBefore(done);
    throw error;
  }
}

function configPullRequestTarget(opts: InputCommitFlags, upstream: Upstream | undefined): GitHubTarget {
  if (!upstream) {
    throw new UsageError('--mode pr opens the pull request in the config repo, but the checked-out branch tracks no remote branch: set one with git branch -u origin/main');
  }
  return pullRequestTarget({
    baseUrl: opts.githubUrl,
    token: process.env.GITHUB_TOKEN || credentialsFrom({ token: opts.token })?.token,
    repo: opts.githubRepo,
    remoteUrl: upstream.url,
    what: "the config repo's GitHub repository",
  });
}

/**
 * Pushes the commit to a branch of its own, opens (or updates) the pull
 * request, and moves the local branch back to where it was: the change now
 * lives in the pull request, not in this clone's main.
 */
async function propose(kind: Kind, done: InputCommitResult, upstream: Upstream, github: GitHubTarget, opts: InputCommitFlags): Promise<void> {
  const branch = `aviary/${kind}-${done.target.slice(0, 12)}`;
  const pushed = await pushInputs(process.cwd(), upstream, { branch, log: note }).finally(() => resetBefore(done));
  const pullRequest = await ensurePullRequest(github, {
    head: branch,
    base: upstream.branch,
    title: done.subject,
    body:
      `${kind === 'rollback' ? 'Reverts' : 'Restores the inputs of'} ${done.target}, made by \`aviary ${kind}\`.\n\n` +
      'When this pull request merges, the pipeline publishes the manifests as for any other change of the inputs.\n',
  });
  if (opts.json) return say(JSON.stringify({ status: 'pull-request', branch, commit: pushed, pullRequest }, null, 2));
  say(`${pullRequest.created ? 'Opened' : 'Updated'} pull request #${pullRequest.number} in the config repo from ${branch}:`);
  say(pullRequest.url);
}
