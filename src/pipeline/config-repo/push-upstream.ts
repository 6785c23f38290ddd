import { RefusedError } from '../shared/errors.js';
import { splitUrlCredentials } from '../git/credentials.js';
import { configRepo } from './inputs.js';
import { maskedMessage, registerSecret } from '../shared/mask.js';
import { pushHead, withPushRetry } from '../git/push.js';
import type { RetryPolicy } from '../shared/retry.js';

/**
 * A rollback that lives only in a local clone is a trap: the next merge runs
 * the pipeline on the config repo's remote, which still has the bad change,
 * and publishes it again. So rollback and deploy push their commit to the
 * branch the config repo tracks, the same way publish pushes manifests:
 * a race is rebased onto the new remote head, never forced.
 */

/** The remote branch the config repo's current branch tracks. */
export interface Upstream {
  /** The remote's name, e.g. `origin`. */
  readonly remote: string;
  /** The branch on that remote, e.g. `main`. */
  readonly branch: string;
  /** The remote's URL, for messages and for finding its GitHub repository. */
  readonly url: string;
}

/** The upstream of the checked-out branch, or undefined (detached HEAD, no upstream, a local-only repo). */
export async function upstreamOf(dir: string): Promise<Upstream | undefined> {
  const git = configRepo(dir);
  const get = (...args: string[]) => git.raw(args).then((s) => s.trim(), () => '');
  const local = await get('symbolic-ref', '-q', '--short', 'HEAD');
  if (!local) return undefined;
  const remote = await get('config', '--get', `branch.${local}.remote`);
  const merge = await get('config', '--get', `branch.${local}.merge`);
  if (!remote || remote === '.' || !merge.startsWith('refs/heads/')) return undefined;
  // A token in the remote URL (some CI checkouts put it there) is masked, never shown.
  const { url, credentials } = splitUrlCredentials(await get('remote', 'get-url', remote));
  if (credentials) registerSecret(credentials.token, credentials.username);
  return { remote, branch: merge.slice('refs/heads/'.length), url };
}

/**
 * Where a CI checkout's commits go back to: the branch the clone tracks, or,
 * on a detached checkout (how CIs check out a pushed commit), the default
 * branch of its `origin`. Undefined for a clone without a remote.
 */
export async function deployUpstream(dir: string): Promise<Upstream | undefined> {
  const tracked = await upstreamOf(dir);
  if (tracked) return tracked;
  const git = configRepo(dir);
  const raw = await git.raw(['remote', 'get-url', 'origin']).then((s) => s.trim(), () => '');
  if (!raw) return undefined;
  const symref = await git.raw(['ls-remote', '--symref', 'origin', 'HEAD']).catch(() => '');
  const branch = /^ref: refs\/heads\/(\S+)\s+HEAD/m.exec(symref)?.[1];
  if (!branch) return undefined;
  const { url, credentials } = splitUrlCredentials(raw);
  if (credentials) registerSecret(credentials.token, credentials.username);
  return { remote: 'origin', branch, url };
}

/**
 * Pushes HEAD of the config repo to `branch` of the upstream (default: its
 * own branch) and returns the commit that landed. When the remote moved, the
 * local commits are rebased onto it and pushed again; a rebase conflict is
 * aborted and stops with the remote untouched.
 */
export async function pushInputs(
  dir: string,
  upstream: Upstream,
  options: { branch?: string; policy?: RetryPolicy; log?: (line: string) => void } = {},
): Promise<string> {
  const git = configRepo(dir);
  const branch = options.branch ?? upstream.branch;
  const where = `${branch} of the config repo (${upstream.remote})`;
  return withPushRetry(
    `pushing to ${where}`,
    async (attempt) => {
      if (attempt > 1) await rebaseOnRemote(dir, upstream, branch);
      await pushHead(git, branch, upstream.url, upstream.remote);
      return (await git.raw(['rev-parse', 'HEAD'])).trim();
    },
    options.policy,
    options.log,
  );
}

async function rebaseOnRemote(dir: string, upstream: Upstream, branch: string): Promise<void> {
  const git = configRepo(dir);
  await git.raw(['fetch', '-q', upstream.remote, `refs/heads/${branch}`]);
  try {
    await git.raw(['rebase', '-q', 'FETCH_HEAD']);
  } catch (error) {
    await git.raw(['rebase', '--abort']).catch(() => undefined);
    throw new RefusedError(
      `cannot push to ${branch} of the config repo (${upstream.remote}): it moved, and the new commits there conflict with yours. ` +
        `Nothing was pushed. Pull, then run the command again.\n${maskedMessage(error).trim()}`,
    );
  }
}
