// Teardown against the real servers started by test/support/global-setup.ts.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, GetSecretValueCommand, RestoreSecretCommand } from '@aws-sdk/client-secrets-manager';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { provisionSites } from '../../../src/pipeline/hook/provision.js';
import { teardownSites } from '../../../src/pipeline/hook/teardown.js';
import { site } from '../../support/fixtures.js';
import { adminSql, mariadb, testHook, uniq, useFreshStore } from '../../support/store.js';

const { aws, store } = useFreshStore();

const sqlName = (id: string) => `wp_${id.replaceAll('-', '_')}`;

async function putObjects(id: string, count: number): Promise<void> {
  const keys = Array.from({ length: count }, (_, i) => `sites/${id}/wp-content/uploads/${String(i).padStart(5, '0')}.jpg`);
  for (let i = 0; i < keys.length; i += 100) {
    await Promise.all(keys.slice(i, i + 100).map((Key) => aws.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key, Body: 'x' }))));
  }
}

async function countObjects(prefix: string): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: prefix, ContinuationToken: token }));
    n += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  return n;
}

async function status(id: string): Promise<string | undefined> {
  return (await aws.dynamodb.send(new GetItemCommand({ TableName: store.table, Key: { id: { S: id } } }))).Item?.status?.S;
}

async function databaseExists(name: string): Promise<boolean> {
  return adminSql(async (c) => (await c.query<mysql.RowDataPacket[]>('SHOW DATABASES LIKE ?', [name]))[0].length > 0);
}

describe('hook teardown', () => {
  it('backs up, then deletes secrets (restorable, with the window), database and user, moves every object into the backup, and marks the item terminated; other sites untouched', { timeout: 180_000 }, async () => {
    const gone = uniq('gone-');
    const kept = uniq('kept-');
    await provisionSites(testHook({ aws, ...store }).ctx, [site(gone), site(kept)]);
    const dbPassword = JSON.parse((await aws.secrets.send(new GetSecretValueCommand({ SecretId: `aviary/sites/${gone}/db` }))).SecretString!).password;
    // More than one DeleteObjects batch (1,000 keys), and a neighbour whose prefix starts the same way.
    await putObjects(gone, 1_050);
    await putObjects(kept, 3);
    const db = mariadb();
    const session = await mysql.createConnection({ host: db.host, port: db.port, user: sqlName(gone), password: dbPassword });
    session.on('error', () => undefined);

    const run = testHook({ aws, ...store });
    await teardownSites(run.ctx, [gone], 9);

    expect(await countObjects(`sites/${gone}/`)).toBe(0);
    // The dump and every object (with the .keep marker), under the one stamp of the final backup.
    expect(await countObjects(`backups/${gone}/`)).toBe(1_052);
    expect(await countObjects(`sites/${kept}/`)).toBe(4);
    expect(await status(gone)).toBe('terminated');
    expect(await status(kept)).toBe('ready');
    expect(await databaseExists(sqlName(gone))).toBe(false);
    expect(await databaseExists(sqlName(kept))).toBe(true);
    // The old session was ended, and a new login is refused.
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await expect(mysql.createConnection({ host: db.host, port: db.port, user: sqlName(gone), password: dbPassword })).rejects.toMatchObject({
      code: 'ER_ACCESS_DENIED_ERROR',
    });
    for (const kind of ['db', 'admin', 'keys']) {
      const d = await aws.secrets.send(new DescribeSecretCommand({ SecretId: `aviary/sites/${gone}/${kind}` }));
      expect(d.DeletedDate).toBeDefined();
      const days = (d.DeletedDate!.getTime() - Date.now()) / 86_400_000;
      // moto reports the scheduled deletion date: now + the recovery window.
      expect(days).toBeGreaterThan(8.9);
      expect(days).toBeLessThan(9.1);
      expect((await aws.secrets.send(new DescribeSecretCommand({ SecretId: `aviary/sites/${kept}/${kind}` }))).DeletedDate).toBeUndefined();
    }
    expect(run.reports.map((r) => r.step.split(' ').slice(0, 2).join(' '))).toEqual([
      'registry item',
      'registry: final',
      'drop user',
      'dump database',
      'drop database',
      'move objects',
      'delete secret',
      'delete secret',
      'delete secret',
      'registry status',
    ]);
    expect(run.reports.map((r) => r.outcome)).toEqual(['updated', 'updated', 'deleted', 'created', 'deleted', 'created', 'scheduled', 'scheduled', 'scheduled', 'updated']);
    // A second run finds everything done.
    const again = testHook({ aws, ...store });
    await teardownSites(again.ctx, [gone], 9);
    expect(again.reports.map((r) => r.outcome)).toEqual(['unchanged', 'unchanged', 'absent', 'absent', 'absent', 'absent', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
    // Deleted with a recovery window: an operator can still bring the credentials back.
    await aws.secrets.send(new RestoreSecretCommand({ SecretId: `aviary/sites/${gone}/db` }));
    const restored = await aws.secrets.send(new GetSecretValueCommand({ SecretId: `aviary/sites/${gone}/db` }));
    expect(JSON.parse(restored.SecretString!).password).toBe(dbPassword);
    const kept2 = await adminSql(async (c) => (await c.query<mysql.RowDataPacket[]>('SELECT 1 FROM mysql.user WHERE User = ?', [sqlName(kept)]))[0]);
    expect(kept2).toHaveLength(1);
  });

  it('tears down a site the registry never knew: an item records the teardown, everything else is cleaned up', async () => {
    const id = uniq('orphan-');
    await provisionSites(testHook({ aws, ...store }).ctx, [site(id)]);
    const { DeleteItemCommand } = await import('@aws-sdk/client-dynamodb');
    await aws.dynamodb.send(new DeleteItemCommand({ TableName: store.table, Key: { id: { S: id } } }));
    const run = testHook({ aws, ...store });
    await teardownSites(run.ctx, [id], 7);
    expect(await status(id)).toBe('terminated');
    expect(await databaseExists(sqlName(id))).toBe(false);
    expect(await countObjects(`sites/${id}/`)).toBe(0);
    expect(run.reports[0]?.outcome).toBe('created');
  });
});
