// Provision against the real servers: moto_server (DynamoDB, Secrets Manager,
// S3) and MariaDB, both started once by test/support/global-setup.ts.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { ADMIN_USERNAME, provisionSites } from '../../../src/pipeline/hook/provision.js';
import { WP_KEYS } from '../../../src/sites/names.js';
import { site } from '../../support/fixtures.js';
import { adminSql, mariadb, testHook, uniq, useFreshStore } from '../../support/store.js';

const { aws, store } = useFreshStore();

async function secretJson(name: string): Promise<Record<string, string>> {
  const out = await aws.secrets.send(new GetSecretValueCommand({ SecretId: name }));
  return JSON.parse(out.SecretString!) as Record<string, string>;
}

async function tenant(user: string, password: string) {
  const db = mariadb();
  return mysql.createConnection({ host: db.host, port: db.port, user, password });
}

describe('hook provision', () => {
  it('creates the registry item, both secrets, the database and user, and the S3 prefix', async () => {
    const id = uniq('prov-');
    const s = site(id, { name: 'Project Bluelaunch | prov', hostnames: [`${id}.example.com`, `www.${id}.example.com`], service: 'green' });
    const { ctx, reports } = testHook({ aws, ...store });
    await provisionSites(ctx, [s]);

    const item = (await aws.dynamodb.send(new GetItemCommand({ TableName: store.table, Key: { id: { S: id } } }))).Item!;
    expect(item.status?.S).toBe('ready');
    expect(item.name?.S).toBe('Project Bluelaunch | prov');
    expect(item.theme?.S).toBe('astra');
    expect(item.color?.S).toBe('green');
    expect(item.hostnames?.L?.map((h) => h.S)).toEqual([`${id}.example.com`, `www.${id}.example.com`]);
    expect(Date.parse(item.createdAt!.S!)).not.toBeNaN();
    expect(Date.parse(item.updatedAt!.S!)).toBeGreaterThanOrEqual(Date.parse(item.createdAt!.S!));

    const sqlName = `wp_${id.replaceAll('-', '_')}`;
    const dbSecret = await secretJson(`aviary/sites/${id}/db`);
    expect(Object.keys(dbSecret).sort()).toEqual(['database', 'host', 'password', 'port', 'username']);
    expect(dbSecret).toMatchObject({ host: 'mysql.fleet.internal', port: '3306', database: sqlName, username: sqlName });
    expect(dbSecret.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const admin = await secretJson(`aviary/sites/${id}/admin`);
    expect(Object.keys(admin).sort()).toEqual(['email', 'password', 'username']);
    expect(admin).toMatchObject({ username: ADMIN_USERNAME, email: `${ADMIN_USERNAME}@${id}.example.com` });
    expect(admin.password).not.toBe(dbSecret.password);
    // The keys and salts every replica of both colors signs cookies with (the web image contract).
    const keys = await secretJson(`aviary/sites/${id}/keys`);
    expect(Object.keys(keys).sort()).toEqual([...WP_KEYS].sort());
    for (const value of Object.values(keys)) expect(value).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(new Set(Object.values(keys)).size).toBe(WP_KEYS.length);

    // The tenant logs in with the password in its secret and owns its database.
    const c = await tenant(sqlName, dbSecret.password!);
    await c.query(`CREATE TABLE \`${sqlName}\`.posts (id INT PRIMARY KEY)`);
    await c.query(`INSERT INTO \`${sqlName}\`.posts VALUES (1)`);
    await c.end();

    const marker = await aws.s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: `sites/${id}/.keep` }));
    expect(marker.$metadata.httpStatusCode).toBe(200);

    expect(reports.map((r) => r.outcome)).toEqual(['created', 'created', 'created', 'created', 'created', 'created', 'created', 'created', 'updated']);
  });

  it('changes nothing on a second run: same passwords, same registry timestamps, one secret version', async () => {
    const id = uniq('again-');
    const s = site(id);
    await provisionSites(testHook({ aws, ...store }).ctx, [s]);
    const before = {
      db: await secretJson(`aviary/sites/${id}/db`),
      admin: await secretJson(`aviary/sites/${id}/admin`),
      keys: await secretJson(`aviary/sites/${id}/keys`),
      item: (await aws.dynamodb.send(new GetItemCommand({ TableName: store.table, Key: { id: { S: id } } }))).Item,
    };

    const second = testHook({ aws, ...store });
    await provisionSites(second.ctx, [s]);
    expect(second.reports.every((r) => r.outcome === 'unchanged')).toBe(true);
    expect(second.reports).toHaveLength(9);
    expect(await secretJson(`aviary/sites/${id}/db`)).toEqual(before.db);
    // Regenerated keys would log every user of the site out.
    expect(await secretJson(`aviary/sites/${id}/keys`)).toEqual(before.keys);
    expect(await secretJson(`aviary/sites/${id}/admin`)).toEqual(before.admin);
    expect((await aws.dynamodb.send(new GetItemCommand({ TableName: store.table, Key: { id: { S: id } } }))).Item).toEqual(before.item);
    const versions = await aws.secrets.send(new ListSecretVersionIdsCommand({ SecretId: `aviary/sites/${id}/db` }));
    expect(versions.Versions).toHaveLength(1);
    const objects = await aws.s3.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: `sites/${id}/` }));
    expect(objects.Contents?.map((o) => o.Key)).toEqual([`sites/${id}/.keep`]);
  });

  it('updates the registry and the db secret connection fields when they change, keeping the password', async () => {
    const id = uniq('edit-');
    await provisionSites(testHook({ aws, ...store }).ctx, [site(id)]);
    const password = (await secretJson(`aviary/sites/${id}/db`)).password;

    const moved = testHook({ aws, ...store });
    const ctx = { ...moved.ctx, config: { ...moved.config, dbHost: 'db2.fleet.internal', dbPort: 3307 } };
    await provisionSites(ctx, [site(id, { theme: 'twentytwentyfour', service: 'green' })]);
    expect(await secretJson(`aviary/sites/${id}/db`)).toMatchObject({ host: 'db2.fleet.internal', port: '3307', password });
    const item = (await aws.dynamodb.send(new GetItemCommand({ TableName: store.table, Key: { id: { S: id } } }))).Item!;
    expect(item).toMatchObject({ status: { S: 'ready' }, theme: { S: 'twentytwentyfour' }, color: { S: 'green' } });
    expect(moved.reports.filter((r) => r.outcome !== 'unchanged').map((r) => r.step)).toEqual([
      `registry item in ${store.table}`,
      `secret aviary/sites/${id}/db`,
    ]);
  });

  it("gives the tenant its own database only, even where _ would be a GRANT wildcard", async () => {
    // wp_<x>_b and wp_<x>1b: an unescaped grant on `wp_<x>_b`.* would also match wp_<x>1b.
    const base = uniq('iso');
    const a = `${base}-b`;
    const b = `${base}1b`;
    await provisionSites(testHook({ aws, ...store }).ctx, [site(a), site(b)]);
    const aSecret = await secretJson(`aviary/sites/${a}/db`);
    const c = await tenant(aSecret.username!, aSecret.password!);
    const [dbs] = await c.query<mysql.RowDataPacket[]>('SHOW DATABASES');
    expect(dbs.map((r) => r.Database).filter((n: string) => n.startsWith('wp_'))).toEqual([aSecret.database]);
    await expect(c.query(`CREATE TABLE \`wp_${base}1b\`.stolen (id INT)`)).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
    await expect(c.query('CREATE DATABASE `wp_intruder`')).rejects.toMatchObject({ code: 'ER_DBACCESS_DENIED_ERROR' });
    await expect(c.query('SELECT * FROM mysql.user')).rejects.toMatchObject({ errno: expect.any(Number) });
    await c.end();
    const grants = await adminSql(async (admin) => (await admin.query<mysql.RowDataPacket[]>(`SHOW GRANTS FOR ?@'%'`, [aSecret.username]))[0]);
    expect(grants.map((g) => Object.values(g)[0])).toEqual([
      expect.stringMatching(/^GRANT USAGE ON \*\.\* TO `wp_\w+`@`%` IDENTIFIED BY PASSWORD/),
      `GRANT ALL PRIVILEGES ON \`wp\\_${base}\\_b\`.* TO \`${aSecret.username}\`@\`%\``,
    ]);
  });

  it('restores a secret scheduled for deletion instead of creating a new password', async () => {
    const id = uniq('back-');
    await provisionSites(testHook({ aws, ...store }).ctx, [site(id)]);
    const password = (await secretJson(`aviary/sites/${id}/db`)).password;
    const { teardownSites } = await import('../../../src/pipeline/hook/teardown.js');
    await teardownSites(testHook({ aws, ...store }).ctx, [id], 7);
    expect((await aws.secrets.send(new DescribeSecretCommand({ SecretId: `aviary/sites/${id}/db` }))).DeletedDate).toBeDefined();

    const again = testHook({ aws, ...store });
    await provisionSites(again.ctx, [site(id)]);
    expect((await aws.secrets.send(new DescribeSecretCommand({ SecretId: `aviary/sites/${id}/db` }))).DeletedDate).toBeUndefined();
    expect((await secretJson(`aviary/sites/${id}/db`)).password).toBe(password);
    expect(again.reports.find((r) => r.step === `secret aviary/sites/${id}/db`)?.outcome).toBe('restored');
    const c = await tenant(`wp_${id.replaceAll('-', '_')}`, password!);
    await c.end();
  });

  it('provisions many sites side by side, each with its own working database user', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => uniq(`many${i}-`));
    const done: string[] = [];
    const reports = await provisionSites(testHook({ aws, ...store }).ctx, ids.map((id) => site(id)), {
      concurrency: 4,
      onSite: (id) => done.push(id),
    });
    expect(done.sort()).toEqual([...ids].sort());
    expect([...new Set(reports.map((r) => r.site))]).toEqual(ids);
    for (const id of ids) {
      const item = (await aws.dynamodb.send(new GetItemCommand({ TableName: store.table, Key: { id: { S: id } } }))).Item!;
      expect(item.status?.S).toBe('ready');
      const secret = await secretJson(`aviary/sites/${id}/db`);
      const c = await tenant(secret.username!, secret.password!);
      const [dbs] = await c.query<mysql.RowDataPacket[]>('SHOW DATABASES');
      expect(dbs.map((r) => r.Database)).toContain(secret.database);
      await c.end();
    }
  });
});
