import pRetry, { AbortError } from 'p-retry';

/**
 * How hard to try before giving up. Waits grow exponentially (factor 2) from
 * `minTimeoutMs` up to `maxTimeoutMs`, each multiplied by a random factor in
 * [1, 2) so that a crowd of publishers (or hooks) that failed together does
 * not retry together. The n-th wait (n = 1, 2, …) is
 * `min(random * minTimeoutMs * 2^(n-1), maxTimeoutMs)`.
 */
export interface RetryPolicy {
  /** Tries after the first one: at most `retries + 1` attempts in all. 0 tries once. */
  readonly retries: number;
  /** The first wait in ms, before the random factor. */
  readonly minTimeoutMs: number;
  /** No wait is longer than this, in ms (a larger `minTimeoutMs` is taken as this). */
  readonly maxTimeoutMs: number;
}

export interface RetryOptions {
  /**
   * Called after a failed attempt that will be tried again, before the wait,
   * with the error and the number of the attempt that failed (1 for the
   * first). Not called for the last failure. If it throws, retrying stops
   * and `retry` rejects with what it threw.
   */
  readonly onRetry?: (error: unknown, attempt: number) => void;
}

/**
 * Calls `fn(attempt)` (attempt = 1, 2, …) until it resolves, waiting between
 * attempts as `policy` says. A failure is tried again only while
 * `shouldRetry(error)` is true and attempts are left; `shouldRetry` alone
 * decides: no error, whatever its type, is special, and if it throws,
 * `retry` rejects with that. Otherwise `retry` rejects with the last thrown
 * value exactly as `fn` threw it (an Error or not, never wrapped or
 * decorated), for callers to turn into their own typed errors.
 */
export async function retry<T>(
  policy: RetryPolicy,
  shouldRetry: (error: unknown) => boolean,
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  try {
    return await pRetry(
      async (attempt) => {
        try {
          return await fn(attempt);
        } catch (error) {
          throw failedAttempt(error, attempt, policy, shouldRetry, options);
        }
      },
      {
        retries: policy.retries,
        // The retry module rejects a first wait longer than the cap; the cap wins.
        minTimeout: Math.min(policy.minTimeoutMs, policy.maxTimeoutMs),
        maxTimeout: policy.maxTimeoutMs,
        factor: 2,
        randomize: true,
      },
    );
  } catch (error) {
    throw error instanceof Thrown ? error.value : error;
  }
}

/**
 * What p-retry gets to see instead of the caller's error: always an Error of
 * our own class, so p-retry neither turns a non-Error into a TypeError, nor
 * skips retries of TypeErrors, nor adds attemptNumber and retriesLeft to the
 * caller's error, nor picks its "most frequent" error as the final one.
 */
class Thrown extends Error {
  constructor(readonly value: unknown) {
    super('a failed attempt');
  }
}

function failedAttempt(error: unknown, attempt: number, policy: RetryPolicy, shouldRetry: (error: unknown) => boolean, { onRetry }: RetryOptions): Error {
  try {
    if (attempt > policy.retries || !shouldRetry(error)) return new AbortError(new Thrown(error));
    onRetry?.(error, attempt);
    return new Thrown(error);
  } catch (hookError) {
    return new AbortError(new Thrown(hookError));
  }
}
