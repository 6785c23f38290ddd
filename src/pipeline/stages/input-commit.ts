import { configRepo } from '../config-repo/inputs.js';
import { pushInputs, upstreamOf, type Upstream } from '../config-repo/push-upstream.js';
import { restoreInputs, revertInputCommit, type InputCommitResult, type InputFiles } from '../config-repo/rollback.js';
import { credentialsFrom } from '../git/credentials.js';
import { publishInputs, type PublishInputsOptions } from '../publish/from-inputs.js';
import { ensurePullRequest, pullRequestTarget, type GitHubTarget, type PullRequestResult } from '../publish/github.js';
import type { PublishResult } from '../publish/publish.js';
import { UsageError } from '../shared/errors.js';

/**
 * rollback and deploy: a new commit in the config repo, pushed to the branch
 * it tracks (the source of truth the next pipeline run reads), then
 * published. With mode `pr` the commit goes to a pull request in the config
 * repo instead, and the pipeline publishes it when it merges.
 */

export type InputCommitKind = 'rollback' | 'deploy';

export interface InputCommitOptions extends Omit<PublishInputsOptions, 'source'> {
  /** rollback: the input commit to undo (default: the last that changed the inputs); deploy: the commit to restore. */
  readonly target: string | undefined;
  /** Push the new commit to the config repo's upstream (mode `push`) or a pull-request branch (mode `pr`). */
  readonly pushConfig: boolean;
  /** The config repo's clone. @default process.cwd() */
  readonly dir?: string;
}

export type InputCommitOutcome =
  | { readonly status: 'published'; readonly publish: PublishResult }
  | { readonly status: 'pull-request'; readonly branch: string; readonly commit: string; readonly pullRequest: PullRequestResult }
  | { readonly status: 'unchanged' };

export async function landInputCommit(kind: InputCommitKind, o: InputCommitOptions): Promise<InputCommitOutcome> {
  const dir = o.dir ?? process.cwd();
  // Every setting is checked before the config repo is touched.
  if (o.mode === 'pr' && !o.pushConfig) throw new UsageError('--mode pr pushes the commit to a pull-request branch of the config repo: drop --no-push-config');
  const upstream = o.pushConfig ? await upstreamOf(dir) : undefined;
  const github = o.mode === 'pr' ? configPullRequestTarget(o, upstream) : undefined;

  const inputs: InputFiles = { dir, files: [o.sites, o.canary] };
  const done = kind === 'rollback' ? await revertInputCommit(inputs, o.target) : await restoreInputs(inputs, o.target!);
  if (!done.commit) {
    o.log(`Config repo unchanged (${done.subject}).`);
    if (github) return { status: 'unchanged' };
    return { status: 'published', publish: await publishInputs(o) };
  }
  const verb = kind === 'rollback' ? 'Reverted' : 'Restored the inputs of';
  o.log(`${verb} ${done.target.slice(0, 12)} in the config repo: new commit ${done.commit.slice(0, 12)} "${done.subject}".`);
  if (github) return propose(kind, dir, done, upstream!, github, o.log);

  let source = done.commit;
  if (upstream) {
    source = await undoOnFailure(dir, done, () => pushInputs(dir, upstream, { log: o.log }));
    const rebased = source === done.commit ? '' : ` (rebased onto newer commits there, now ${source.slice(0, 12)})`;
    o.log(`Pushed it to ${upstream.branch} of ${upstream.url}${rebased}.`);
  } else {
    const why = o.pushConfig ? 'the checked-out branch tracks no remote branch' : '--no-push-config';
    o.log(`Not pushed (${why}): push it before the next pipeline run; until then a pipeline of the remote's inputs is refused as diverged from this deploy.`);
  }
  return { status: 'published', publish: await publishInputs({ ...o, source }) };
}

/** Takes the new commit back out of the checked-out branch, keeping any other local state. */
async function resetBefore(dir: string, done: InputCommitResult): Promise<void> {
  await configRepo(dir).raw(['reset', '-q', '--keep', `${done.commit}~1`]);
}

/** A commit that could not be pushed is taken back, so a re-run starts from the same place. */
export async function undoOnFailure<T>(dir: string, done: InputCommitResult, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    await resetBefore(dir, done);
    throw error;
  }
}

function configPullRequestTarget(o: InputCommitOptions, upstream: Upstream | undefined): GitHubTarget {
  if (!upstream) {
    throw new UsageError('--mode pr opens the pull request in the config repo, but the checked-out branch tracks no remote branch: set one with git branch -u origin/main');
  }
  return pullRequestTarget({
    baseUrl: o.github.url,
    token: o.github.token || credentialsFrom({ token: o.token })?.token,
    repo: o.github.repo,
    remoteUrl: upstream.url,
    what: "the config repo's GitHub repository",
  });
}

/**
 * Pushes the commit to a branch of its own, opens (or updates) the pull
 * request, and moves the local branch back to where it was: the change now
 * lives in the pull request, not in this clone's main.
 */
async function propose(
  kind: InputCommitKind,
  dir: string,
  done: InputCommitResult,
  upstream: Upstream,
  github: GitHubTarget,
  log: (line: string) => void,
): Promise<InputCommitOutcome> {
  const branch = `aviary/${kind}-${done.target.slice(0, 12)}`;
  const commit = await pushInputs(dir, upstream, { branch, log }).finally(() => resetBefore(dir, done));
  const pullRequest = await ensurePullRequest(github, {
    head: branch,
    base: upstream.branch,
    title: done.subject,
    body:
      `${kind === 'rollback' ? 'Reverts' : 'Restores the inputs of'} ${done.target}, made by \`aviary ${kind}\`.\n\n` +
      'When this pull request merges, the pipeline publishes the manifests as for any other change of the inputs.\n',
  });
  return { status: 'pull-request', branch, commit, pullRequest };
}
