import { AbortError } from 'p-retry';
import { describe, expect, it } from 'vitest';
import { retry, type RetryPolicy } from '../../../src/pipeline/shared/retry.js';

const FAST: RetryPolicy = { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5 };
const always = () => true;

/** A function that fails with `errors[i]` on attempt i + 1 and then returns 'done', recording the attempt numbers it saw. */
function failing(...errors: unknown[]) {
  const seen: number[] = [];
  const fn = async (attempt: number) => {
    seen.push(attempt);
    if (seen.length <= errors.length) throw errors[seen.length - 1];
    return 'done';
  };
  return { fn, seen };
}

describe('retry', () => {
  it('tries again until the function succeeds, numbering the attempts from 1', async () => {
    const { fn, seen } = failing(new Error('one'), new Error('two'));
    await expect(retry(FAST, always, fn)).resolves.toBe('done');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('succeeds at once without waiting or asking shouldRetry', async () => {
    const asked: unknown[] = [];
    const { fn, seen } = failing();
    await expect(retry({ retries: 3, minTimeoutMs: 60_000, maxTimeoutMs: 60_000 }, (e) => (asked.push(e), true), fn)).resolves.toBe('done');
    expect(seen).toEqual([1]);
    expect(asked).toEqual([]);
  });

  it('stops at once when shouldRetry says no, with the error exactly as thrown', async () => {
    const permanent = new Error('access denied');
    const asked: unknown[] = [];
    const { fn, seen } = failing(permanent, new Error('never reached'));
    const rejection = retry(FAST, (e) => (asked.push(e), false), fn);
    await expect(rejection).rejects.toBe(permanent);
    expect(seen).toEqual([1]);
    expect(asked).toEqual([permanent]);
  });

  it('retries only what shouldRetry picks', async () => {
    class Busy extends Error {}
    const final = new Error('bad request');
    const { fn, seen } = failing(new Busy('busy'), new Busy('busy'), final);
    await expect(retry(FAST, (e) => e instanceof Busy, fn)).rejects.toBe(final);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('gives up after retries + 1 attempts with the last error, undecorated', async () => {
    const errors = [new Error('first'), new Error('second'), new Error('second'), new Error('last')];
    const { fn, seen } = failing(...errors, new Error('never reached'));
    const error = await retry(FAST, always, fn).catch((e: unknown) => e);
    expect(seen).toEqual([1, 2, 3, 4]);
    // Not the most frequent message (p-retry's own choice), but the last one thrown.
    expect(error).toBe(errors[3]);
    expect(Object.keys(error as object)).toEqual([]);
  });

  it('tries once with retries: 0', async () => {
    const only = new Error('only');
    const { fn, seen } = failing(only);
    await expect(retry({ retries: 0, minTimeoutMs: 1, maxTimeoutMs: 1 }, always, fn)).rejects.toBe(only);
    expect(seen).toEqual([1]);
  });

  it('calls onRetry with the error and the failed attempt before each retry, not after the last failure', async () => {
    const errors = [new Error('a'), new Error('b'), new Error('c'), new Error('d')];
    const { fn } = failing(...errors);
    const calls: [unknown, number][] = [];
    await expect(retry(FAST, always, fn, { onRetry: (error, attempt) => calls.push([error, attempt]) })).rejects.toBe(errors[3]);
    expect(calls).toEqual([
      [errors[0], 1],
      [errors[1], 2],
      [errors[2], 3],
    ]);
  });

  it('does not call onRetry when shouldRetry says no', async () => {
    const calls: number[] = [];
    const { fn } = failing(new Error('x'));
    await expect(retry(FAST, () => false, fn, { onRetry: (_e, n) => calls.push(n) })).rejects.toThrow('x');
    expect(calls).toEqual([]);
  });

  it('stops with what onRetry throws', async () => {
    const stop = new Error('stop');
    const { fn, seen } = failing(new Error('x'), new Error('y'));
    const onRetry = () => {
      throw stop;
    };
    await expect(retry(FAST, always, fn, { onRetry })).rejects.toBe(stop);
    expect(seen).toEqual([1]);
  });

  it('retries and rethrows values that are not Errors as they are', async () => {
    const { fn, seen } = failing('just a string', 42);
    const reasons: unknown[] = [];
    await expect(retry({ ...FAST, retries: 1 }, (e) => (reasons.push(e), true), fn)).rejects.toBe(42);
    expect(seen).toEqual([1, 2]);
    expect(reasons).toEqual(['just a string']);

    const undef = failing(undefined);
    await expect(retry({ ...FAST, retries: 0 }, always, undef.fn)).rejects.toBeUndefined();
  });

  it('leaves the decision to shouldRetry even for TypeErrors and p-retry AbortErrors', async () => {
    const bug = new TypeError('x is not a function');
    const typeErrors = failing(bug, bug);
    await expect(retry(FAST, always, typeErrors.fn)).resolves.toBe('done');
    expect(typeErrors.seen).toEqual([1, 2, 3]);

    const abort = new AbortError('from some library');
    const aborts = failing(abort, abort);
    await expect(retry({ ...FAST, retries: 1 }, always, aborts.fn)).rejects.toBe(abort);
    expect(aborts.seen).toEqual([1, 2]);
  });

  it('waits longer and longer between attempts, within maxTimeoutMs', async () => {
    const policy: RetryPolicy = { retries: 3, minTimeoutMs: 20, maxTimeoutMs: 1_000 };
    const at: number[] = [];
    const { fn } = failing(new Error('1'), new Error('2'), new Error('3'));
    await retry(policy, always, async (n) => (at.push(performance.now()), fn(n)));
    const waits = at.slice(1).map((t, i) => t - at[i]!);
    expect(waits).toHaveLength(3);
    // The n-th wait is 20 * 2^(n-1) ms times a random factor in [1, 2): in [20, 40), [40, 80), [80, 160).
    for (const [i, wait] of waits.entries()) expect(wait).toBeGreaterThanOrEqual(20 * 2 ** i - 2);
    expect(waits[2]!).toBeGreaterThan(waits[0]!);

    // maxTimeoutMs caps the growth: uncapped, these six waits would take 3.15 s at the least; capped, under 0.4 s.
    const capped = failing(...[1, 2, 3, 4, 5, 6].map((n) => new Error(String(n))));
    const start = performance.now();
    await expect(retry({ retries: 6, minTimeoutMs: 50, maxTimeoutMs: 60 }, always, capped.fn)).resolves.toBe('done');
    expect(performance.now() - start).toBeLessThan(2_500);
  });

  it('takes a minTimeoutMs above maxTimeoutMs as maxTimeoutMs', async () => {
    const { fn, seen } = failing(new Error('1'), new Error('2'));
    await expect(retry({ retries: 2, minTimeoutMs: 60_000, maxTimeoutMs: 5 }, always, fn)).resolves.toBe('done');
    expect(seen).toEqual([1, 2, 3]);
  });
});
