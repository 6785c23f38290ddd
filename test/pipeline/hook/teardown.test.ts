import { describe, expect, it } from 'vitest';
import { RefusedError, UsageError } from '../../../src/pipeline/shared/errors.js';
import { checkRecoveryDays, checkTeardownAllowed } from '../../../src/pipeline/hook/teardown.js';

describe('teardown guard', () => {
  it('allows up to the threshold without confirmation, more only with the exact count', () => {
    expect(() => checkTeardownAllowed(['a'], 1, undefined)).not.toThrow();
    expect(() => checkTeardownAllowed([], 1, undefined)).not.toThrow();
    expect(() => checkTeardownAllowed(['a', 'b'], 1, undefined)).toThrow(RefusedError);
    expect(() => checkTeardownAllowed(['a', 'b'], 1, 2)).not.toThrow();
    expect(() => checkTeardownAllowed(['a', 'b'], 1, 1)).toThrow(/--confirm 1 does not match the 2 site\(s\)/);
    expect(() => checkTeardownAllowed(['a'], 1, 2)).toThrow(RefusedError);
    expect(() => checkTeardownAllowed(['a', 'b', 'c'], 5, undefined)).not.toThrow();
  });

  it('keeps the recovery window within Secrets Manager limits', () => {
    expect(checkRecoveryDays(7)).toBe(7);
    expect(checkRecoveryDays(30)).toBe(30);
    for (const bad of [6, 31, 7.5]) expect(() => checkRecoveryDays(bad)).toThrow(UsageError);
  });
});
