import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/pipeline/shared/errors.js';
import { parseMysqlUrl, resolveHookConfig, resolveInitConfig } from '../../../src/pipeline/hook/config.js';
import { Redactor } from '../../../src/pipeline/hook/redact.js';

const retry = { retries: 0, minTimeoutMs: 1, maxTimeoutMs: 1 };
// Never called: these configurations do not name AVIARY_MYSQL_SECRET.
const secrets = new SecretsManagerClient({ region: 'us-west-2', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

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
