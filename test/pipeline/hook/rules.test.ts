import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { RefusedError, UsageError } from '../../../src/pipeline/shared/errors.js';
import { parseMysqlUrl, resolveHookConfig, resolveInitConfig } from '../../../src/pipeline/hook/config.js';
import { Redactor } from '../../../src/pipeline/hook/redact.js';
import { isTransient } from '../../../src/pipeline/hook/retry.js';
import { checkRecoveryDays, checkTeardownAllowed } from '../../../src/pipeline/hook/teardown.js';

const retry = { retries: 0, minTimeoutMs: 1, maxTimeoutMs: 1 };
// Never called: these configurations do not name AVIARY_MYSQL_SECRET.
const secrets = new SecretsManagerClient({ region: 'us-west-2', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

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

describe('configuration', () => {
  it('flags win over the environment, which wins over canary.yaml; --db-host overrides the admin host', async () => {
    const config = await resolveHookConfig({
      flags: { table: 'flag-table', dbHost: 'db.internal' },
      env: { AVIARY_TABLE: 'env-table', AVIARY_BUCKET: 'env-bucket', AVIARY_MYSQL_URL: 'mysql://admin:p%40ss@10.0.0.5:3307' },
      fleetSecretPrefix: 'from/canary',
      secrets,
      redactor: new Redactor(),
      retry,
    });
    expect(config).toEqual({
      table: 'flag-table',
      bucket: 'env-bucket',
      secretPrefix: 'from/canary',
      mysql: { host: '10.0.0.5', port: 3307, user: 'admin', password: 'p@ss' },
      dbHost: 'db.internal',
      dbPort: 3307,
    });
  });

  it('names every missing setting', async () => {
    const err = await resolveHookConfig({ flags: {}, env: {}, fleetSecretPrefix: 'x', secrets, redactor: new Redactor(), retry }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      'missing settings: --table (or AVIARY_TABLE), --bucket (or AVIARY_BUCKET), --mysql-url (or AVIARY_MYSQL_URL); pass the flag or set the environment variable',
    );
    expect(() => resolveInitConfig({ bucket: 'b' }, {})).toThrow('missing setting: --table (or AVIARY_TABLE)');
  });

  it('never repeats a malformed MySQL URL, which may hold a password', () => {
    const err = (() => {
      try {
        parseMysqlUrl('postgres://u:hunter22secret@h:1', new Redactor());
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toContain('must look like mysql://user:password@host:port');
    expect(err?.message).not.toContain('hunter22secret');
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

describe('isTransient', () => {
  it('retries network and server errors, not refusals', () => {
    expect(isTransient(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { name: 'ThrottlingException' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isTransient(Object.assign(new Error('Access denied'), { code: 'ER_ACCESS_DENIED_ERROR' }))).toBe(false);
    expect(isTransient(Object.assign(new Error('x'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }))).toBe(false);
  });
});
