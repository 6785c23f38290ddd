import { describe, expect, it } from 'vitest';
import { Redactor } from '../../../src/pipeline/hook/redact.js';
import { ConcurrentHookError } from '../../../src/pipeline/hook/registry.js';
import { exitCodeOf, RefusedError, UsageError } from '../../../src/pipeline/shared/errors.js';

describe('Redactor.scrubError', () => {
  it('removes remembered secrets from the message and keeps the class, so callers can still tell errors apart', () => {
    const redactor = new Redactor();
    redactor.add('hunter2-very-secret');
    const clean = redactor.scrubError(new ConcurrentHookError('registry item x changed; password hunter2-very-secret'));
    expect(clean).toBeInstanceOf(ConcurrentHookError);
    expect(clean.name).toBe('ConcurrentHookError');
    expect(clean.message).not.toContain('hunter2-very-secret');
    expect(clean.message).toContain('registry item x changed');
  });
});

describe('a scrubbed refusal', () => {
  it('keeps its class and its exit status', () => {
    const scrubbed = new Redactor().scrubError(new RefusedError('site x is live'));
    expect(scrubbed).toBeInstanceOf(RefusedError);
    expect(exitCodeOf(scrubbed)).toBe(1);
    expect(exitCodeOf(new Redactor().scrubError(new UsageError('bad flag')))).toBe(2);
  });
});

describe('Redactor', () => {
  it('scrubs remembered secrets and URL passwords from messages', () => {
    const r = new Redactor();
    r.add('s3cr3t-value');
    r.add('abc'); // too short to scrub safely
    expect(r.scrub("near 's3cr3t-value' at line 1; mysql://root:pw123456@db:3306 abc")).toBe("near '***' at line 1; mysql://root:***@db:3306 abc");
    const e = r.scrubError(Object.assign(new Error('bad s3cr3t-value'), { code: 'ER_PARSE_ERROR', sql: "IDENTIFIED BY 's3cr3t-value'" }));
    expect(e.message).toBe('bad ***');
    expect(JSON.stringify({ ...e, cause: (e as { cause?: unknown }).cause })).not.toContain('s3cr3t');
  });
});
