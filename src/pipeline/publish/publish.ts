import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ManifestFile } from '../../charts/render.js';
import { RefusedError } from '../shared/errors.js';
import { ensurePullRequest, pullRequestTarget, type PullRequestResult } from './github.js';
import { commitAll, trailerOf } from '../git/commit.js';
import type { GitCredentials } from '../git/credentials.js';
import { deployOrder } from './deploy-order.js';
import { changeSubject, commitMessage, PATH_TRAILER, SOURCE_TRAILER } from './message.js';
import { deployTarget, lastDeployedSource } from './last-deploy.js';
import { pushHead, withPushRetry, PUSH_RETRY } from '../git/push.js';
import { applyChanges, changesToward, normalisePrefix, trackedFiles } from '../git/sync.js';
import { normaliseRemote, WorkDir } from '../git/workdir.js';
import { checkBranch } from '../git/branches.js';
import { formatPlan, isEmptyPlan, planOf, type Plan } from './plan.js';
import { readIfExists } from '../shared/files.js';
import type { RetryPolicy } from '../shared/retry.js';

export type PublishMode = 'push' | 'pr';

export interface PublishOptions {
  /** URL or path of the manifests repository. */
  readonly repo: string;
  /** @default 'main' */
  readonly branch?: string;
  /** Folder of the manifests repo that must equal dist/. @default '.' */
  readonly path?: string;
  /**
   * Start `branch` in a repository that has branches but not this one (a
   * first publish into an empty repository needs no asking). @default false
   */
  readonly createBranch?: boolean;
  /** @default 'push' */
  readonly mode?: PublishMode;
  /** Where work dirs live. @default '.aviary/manifests' */
  readonly workRoot?: string;
  readonly credentials?: GitCredentials;
  /** The input commit (config repo) the files were made from; goes into the Aviary-Source trailer. */
  readonly source?: string;
  /**
   * The commit the inputs build on, for ordering deploys: only a deploy whose
   * inputs contain the last deploy's may publish. @default source
   */
  readonly base?: string;
  /** The config repo, where `base` and the last deploy's input commit are compared. */
  readonly configDir?: string;
  /** `Name <email>` for the commit author (the person behind the input commit). */
  readonly author?: string;
  readonly github?: { readonly url?: string; readonly token?: string; readonly repo?: string };
  /** How hard to try when the branch is busy; what is not given comes from PUSH_RETRY. */
  readonly retry?: Partial<RetryPolicy>;
  /** Progress lines (retries and the like). */
  readonly log?: (line: string) => void;
}

export interface PublishResult {
  /**
   * unchanged: the branch already held these manifests (nothing committed);
   * pushed: a commit landed on the branch; superseded: a publish from newer
   * inputs landed first, so this one had nothing left to do;
   * pull-request: a branch was pushed and a pull request opened or updated.
   */
  readonly status: 'unchanged' | 'pushed' | 'superseded' | 'pull-request';
  readonly plan: Plan;
  /** The manifests commit made, if any. */
  readonly commit?: string;
  /** The branch written to (the PR branch in PR mode). */
  readonly branch: string;
  readonly attempts: number;
  readonly pullRequest?: PullRequestResult;
}

/**
 * The manifests to publish, or a function that renders them given the
 * previously published bytes of a file (so unchanged sites are reused, not
 * rendered again: see RenderOptions.previous).
 */
export type ManifestSource = readonly ManifestFile[] | ((previous: (path: string) => string | undefined) => readonly ManifestFile[]);

/**
 * Commits `files` as the exact contents of `--path` in the manifests repo,
 * by a direct push or through a pull request.
 *
 * Every attempt first finds the last deploy of `--path` on the remote head
 * and compares its input commit with ours (see deployOrder): only a forward
 * move publishes, a newer deploy makes this one `superseded`, and anything
 * undecidable is refused before a file is written. A push that loses a race
 * is rebuilt on the new head by the same rule, never forced.
 */
export async function publish(source: ManifestSource, options: PublishOptions): Promise<PublishResult> {
  const branch = options.branch ?? 'main';
  const prefix = normalisePrefix(options.path ?? '.');
  const remote = normaliseRemote(options.repo, options.credentials);
  const work = await WorkDir.open(options.workRoot ?? '.aviary/manifests', remote);
  const policy = { ...PUSH_RETRY, ...options.retry };
  const log = options.log ?? (() => undefined);
  let rendered: readonly ManifestFile[] | undefined;
  /** Files the render reused as it read them from the work tree, and the head the tree was at. */
  const reused = new Map<string, string>();
  let readAt: string | undefined;
  /** Rendered once, on the first remote head seen; retries reuse the same bytes. */
  const filesOf = (head: string | undefined): readonly ManifestFile[] => {
    if (rendered) return rendered;
    if (typeof source !== 'function') return (rendered = source);
    readAt = head;
    rendered = source((path) => {
      const content = readIfExists(join(work.dir, prefix, path));
      if (content !== undefined) reused.set(path, content);
      return content;
    });
    for (const file of rendered) if (reused.get(file.path) !== file.content) reused.delete(file.path);
    return rendered;
  };
  /** A reused file is the tracked file itself while the tree is still at that head: no need to hash it. */
  const asRead = (head: string | undefined) => (path: string) => (head === readAt ? reused.get(path) : undefined);
  if ((options.mode ?? 'push') === 'pr') return publishPullRequest(work, filesOf, { ...options, branch, prefix, policy, log });

  let plan: Plan = planOf([]);
  let attempts = 0;
  const result = await withPushRetry(
    `publishing to ${branch} of ${remote.url}`,
    async (n): Promise<PublishResult> => {
      attempts = n;
      const head = await work.fetch(branch);
      // Only a branch the fetch did not find costs a listing of the remote's branches.
      if (!head) await checkBranch(remote, branch, options.createBranch === true);
      await work.resetTo(head);
      if (await supersededAt(work, head, { ...options, branch, prefix })) return { status: 'superseded', plan: planOf([]), branch, attempts: n };
      if (n > 1 && !ordered(options)) {
        throw new RefusedError(
          `another publish landed on ${branch} while this one was running, and this one has no input commit to tell which is newer. ` +
            'Nothing was pushed; run it again from a clean clone of the config repo.',
        );
      }
      const { changes, unmanaged } = changesToward(work.dir, prefix, await trackedFiles(work.git, prefix), filesOf(head), asRead(head));
      plan = planOf(changes, unmanaged);
      if (changes.length === 0) return { status: 'unchanged', plan, branch, attempts: n };
      applyChanges(work.dir, prefix, changes);
      const commit = await commitAll(work.git, prefix, commitMessage(plan, options.source, prefix), options.author, changes.map((c) => c.path));
      await pushHead(work.git, branch, remote.url);
      return { status: 'pushed', plan, commit, branch, attempts: n };
    },
    policy,
    log,
  );
  return { ...result, attempts };
}

const ordered = (options: PublishOptions): boolean => Boolean((options.base ?? options.source) && options.configDir);

/** Whether a deploy of newer inputs than ours is the last deploy of `prefix` at `head` (refuses when it cannot tell). */
async function supersededAt(work: WorkDir, head: string | undefined, options: PublishOptions & { branch: string; prefix: string }): Promise<boolean> {
  const ours = options.base ?? options.source;
  if (!ours || !options.configDir) return false;
  const deployed = await deployedAt(work, head, options.branch, options.prefix);
  const where = deployTarget(options.branch, work.remote.url, options.prefix);
  return (await deployOrder({ configDir: options.configDir, deployed, ours, where })) === 'superseded';
}

/** The input commit of the last deploy of `prefix` at `head`: usually `head` itself, else found in the branch's log. */
async function deployedAt(work: WorkDir, head: string | undefined, branch: string, prefix: string): Promise<string | undefined> {
  if (!head) return undefined;
  const source = await trailerOf(work.git, head, SOURCE_TRAILER);
  const path = await trailerOf(work.git, head, PATH_TRAILER);
  if (source && (!path || normalisePrefix(path) === prefix)) return source;
  return lastDeployedSource(work.remote.url, branch, { path: prefix, credentials: work.remote.credentials });
}

/** A branch name that identifies the change: the input commit, or the content when there is none. */
export function pullRequestBranch(source: string | undefined, files: readonly ManifestFile[]): string {
  if (source) return `aviary/deploy-${source.slice(0, 12)}`;
  const hash = createHash('sha256');
  for (const f of files) hash.update(f.path).update('\0').update(f.content).update('\0');
  return `aviary/deploy-${hash.digest('hex').slice(0, 12)}`;
}

interface PrContext extends PublishOptions {
  readonly branch: string;
  readonly prefix: string;
  readonly policy: RetryPolicy;
  readonly log: (line: string) => void;
}

/**
 * Pushes the change to a branch of its own and opens (or updates) a pull
 * request. An existing branch is built upon rather than replaced, so the
 * push is a fast-forward and nothing is ever forced.
 */
async function publishPullRequest(work: WorkDir, filesOf: (head: string | undefined) => readonly ManifestFile[], options: PrContext): Promise<PublishResult> {
  const { branch, prefix, policy } = options;
  const github = options.github ?? {};
  const target = pullRequestTarget({
    baseUrl: github.url,
    token: github.token ?? options.credentials?.token,
    repo: github.repo,
    remoteUrl: work.remote.url,
    what: 'the GitHub repository',
  });

  let plan: Plan = planOf([]);
  let attempts = 0;
  let prBranch = '';
  let superseded = false;
  const pushed = await withPushRetry(
    `pushing a pull-request branch to ${work.remote.url}`,
    async (n) => {
      attempts = n;
      const base = await work.fetch(branch);
      if (!base) await checkBranch(work.remote, branch, options.createBranch === true);
      await work.resetTo(base);
      // A pull request of older inputs than the branch already holds would move the deploy backwards when merged.
      if ((superseded = await supersededAt(work, base, options))) return undefined;
      const files = filesOf(base);
      prBranch = pullRequestBranch(options.source, files);
      const againstBase = changesToward(work.dir, prefix, await trackedFiles(work.git, prefix), files);
      plan = planOf(againstBase.changes, againstBase.unmanaged);
      if (isEmptyPlan(plan)) return undefined;
      const existing = await work.fetch(prBranch);
      if (existing) await work.resetTo(existing);
      const { changes } = existing ? changesToward(work.dir, prefix, await trackedFiles(work.git, prefix), files) : againstBase;
      if (changes.length === 0) return existing;
      applyChanges(work.dir, prefix, changes);
      const commit = await commitAll(work.git, prefix, commitMessage(planOf(changes), options.source, prefix), options.author, changes.map((c) => c.path));
      await pushHead(work.git, prBranch, work.remote.url);
      return commit;
    },
    policy,
    options.log,
  );
  if (superseded) return { status: 'superseded', plan: planOf([]), branch, attempts };
  if (isEmptyPlan(plan)) return { status: 'unchanged', plan, branch, attempts };
  const title = changeSubject(plan);
  const body = `${formatPlan(plan, 'markdown')}\n\n---\n${options.source ? `${SOURCE_TRAILER}: \`${options.source}\`` : 'Published by Aviary.'}\n`;
  const pullRequest = await ensurePullRequest(target, { head: prBranch, base: branch, title, body });
  return { status: 'pull-request', plan, commit: pushed, branch: prBranch, attempts, pullRequest };
}
