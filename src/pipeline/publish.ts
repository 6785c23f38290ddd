import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManifestFile } from '../charts/render.js';
import { RefusedError } from './errors.js';
import { ensurePullRequest, pullRequestTarget, type PullRequestResult } from './github.js';
import { commitAll, trailerOf } from './git/commit.js';
import type { GitCredentials } from './git/credentials.js';
import { isAncestor } from './git/inputs.js';
import { changeSubject, commitMessage, SOURCE_TRAILER } from './git/message.js';
import { pushHead, withPushRetry, DEFAULT_RETRY, type RetryPolicy } from './git/push.js';
import { applyChanges, blobId, changesToward, normalisePrefix, trackedFiles, type FileChange } from './git/sync.js';
import { normaliseRemote, WorkDir } from './git/workdir.js';
import { formatPlan, isEmptyPlan, planOf, type Plan } from './plan.js';
import { readIfExists } from './files.js';

export type PublishMode = 'push' | 'pr';

export interface PublishOptions {
  /** URL or path of the manifests repository. */
  readonly repo: string;
  /** @default 'main' */
  readonly branch?: string;
  /** Folder of the manifests repo that must equal dist/. @default '.' */
  readonly path?: string;
  /** @default 'push' */
  readonly mode?: PublishMode;
  /** Where work dirs live. @default '.aviary/manifests' */
  readonly workRoot?: string;
  readonly credentials?: GitCredentials;
  /** The input commit (config repo) the files were made from; goes into the Aviary-Source trailer. */
  readonly source?: string;
  /** The config repo, to tell whether a concurrent publish came from older or newer inputs. */
  readonly configDir?: string;
  /** `Name <email>` for the commit author (the person behind the input commit). */
  readonly author?: string;
  readonly github?: { readonly url?: string; readonly token?: string; readonly repo?: string };
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

/** One change this publish makes to a file, with git ids of the bytes before and after. */
interface OwnChange extends FileChange {
  readonly beforeId?: string;
  readonly afterId?: string;
}

/**
 * Commits `files` as the exact contents of `--path` in the manifests repo,
 * by a direct push or through a pull request.
 *
 * When the push loses a race, the change is rebuilt on the new remote head.
 * How depends on where the winner's inputs stand relative to ours:
 * - the winner's input commit is an ancestor of ours: our render already
 *   contains its changes, so --path is made equal to our files again;
 * - ours is an ancestor of the winner's: the winner deployed newer inputs,
 *   and ours has nothing left to add ("superseded");
 * - otherwise (unrelated runs, or history not available): only the files
 *   this publish changed are replayed, each only if the winner left it as
 *   we found it. Re-applying all of dist/ there would silently undo the
 *   winner's sites; a file both changed differently is a real conflict and
 *   stops the publish with the remote untouched.
 */
export async function publish(source: ManifestSource, options: PublishOptions): Promise<PublishResult> {
  const branch = options.branch ?? 'main';
  const prefix = normalisePrefix(options.path ?? '.');
  const remote = normaliseRemote(options.repo, options.credentials);
  const work = await WorkDir.open(options.workRoot ?? '.aviary/manifests', remote);
  const policy = { ...DEFAULT_RETRY, ...options.retry };
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

  let own: OwnChange[] = [];
  let plan: Plan = planOf([]);
  let attempts = 0;
  const result = await withPushRetry(
    `publishing to ${branch} of ${remote.url}`,
    async (n): Promise<PublishResult> => {
      attempts = n;
      const head = await work.fetch(branch);
      await work.resetTo(head);
      const tracked = await trackedFiles(work.git, prefix);
      let changes: FileChange[];
      if (n === 1 || (await winnerIsOlder(work, head, options))) {
        changes = changesToward(work.dir, prefix, tracked, filesOf(head), asRead(head));
        own = changes.map((c) => ({ ...c, beforeId: tracked.get(c.path), afterId: c.after === undefined ? undefined : blobId(c.after) }));
      } else if (await winnerIsNewer(work, head, options)) {
        return { status: 'superseded', plan: planOf([]), branch, attempts: n };
      } else {
        changes = replay(own, tracked, work.dir, prefix, head!);
      }
      plan = planOf(changes);
      if (changes.length === 0) return { status: 'unchanged', plan, branch, attempts: n };
      applyChanges(work.dir, prefix, changes);
      const commit = await commitAll(work.git, prefix, commitMessage(plan, options.source), options.author, changes.map((c) => c.path));
      await pushHead(work.git, branch, remote.url);
      return { status: 'pushed', plan, commit, branch, attempts: n };
    },
    policy,
    log,
  );
  return { ...result, attempts };
}

/** Our changes on top of a head another publisher moved: only files it left as we found them. */
function replay(own: readonly OwnChange[], tracked: ReadonlyMap<string, string>, dir: string, prefix: string, head: string): FileChange[] {
  const conflicts: string[] = [];
  const out: FileChange[] = [];
  for (const change of own) {
    const now = tracked.get(change.path);
    if (now === change.afterId) continue; // the winner made the same change
    if (now !== change.beforeId) {
      conflicts.push(change.path);
      continue;
    }
    out.push({ path: change.path, after: change.after, before: now === undefined ? undefined : readFileSync(join(dir, prefix, change.path), 'utf8') });
  }
  if (conflicts.length > 0) {
    throw new RefusedError(
      `conflict: another publish changed ${conflicts.slice(0, 5).join(', ')}${conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : ''} ` +
        `differently (now at manifests commit ${head.slice(0, 12)}), and its inputs are not an ancestor of ours. Nothing was pushed; the remote is as it was. ` +
        'Bring the config repo up to date with the change that published first, then publish again.',
    );
  }
  return out;
}

async function winnerSource(work: WorkDir, head: string | undefined): Promise<string | undefined> {
  return head ? trailerOf(work.git, head, SOURCE_TRAILER) : undefined;
}

async function winnerIsOlder(work: WorkDir, head: string | undefined, { source, configDir }: PublishOptions): Promise<boolean> {
  const theirs = await winnerSource(work, head);
  if (!source || !configDir || !theirs) return false;
  return (await isAncestor(configDir, theirs, source)) === true;
}

async function winnerIsNewer(work: WorkDir, head: string | undefined, { source, configDir }: PublishOptions): Promise<boolean> {
  const theirs = await winnerSource(work, head);
  if (!source || !configDir || !theirs || theirs === source) return false;
  return (await isAncestor(configDir, source, theirs)) === true;
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
  const pushed = await withPushRetry(
    `pushing a pull-request branch to ${work.remote.url}`,
    async (n) => {
      attempts = n;
      const base = await work.fetch(branch);
      await work.resetTo(base);
      const files = filesOf(base);
      prBranch = pullRequestBranch(options.source, files);
      const againstBase = changesToward(work.dir, prefix, await trackedFiles(work.git, prefix), files);
      plan = planOf(againstBase);
      if (isEmptyPlan(plan)) return undefined;
      const existing = await work.fetch(prBranch);
      if (existing) await work.resetTo(existing);
      const changes = existing ? changesToward(work.dir, prefix, await trackedFiles(work.git, prefix), files) : againstBase;
      if (changes.length === 0) return existing;
      applyChanges(work.dir, prefix, changes);
      const commit = await commitAll(work.git, prefix, commitMessage(planOf(changes), options.source), options.author, changes.map((c) => c.path));
      await pushHead(work.git, prBranch, work.remote.url);
      return commit;
    },
    policy,
    options.log,
  );
  if (isEmptyPlan(plan)) return { status: 'unchanged', plan, branch, attempts };
  const title = changeSubject(plan);
  const body = `${formatPlan(plan, 'markdown')}\n\n---\n${options.source ? `${SOURCE_TRAILER}: \`${options.source}\`` : 'Published by Aviary.'}\n`;
  const pullRequest = await ensurePullRequest(target, { head: prBranch, base: branch, title, body });
  return { status: 'pull-request', plan, commit: pushed, branch: prBranch, attempts, pullRequest };
}
