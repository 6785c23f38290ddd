// Backups against the real servers started by test/support/global-setup.ts:
// moto for S3, MariaDB with the real mariadb-dump and mariadb clients.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { backupPrefix, backupStamp, SiteBackups, stampTime, toolArgs } from '../../../src/pipeline/hook/backup.js';
import type { MysqlAdmin } from '../../../src/pipeline/hook/database.js';
import { BACKUP_EXPIRY_RULE, ensureBackupExpiry } from '../../../src/pipeline/hook/init.js';
import { Redactor } from '../../../src/pipeline/hook/redact.js';
import { httpFaultProxy, mysqlFaultProxy } from '../../support/faults.js';
import { adminSql, clients, freshStore, mariadb, motoEndpoint, uniq, useFreshStore } from '../../support/store.js';

const { aws, store } = useFreshStore();

const STAMP = '20261129T203000Z';

function admin(overrides: Partial<MysqlAdmin> = {}): MysqlAdmin {
  const db = mariadb();
  return { host: db.host, port: db.port, user: db.adminUser, password: db.adminPassword, ...overrides };
}

function backupsWith(opts: { s3?: S3Client; bucket?: string; mysql?: MysqlAdmin } = {}): SiteBackups {
  return new SiteBackups(opts.s3 ?? aws.s3, opts.bucket ?? store.bucket, opts.mysql ?? admin(), new Redactor());
}

async function keys(prefix: string, bucket = store.bucket): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    out.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

async function putObjects(prefix: string, count: number, bucket = store.bucket): Promise<void> {
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, (_, j) => `${prefix}wp-content/uploads/${String(i + j).padStart(5, '0')}.jpg`);
    await Promise.all(batch.map((Key) => aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))));
  }
}

async function text(key: string, bucket = store.bucket): Promise<string> {
  return (await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
}

async function createDatabase(name: string): Promise<void> {
  await adminSql((c) => c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`));
}

/** A sample site database: utf8mb4 text, a binary blob, a trigger, a stored function and an event. */
async function fillSample(name: string): Promise<void> {
  await adminSql(async (c) => {
    await c.query(`USE \`${name}\``);
    await c.query('CREATE TABLE wp_posts (id INT PRIMARY KEY, title VARCHAR(200) NOT NULL, data LONGBLOB, updated INT NOT NULL DEFAULT 0) CHARACTER SET utf8mb4');
    await c.query('CREATE TRIGGER wp_posts_touch BEFORE UPDATE ON wp_posts FOR EACH ROW SET NEW.updated = OLD.updated + 1');
    await c.query('CREATE FUNCTION post_count() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM wp_posts)');
    await c.query('CREATE EVENT wp_cleanup ON SCHEDULE EVERY 1 DAY DO DELETE FROM wp_posts WHERE id < 0');
    await c.query('INSERT INTO wp_posts (id, title, data) VALUES (?, ?, ?), (?, ?, ?)', [
      1, 'Hello 🐦 wörld — “quotes” \\ back\'slash', Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      2, 'second', null,
    ]);
  });
}

/** A table of 8 MB of random bytes: more than one 5 MB upload part even compressed, and more than a pipe buffer. */
async function fillBig(name: string): Promise<void> {
  await adminSql(async (c) => {
    await c.query(`CREATE TABLE \`${name}\`.a_big (id INT PRIMARY KEY, data LONGBLOB)`);
    for (let i = 0; i < 4; i++) await c.query(`INSERT INTO \`${name}\`.a_big VALUES (?, ?)`, [i, randomBytes(2 * 1024 * 1024)]);
  });
}

async function sample(name: string): Promise<unknown> {
  return adminSql(async (c) => {
    const [rows] = await c.query<mysql.RowDataPacket[]>(`SELECT id, title, HEX(data) AS data, updated FROM \`${name}\`.wp_posts ORDER BY id`);
    const [[fn]] = await c.query<mysql.RowDataPacket[]>(`SELECT \`${name}\`.post_count() AS n`);
    const [triggers] = await c.query<mysql.RowDataPacket[]>('SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?', [name]);
    const [events] = await c.query<mysql.RowDataPacket[]>('SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?', [name]);
    return { rows, count: fn!.n, triggers: triggers.map((t) => t.TRIGGER_NAME), events: events.map((e) => e.EVENT_NAME) };
  });
}

async function recreateEmpty(name: string): Promise<void> {
  await adminSql((c) => c.query(`DROP DATABASE \`${name}\``));
  await createDatabase(name);
}

describe('backup names', () => {
  it('stamps are UTC to the second, sortable, and read back; anything else is not a stamp', () => {
    expect(backupStamp(new Date('2026-11-29T20:30:00.987Z'))).toBe('20261129T203000Z');
    expect(stampTime('20261129T203000Z')?.toISOString()).toBe('2026-11-29T20:30:00.000Z');
    expect(backupStamp(new Date('2027-01-02T03:04:05Z')) > backupStamp(new Date('2026-12-31T23:59:59Z'))).toBe(true);
    for (const bad of ['20261332T000000Z', '20260230T000000Z', '20261129T246000Z', '20261129T203000', 'latest', '', '../x']) {
      expect(stampTime(bad)).toBeUndefined();
    }
    expect(backupPrefix('rrr', STAMP)).toBe('backups/rrr/20261129T203000Z/');
    expect(() => backupPrefix('../other', STAMP)).toThrow(/site id/);
    expect(() => backupPrefix('rrr', 'latest')).toThrow(/backup time/);
  });

  it('the tools get host, port and user as flags, the database as the only positional argument, and never the password', () => {
    const a = admin({ password: 'pa55-w0rd-secret' });
    const dump = toolArgs('dump', a, 'wp_rrr');
    const load = toolArgs('load', a, 'wp_rrr');
    for (const args of [dump, load]) {
      expect(args.join(' ')).not.toContain('pa55-w0rd-secret');
      expect(args.some((x) => /^(-p|--password)/.test(x))).toBe(false);
      expect(args).toEqual(expect.arrayContaining([`--host=${a.host}`, `--port=${a.port}`, `--user=${a.user}`, '--default-character-set=utf8mb4']));
      expect(args[0]).toBe('--no-defaults');
      expect(args.at(-1)).toBe('wp_rrr');
      expect(args.filter((x) => !x.startsWith('-'))).toEqual(['wp_rrr']);
    }
    expect(dump).toEqual(
      expect.arrayContaining(['--single-transaction', '--skip-lock-tables', '--routines', '--triggers', '--events', '--hex-blob']),
    );
    expect(dump).not.toContain('--databases');
    for (const bad of ['--all-databases', 'mysql', 'wp_x;DROP', 'wp_X']) expect(() => toolArgs('dump', a, bad)).toThrow(/refusing/);
  });
});

describe('database dumps', () => {
  it('dump → drop → recreate empty → load gives back the same rows (utf8mb4, binary), trigger, function and event; loading twice is fine', async () => {
    const id = uniq('db-');
    const name = `wp_${uniq('bk')}`;
    await createDatabase(name);
    await fillSample(name);
    const before = await sample(name);
    const backups = backupsWith();

    expect(await backups.dumpDatabase(id, name, STAMP)).toBe('created');
    expect(await backups.hasDump(id, STAMP)).toBe(true);
    const sql = gunzipSync(Buffer.from(await (await aws.s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: `backups/${id}/${STAMP}/database.sql.gz` }))).Body!.transformToByteArray())).toString();
    expect(sql).toContain('CREATE TABLE `wp_posts`');
    expect(sql).toContain('DROP TABLE IF EXISTS `wp_posts`');
    expect(sql).not.toMatch(/CREATE DATABASE|^USE /m); // loads into any database name
    expect(sql).not.toContain(mariadb().adminPassword);

    await recreateEmpty(name);
    expect(await backups.loadDump(id, name, STAMP)).toBe('restored');
    expect(await sample(name)).toEqual(before);
    // A second load (a re-run after a kill halfway) replaces, never duplicates.
    expect(await backups.loadDump(id, name, STAMP)).toBe('restored');
    expect(await sample(name)).toEqual(before);
    expect((before as { rows: { title: string }[] }).rows[0]!.title).toContain('🐦');
    // Into a database that is not there, the client's own error comes back.
    await expect(backups.loadDump(id, `wp_${uniq('nothere')}`, STAMP)).rejects.toThrow(/^(mariadb|mysql) exited with code 1: .*Unknown database/s);
  });

  it('a missing database is absent and writes nothing; loading a missing dump is absent', async () => {
    const id = uniq('none-');
    const backups = backupsWith();
    expect(await backups.dumpDatabase(id, `wp_${uniq('nothere')}`, STAMP)).toBe('absent');
    expect(await keys(`backups/${id}/`)).toEqual([]);
    expect(await backups.hasDump(id, STAMP)).toBe(false);
    expect(await backups.loadDump(id, `wp_${uniq('nothere')}`, STAMP)).toBe('absent');
  });

  it('a dump against a closed port throws without the password and leaves nothing', async () => {
    const id = uniq('port-');
    const name = `wp_${uniq('bk')}`;
    await createDatabase(name);
    const closed = await httpFaultProxy(motoEndpoint()); // a port that was just free: stop it, and nothing listens there
    const port = closed.port;
    await closed.stop();
    const backups = backupsWith({ mysql: admin({ port }) });
    const error = await backups.dumpDatabase(id, name, STAMP).then(() => undefined, (e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).not.toContain(mariadb().adminPassword);
    expect(await keys(`backups/${id}/`)).toEqual([]);
  });

  it('a dump that fails halfway (after megabytes of output) throws with the tool\'s stderr, masked, and leaves no object and no open multipart upload', async () => {
    const id = uniq('half-');
    const name = `wp_${uniq('bk')}`;
    const user = `wp_${uniq('dumper')}`;
    const password = randomBytes(12).toString('hex');
    await createDatabase(name);
    // Dumped in name order: a_big first, then z_denied.
    await fillBig(name);
    await adminSql(async (c) => {
      await c.query(`USE \`${name}\``);
      await c.query('CREATE TABLE z_denied (id INT PRIMARY KEY)');
      await c.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
      await c.query(`GRANT SELECT ON \`${name}\`.a_big TO ?@?`, [user, '%']);
      await c.query(`GRANT INSERT ON \`${name}\`.z_denied TO ?@?`, [user, '%']);
      await c.query(`GRANT EVENT ON \`${name}\`.* TO ?@?`, [user, '%']);
    });
    // A client of our own that records which S3 commands the upload sent.
    const s3 = clients().s3;
    const sent: string[] = [];
    s3.middlewareStack.add((next, context) => (args) => (sent.push(context.commandName as string), next(args)), { step: 'initialize' });
    const backups = backupsWith({ s3, mysql: admin({ user, password }) });
    try {
      const error = await backups.dumpDatabase(id, name, STAMP).then(() => undefined, (e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error!.message).toMatch(/^(mariadb-dump|mysqldump) exited with code \d+: .*denied/s);
      expect(error!.message).not.toContain(password);
      expect(sent).toContain('CreateMultipartUploadCommand');
      expect(sent).toContain('AbortMultipartUploadCommand');
      expect(sent).not.toContain('CompleteMultipartUploadCommand');
      expect(await keys(`backups/${id}/`)).toEqual([]);
      const open = await aws.s3.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: `backups/${id}/` }));
      expect(open.Uploads ?? []).toEqual([]);
    } finally {
      s3.destroy();
    }
  });

  it('a failed re-dump keeps the dump an earlier run made for the same backup', async () => {
    const id = uniq('keep-');
    const name = `wp_${uniq('bk')}`;
    await createDatabase(name);
    await fillSample(name);
    expect(await backupsWith().dumpDatabase(id, name, STAMP)).toBe('created');
    const first = await text(`backups/${id}/${STAMP}/database.sql.gz`);
    // The server goes away after the existence check: the tool cannot connect.
    const proxy = await mysqlFaultProxy(mariadb().port);
    try {
      const backups = backupsWith({ mysql: admin({ port: proxy.port }) });
      proxy.failFrom(3, 'before'); // the check's query and quit pass; the tool's first command is cut
      const error = await backups.dumpDatabase(id, name, STAMP).then(() => undefined, (e: Error) => e);
      expect(error?.message).toMatch(/^(mariadb-dump|mysqldump) exited/);
      expect((error as { code?: string }).code).toBe('PROTOCOL_CONNECTION_LOST'); // retried by the hook's steps
      expect(await text(`backups/${id}/${STAMP}/database.sql.gz`)).toBe(first);
    } finally {
      await proxy.stop();
    }
  });

  it('an S3 failure in the middle of a dump stops the tool and throws the S3 error', async () => {
    const name = `wp_${uniq('bk')}`;
    await createDatabase(name);
    await fillBig(name);
    const backups = backupsWith({ bucket: uniq('no-such-bucket-') });
    // Settling at all shows the tool was stopped: blocked on a full pipe, it would never exit by itself.
    await expect(backups.dumpDatabase(uniq('s3-'), name, STAMP)).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('without mariadb-dump or mysqldump on PATH it says to install the MariaDB client', async () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), 'empty-path-'));
    try {
      await expect(backupsWith().dumpDatabase(uniq('x-'), 'wp_x', STAMP)).rejects.toThrow(/install the MariaDB client.*mariadb-client/);
      await expect(backupsWith().loadDump(uniq('x-'), 'wp_x', STAMP)).rejects.toThrow(/install the MariaDB client/);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('files', () => {
  // moto takes ~10 ms a request: seeding, a cut-off run and its re-run are ~7,500 requests.
  it('moves 2,500 objects (several pages) into the backup; a run cut off halfway converges on re-run', { timeout: 300_000 }, async () => {
    const id = uniq('mv-');
    const prefix = `sites/${id}/`;
    const target = `backups/${id}/${STAMP}/files/`;
    await putObjects(prefix, 2_500);
    const odd = `${prefix}wp-content/uploads/a b+c ünï%.jpg`;
    await aws.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: odd, Body: 'odd' }));
    await putObjects(`sites/${id}x/`, 3); // a neighbour whose prefix starts the same way

    // The first run loses its connection to S3 in the middle of the second page, between copies and deletes.
    const proxy = await httpFaultProxy(motoEndpoint());
    const cut = clients(proxy.url);
    try {
      proxy.failFrom(1_500, 'before');
      await expect(backupsWith({ s3: cut.s3 }).moveToBackup(id, prefix, STAMP)).rejects.toThrow();
    } finally {
      cut.destroy();
      await proxy.stop();
    }
    const left = (await keys(prefix)).length;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(2_501);

    const backups = backupsWith();
    expect(await backups.moveToBackup(id, prefix, STAMP)).toEqual({ outcome: 'created', moved: left });
    expect(await keys(prefix)).toEqual([]);
    expect((await keys(target)).length).toBe(2_501);
    expect(await text(`${target}wp-content/uploads/a b+c ünï%.jpg`)).toBe('odd');
    expect(await text(`${target}wp-content/uploads/01234.jpg`)).toBe(`${prefix}wp-content/uploads/01234.jpg`);
    expect((await keys(`sites/${id}x/`)).length).toBe(3);
    expect(await backups.moveToBackup(id, prefix, STAMP)).toEqual({ outcome: 'absent', moved: 0 });
  });

  it('restoreFiles copies the files back with their metadata and keeps the backup; a re-run converges', async () => {
    const id = uniq('rs-');
    const prefix = `sites/${id}/`;
    const target = `backups/${id}/${STAMP}/files/`;
    await putObjects(prefix, 4);
    const odd = `${prefix}wp-content/uploads/a b+c ünï%.jpg`;
    await aws.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: odd, Body: 'odd', ContentType: 'image/jpeg' }));
    const backups = backupsWith();
    expect(await backups.moveToBackup(id, prefix, STAMP)).toEqual({ outcome: 'created', moved: 5 });
    expect(await keys(prefix)).toEqual([]);

    expect(await backups.restoreFiles(id, prefix, STAMP)).toEqual({ outcome: 'restored', copied: 5 });
    expect((await keys(prefix)).sort()).toEqual((await keys(target)).map((k) => `${prefix}${k.slice(target.length)}`).sort());
    expect(await text(odd)).toBe('odd');
    expect((await aws.s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: odd }))).ContentType).toBe('image/jpeg');
    expect((await keys(target)).length).toBe(5);
    expect(await backups.restoreFiles(id, prefix, STAMP)).toEqual({ outcome: 'restored', copied: 5 });
    expect((await keys(prefix)).length).toBe(5);
    expect(await backups.restoreFiles(id, prefix, '20200101T000000Z')).toEqual({ outcome: 'absent', copied: 0 });
  });

  it('refuses prefixes that are not a site\'s', async () => {
    const backups = backupsWith();
    for (const bad of ['', '/', 'sites', 'backups/x/']) {
      await expect(backups.moveToBackup('rrr', bad, STAMP)).rejects.toThrow(/prefix/);
      await expect(backups.restoreFiles('rrr', bad, STAMP)).rejects.toThrow(/prefix/);
    }
  });
});

describe('list', () => {
  it('finds the backups of two sites, newest first per site, with what each holds', async () => {
    const own = await freshStore(aws);
    const backups = backupsWith({ bucket: own.bucket });
    const [a, b] = [uniq('la-'), uniq('lb-')].sort();
    const [older, newer] = ['20261101T080000Z', '20261129T203000Z'];
    const name = `wp_${uniq('bk')}`;
    await createDatabase(name);
    await fillSample(name);

    await putObjects(`sites/${a}/`, 3, own.bucket);
    await backups.moveToBackup(a!, `sites/${a}/`, older);
    await backups.dumpDatabase(a!, name, newer);
    await putObjects(`sites/${a}/`, 2, own.bucket);
    await backups.moveToBackup(a!, `sites/${a}/`, newer);
    await backups.dumpDatabase(b!, name, older);
    await aws.s3.send(new PutObjectCommand({ Bucket: own.bucket, Key: `backups/${a}/not-a-stamp/x`, Body: 'x' }));

    const entry = (id: string, stamp: string, database: boolean, files: number) => ({ id, stamp, time: stampTime(stamp), database, files });
    expect(await backups.list()).toEqual([entry(a!, newer, true, 2), entry(a!, older, false, 3), entry(b!, older, true, 0)]);
    expect(await backups.list(b!)).toEqual([entry(b!, older, true, 0)]);
    expect(await backups.list(uniq('none-'))).toEqual([]);
  });
});

describe('ensureBackupExpiry', () => {
  it('adds the backups rule beside the bucket\'s other rules, is idempotent, and updates the window', async () => {
    const own = await freshStore(aws);
    const logs = { ID: 'logs', Status: 'Enabled' as const, Filter: { Prefix: 'logs/' }, Expiration: { Days: 3 } };
    await aws.s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: own.bucket, LifecycleConfiguration: { Rules: [logs] } }));
    const rules = async () => (await aws.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: own.bucket }))).Rules ?? [];

    expect(await ensureBackupExpiry(aws.s3, own.bucket, 14)).toBe('created');
    expect(await ensureBackupExpiry(aws.s3, own.bucket, 14)).toBe('unchanged');
    let now = await rules();
    expect(now).toHaveLength(2);
    expect(now.find((r) => r.ID === 'logs')).toMatchObject(logs);
    expect(now.find((r) => r.ID === BACKUP_EXPIRY_RULE)).toMatchObject({
      Status: 'Enabled',
      Filter: { Prefix: 'backups/' },
      Expiration: { Days: 14 },
      NoncurrentVersionExpiration: { NoncurrentDays: 14 },
    });

    expect(await ensureBackupExpiry(aws.s3, own.bucket, 30)).toBe('updated');
    now = await rules();
    expect(now).toHaveLength(2);
    expect(now.find((r) => r.ID === 'logs')).toMatchObject(logs);
    expect(now.find((r) => r.ID === BACKUP_EXPIRY_RULE)).toMatchObject({ Expiration: { Days: 30 }, NoncurrentVersionExpiration: { NoncurrentDays: 30 } });
    expect(await ensureBackupExpiry(aws.s3, own.bucket, 30)).toBe('unchanged');
  });

  it('works on a bucket without any lifecycle configuration', async () => {
    const own = await freshStore(aws);
    expect(await ensureBackupExpiry(aws.s3, own.bucket, 7)).toBe('created');
    expect(await ensureBackupExpiry(aws.s3, own.bucket, 7)).toBe('unchanged');
    await expect(ensureBackupExpiry(aws.s3, own.bucket, 0)).rejects.toThrow(/whole number of days/);
  });
});
