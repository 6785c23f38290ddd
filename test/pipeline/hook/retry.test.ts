import { describe, expect, it } from 'vitest';
import { isTransient } from '../../../src/pipeline/hook/retry.js';

describe('isTransient', () => {
  it('retries network and server errors, not refusals', () => {
    expect(isTransient(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { name: 'ThrottlingException' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isTransient(Object.assign(new Error('Access denied'), { code: 'ER_ACCESS_DENIED_ERROR' }))).toBe(false);
    expect(isTransient(Object.assign(new Error('x'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }))).toBe(false);
  });
});
