// Fault injection: every request of a provision or teardown is made to fail
// in turn (before the server sees it, and after it did the work but the
// answer was lost), then a re-run must converge with nothing leaked or lost.
// Proxies stand in front of the shared moto_server and MariaDB, so "stopping"
// a server here never disturbs other test files; one test stops a private
// MariaDB for real.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, GetSecretValueCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsClients } from '../../../src/pipeline/hook/aws.js';
import { ensureBucket } from '../../../src/pipeline/hook/init.js';
import { provisionSites } from '../../../src/pipeline/hook/provision.js';
import { teardownSites } from '../../../src/pipeline/hook/teardown.js';
import { OutsideSystemError } from '../../../src/pipeline/shared/errors.js';
import { httpFaultProxy, mysqlFaultProxy, type FaultMode, type FaultProxy } from '../../support/faults.js';
import { site } from '../../support/fixtures.js';
import { startMariaDb } from '../../support/mariadb.js';
import { adminSql, clients, freshStore, mariadb, motoEndpoint, testHook, uniq, useFreshStore } from '../../support/store.js';

const { aws, store } = useFreshStore();
let awsProxy: FaultProxy;
let sqlProxy: FaultProxy;
let proxied: AwsClients;

beforeAll(async () => {
  awsProxy = await httpFaultProxy(motoEndpoint());
  sqlProxy = await mysqlFaultProxy(mariadb().port);
  proxied = clients(awsProxy.url);
});
afterAll(async () => {
  proxied?.destroy();
  await awsProxy?.stop();
  await sqlProxy?.stop();
});

const sqlName = (id: string) => `wp_${id.replaceAll('-', '_')}`;
const hookViaProxies = (extra: Parameters<typeof testHook>[0] extends infer T ? Partial<T> : never = {}) =>
  testHook({ aws: proxied, ...store, mysqlPort: sqlProxy.port, ...extra });

/** Everything a provisioned site must have, consistent across systems, and nothing twice. */
async function expectProvisioned(id: string): Promise<void> {
  const item = (await aws.dynamodb.send(new GetItemCommand({ TableName: store.table, Key: { id: { S: id } } }))).Item;
  expect(item?.status?.S).toBe('ready');
  const db = JSON.parse((await aws.secrets.send(new GetSecretValueCommand({ SecretId: `aviary/sites/${id}/db` }))).SecretString!);
  const admin = JSON.parse((await aws.secrets.send(new GetSecretValueCommand({ SecretId: `aviary/sites/${id}/admin` }))).SecretString!);
  expect(admin.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
  const listed = await aws.secrets.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [`aviary/sites/${id}/`] }] }));
  expect(listed.SecretList?.map((s) => s.Name).sort()).toEqual([`aviary/sites/${id}/admin`, `aviary/sites/${id}/db`, `aviary/sites/${id}/keys`]);
  // The MySQL user's password is the one in the secret, and it works on its database.
  const c = await mysql.createConnection({ host: mariadb().host, port: mariadb().port, user: db.username, password: db.password, database: db.database });
  await c.query('CREATE TABLE IF NOT EXISTS t (id INT)');
  await c.end();
  const objects = await aws.s3.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: `sites/${id}/` }));
  expect(objects.Contents?.map((o) => o.Key)).toEqual([`sites/${id}/.keep`]);
}

async function expectTornDown(id: string): Promise<void> {
  const item = (await aws.dynamodb.send(new GetItemCommand({ TableName: store.table, Key: { id: { S: id } } }))).Item;
  expect(item?.status?.S).toBe('terminated');
  for (const kind of ['db', 'admin', 'keys']) {
    expect((await aws.secrets.send(new DescribeSecretCommand({ SecretId: `aviary/sites/${id}/${kind}` }))).DeletedDate).toBeDefined();
  }
  const left = await adminSql(async (c) => ({
    users: (await c.query<mysql.RowDataPacket[]>('SELECT 1 FROM mysql.user WHERE User = ?', [sqlName(id)]))[0].length,
    dbs: (await c.query<mysql.RowDataPacket[]>('SHOW DATABASES LIKE ?', [sqlName(id)]))[0].length,
  }));
  expect(left).toEqual({ users: 0, dbs: 0 });
  expect((await aws.s3.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: `sites/${id}/` }))).KeyCount).toBe(0);
  // The final backup holds the dump and the moved marker: nothing was lost on the way.
  const backup = (await aws.s3.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: `backups/${id}/` }))).Contents?.map((o) => o.Key!.split('/').slice(3).join('/'));
  expect(backup?.sort()).toEqual(['database.sql.gz', 'files/.keep']);
}

/** Counts the requests (or commands) a clean run sends through `proxy`. */
async function requestsOf(proxy: FaultProxy, run: () => Promise<unknown>): Promise<number> {
  const before = proxy.count;
  await run();
  return proxy.count - before;
}

const MODES: FaultMode[] = ['before', 'after'];

describe('provision converges after a failure at any request', () => {
  for (const [name, proxy] of [['AWS', () => awsProxy], ['MySQL', () => sqlProxy]] as const) {
    it(`${name}: each request failing in turn, before and after the server acted`, { timeout: 300_000 }, async () => {
      const probe = uniq('count-');
      const clean = hookViaProxies();
      const total = await requestsOf(proxy(), () => provisionSites(clean.ctx, [site(probe)]));
      expect(total).toBeGreaterThan(4);
      const stepsOf = (steps: string[], id: string) => [...new Set(steps.map((s) => s.replaceAll(id, 'ID').replaceAll(sqlName(id), 'SQL')))].sort();
      const expected = stepsOf(clean.reports.filter((r) => r.system.startsWith(name)).map((r) => r.step), probe);
      const failed = new Set<string>();
      for (const mode of MODES) {
        for (let n = 1; n <= total; n++) {
          const id = uniq(`f${n}${mode[0]}-`);
          proxy().failFrom(n, mode);
          const error = await provisionSites(hookViaProxies().ctx, [site(id)]).then(() => undefined, (e: unknown) => e);
          proxy().heal();
          // 'after' on the last answer: the work is done, only the last reply was lost.
          if (error) {
            expect(error).toBeInstanceOf(OutsideSystemError);
            expect((error as Error).message).toContain(`site ${id}: `);
            const m = new RegExp(`^(?:AWS [A-Za-z0-9 ]+|MySQL): site ${id}: (.*) failed: `).exec((error as Error).message);
            expect(m).not.toBeNull();
            stepsOf([m![1]!], id).forEach((s) => failed.add(s));
          }
          const rerun = hookViaProxies();
          await provisionSites(rerun.ctx, [site(id)]);
          await expectProvisioned(id);
        }
      }
      // Every step that talks to this system failed at least once, and the re-run mended it.
      expect([...failed].sort()).toEqual(expected);
    });
  }

  it('retries a transient failure (backoff) and succeeds in the same run', async () => {
    const id = uniq('retry-');
    awsProxy.failOnly(3, 'before');
    sqlProxy.failOnly(2, 'after');
    await provisionSites(hookViaProxies({ retries: 2 }).ctx, [site(id)]);
    await expectProvisioned(id);
  });
});

describe('teardown converges after a failure at any request', () => {
  for (const [name, proxy] of [['AWS', () => awsProxy], ['MySQL', () => sqlProxy]] as const) {
    it(`${name}: each request failing in turn, before and after the server acted`, { timeout: 300_000 }, async () => {
      const probe = uniq('tcount-');
      await provisionSites(hookViaProxies().ctx, [site(probe)]);
      const total = await requestsOf(proxy(), () => teardownSites(hookViaProxies().ctx, [probe], 7));
      expect(total).toBeGreaterThan(3);
      for (const mode of MODES) {
        for (let n = 1; n <= total; n++) {
          const id = uniq(`t${n}${mode[0]}-`);
          await provisionSites(hookViaProxies().ctx, [site(id)]);
          proxy().failFrom(n, mode);
          const error = await teardownSites(hookViaProxies().ctx, [id], 7).then(() => undefined, (e: unknown) => e);
          proxy().heal();
          if (error) expect((error as Error).message).toMatch(new RegExp(`^(AWS [A-Za-z0-9 ]+|MySQL): site ${id}: `));
          await teardownSites(hookViaProxies().ctx, [id], 7);
          await expectTornDown(id);
        }
      }
    });
  }
});

describe('restore converges after a kill at any step', () => {
  /** A site with a row in its database, torn down (final backup taken): ready to come back. */
  async function tornDownWithData(): Promise<string> {
    const id = uniq('rs-');
    await provisionSites(hookViaProxies().ctx, [site(id)]);
    await adminSql((c) => c.query(`CREATE TABLE \`${sqlName(id)}\`.posts (id INT PRIMARY KEY, title VARCHAR(40)) SELECT 1 AS id, 'kept' AS title`));
    await teardownSites(hookViaProxies().ctx, [id], 7);
    return id;
  }

  it('the process dies after each step of a restore; the re-run brings back the same row', { timeout: 300_000 }, async () => {
    const probe = await tornDownWithData();
    const clean = hookViaProxies();
    await provisionSites(clean.ctx, [site(probe)]);
    const steps = clean.reports.map((r) => r.step.replaceAll(probe, 'ID').replaceAll(sqlName(probe), 'SQL'));
    expect(steps.some((s) => s.startsWith('load SQL from backup'))).toBe(true);
    expect(steps.some((s) => s.startsWith('copy files back from backup'))).toBe(true);
    for (let k = 1; k < steps.length; k++) {
      const id = await tornDownWithData();
      let done = 0;
      const killed = hookViaProxies({
        onStep: () => {
          if (++done === k) throw new Error(`killed after step ${k}`);
        },
      });
      await expect(provisionSites(killed.ctx, [site(id)])).rejects.toThrow(`killed after step ${k}`);
      await provisionSites(hookViaProxies().ctx, [site(id)]);
      await expectProvisioned(id);
      expect(await adminSql(async (c) => (await c.query(`SELECT id, title FROM \`${sqlName(id)}\`.posts`))[0])).toEqual([{ id: 1, title: 'kept' }]);
    }
  });
});

describe('real outside faults', () => {
  it('a revoked grant stops provisioning at the user, then at the grant; restoring it lets the re-run finish', async () => {
    const admin = uniq('lim_');
    const password = uniq('pw-long-');
    await adminSql(async (c) => {
      await c.query("CREATE USER ?@'127.0.0.1' IDENTIFIED BY ?", [admin, password]);
      await c.query("GRANT ALL PRIVILEGES ON *.* TO ?@'127.0.0.1' WITH GRANT OPTION", [admin]);
      // INSERT on the mysql schema would also allow CREATE USER: take both away.
      await c.query("REVOKE CREATE USER, INSERT, UPDATE, DELETE ON *.* FROM ?@'127.0.0.1'", [admin]);
    });
    const id = uniq('grant-');
    const limited = () => testHook({ aws, ...store, mysqlAdmin: { user: admin, password } });
    await expect(provisionSites(limited().ctx, [site(id)])).rejects.toThrow(`MySQL: site ${id}: user ${sqlName(id)} failed`);
    const dbs = await adminSql(async (c) => (await c.query<mysql.RowDataPacket[]>('SHOW DATABASES LIKE ?', [sqlName(id)]))[0]);
    expect(dbs).toHaveLength(1); // the database step had finished

    await adminSql(async (c) => {
      await c.query("GRANT CREATE USER, INSERT, UPDATE, DELETE ON *.* TO ?@'127.0.0.1'", [admin]);
      await c.query("REVOKE GRANT OPTION ON *.* FROM ?@'127.0.0.1'", [admin]);
    });
    await expect(provisionSites(limited().ctx, [site(id)])).rejects.toThrow(`MySQL: site ${id}: grant on ${sqlName(id)}`);

    await adminSql((c) => c.query("GRANT ALL PRIVILEGES ON *.* TO ?@'127.0.0.1' WITH GRANT OPTION", [admin]));
    await provisionSites(limited().ctx, [site(id)]);
    await expectProvisioned(id);
    await adminSql((c) => c.query("DROP USER ?@'127.0.0.1'", [admin]));
  });

  it('a deleted bucket stops provisioning at the S3 step; after `hook init` re-creates it the re-run finishes', async () => {
    const own = await freshStore(aws);
    await aws.s3.send(new DeleteBucketCommand({ Bucket: own.bucket }));
    const id = uniq('bucket-');
    await expect(provisionSites(testHook({ aws, ...own }).ctx, [site(id)])).rejects.toThrow(
      new RegExp(`^AWS S3: site ${id}: prefix s3://${own.bucket}/sites/${id}/ failed: .*(NoSuchBucket|bucket does not exist)`),
    );
    const item = (await aws.dynamodb.send(new GetItemCommand({ TableName: own.table, Key: { id: { S: id } } }))).Item;
    expect(item?.status?.S).toBe('provisioning');
    await ensureBucket(aws.s3, own.bucket);
    await provisionSites(testHook({ aws, ...own }).ctx, [site(id)]);
    expect((await aws.dynamodb.send(new GetItemCommand({ TableName: own.table, Key: { id: { S: id } } }))).Item?.status?.S).toBe('ready');
    await aws.s3.send(new DeleteObjectCommand({ Bucket: own.bucket, Key: `sites/${id}/.keep` }));
  });

  it('MariaDB stopped for real mid-run: the error names site and step; after a restart the re-run converges', async () => {
    const own = await startMariaDb();
    try {
      const id = uniq('down-');
      const withOwn = (onStep?: Parameters<typeof testHook>[0]['onStep']) =>
        testHook({ aws, ...store, mysqlPort: own.port, mysqlAdmin: { user: own.adminUser, password: own.adminPassword }, onStep });
      const stopAfterDatabase = withOwn(async (r) => {
        if (r.step.startsWith('database ')) await own.shutdown();
      });
      const error = await provisionSites(stopAfterDatabase.ctx, [site(id)]).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(OutsideSystemError);
      expect((error as Error).message).toMatch(new RegExp(`^MySQL: site ${id}: user ${sqlName(id)} failed: .*ECONNREFUSED`));
      expect((error as Error).message).not.toContain(own.adminPassword);

      await own.restart();
      await provisionSites(withOwn().ctx, [site(id)]);
      const db = JSON.parse((await aws.secrets.send(new GetSecretValueCommand({ SecretId: `aviary/sites/${id}/db` }))).SecretString!);
      const c = await mysql.createConnection({ host: '127.0.0.1', port: own.port, user: db.username, password: db.password, database: db.database });
      await c.end();
    } finally {
      await own.stop();
    }
  });
});
