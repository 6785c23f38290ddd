import type { SimpleGit } from 'simple-git';
import { OutsideSystemError } from '../shared/errors.js';
import { maskedMessage } from '../shared/mask.js';
import { retry, type RetryPolicy } from '../shared/retry.js';
import { isAuthFailure, isPushRace, outsideGitError } from './run.js';

/** The remote turned a push down because its branch moved: fetch, rebuild on the new head, try again. */
export class PushRaceError extends Error {
  override name = 'PushRaceError';
}

/** How hard to try before giving up on a busy branch: enough for a dozen publishers landing at once; about 20 s of waiting at worst. */
export const PUSH_RETRY: RetryPolicy = { retries: 12, minTimeoutMs: 100, maxTimeoutMs: 2_500 };

const TRANSIENT = /HTTP 5\d\d|returned error: 5\d\d|remote end hung up|early EOF|Connection reset|RPC failed|Operation timed out/i;

/**
 * Pushes HEAD to `refs/heads/<branch>`, never forced. A rejection caused by
 * a concurrent push (or a transient server error) is a PushRaceError; any
 * other failure is final.
 */
export async function pushHead(git: SimpleGit, branch: string, remote: string, remoteName = 'origin'): Promise<void> {
  try {
    await git.raw(['push', remoteName, `HEAD:refs/heads/${branch}`]);
  } catch (error) {
    const message = maskedMessage(error);
    if (!isAuthFailure(message) && (isPushRace(message) || TRANSIENT.test(message))) throw new PushRaceError(message);
    throw outsideGitError(`pushing to ${branch} of ${remote}`, error);
  }
}

/**
 * Runs `attempt` (which builds a commit on the current remote head and
 * pushes it) until it lands. Only races are retried, with the backoff and
 * jitter of `policy` so that a crowd of publishers spreads out; anything
 * else stops at once.
 */
export async function withPushRetry<T>(
  what: string,
  attempt: (attemptNumber: number) => Promise<T>,
  policy: RetryPolicy = PUSH_RETRY,
  onRetry?: (message: string) => void,
): Promise<T> {
  try {
    return await retry(policy, (error) => error instanceof PushRaceError, attempt, {
      onRetry: (_error, n) => onRetry?.(`${what}: the remote moved (attempt ${n}); fetching and trying again on the new head`),
    });
  } catch (error) {
    if (error instanceof PushRaceError) {
      throw new OutsideSystemError(
        'git',
        what,
        new Error(`the push was still rejected after ${policy.retries + 1} attempts (${error.message.trim().split('\n').pop()}); nothing was forced. Re-run the publish.`),
      );
    }
    throw error;
  }
}
