import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { pipeline as pipe, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import pMap from 'p-map';
import { checkName, SiteDatabase, type MysqlAdmin } from './database.js';
import type { Redactor } from './redact.js';
import type { Outcome } from './registry.js';
import { isNotFound } from './storage.js';

/** Every backup lives under this prefix of the fleet bucket; `hook init` gives it a lifecycle rule that expires it. */
export const BACKUPS_PREFIX = 'backups/';

/** The dump's name inside a backup, and the folder that holds the site's files. */
const DUMP = 'database.sql.gz';
const FILES = 'files/';
/** ListObjectsV2's page size and DeleteObjects' limit. */
const PAGE = 1_000;
/** CopyObject requests in flight: one by one, a page of 1,000 would take half a minute against S3. */
const COPIES = 16;
/** Site ids are DNS labels (see sites/schema.ts); checked again because they become part of S3 keys. */
const SITE_ID = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `backups/<id>/<stamp>/` */
export function backupPrefix(id: string, stamp: string): string {
  if (!stampTime(stamp)) throw new Error(`"${stamp}" is not a backup time (expected e.g. 20261129T203000Z)`);
  return `${sitePrefix(id)}${stamp}/`;
}

/** `backups/<id>/`: the id checked, so that it cannot reach into another site's backups. */
function sitePrefix(id: string): string {
  if (!SITE_ID.test(id)) throw new Error(`refusing to use "${id}" as a site id in a backup's name`);
  return `${BACKUPS_PREFIX}${id}/`;
}

/** A backup's name from its time: sortable and safe in an S3 key, e.g. 20261129T203000Z (UTC, seconds). */
export function backupStamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** The time a stamp names (inverse of backupStamp), or undefined if it is not one. */
export function stampTime(stamp: string): Date | undefined {
  const m = STAMP.exec(stamp);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const time = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 20261332 over into 2027; only a stamp that round-trips names a time.
  return backupStamp(time) === stamp ? time : undefined;
}

export interface BackupEntry {
  readonly id: string;
  readonly stamp: string;
  readonly time: Date;
  /** Whether the backup holds a database dump. */
  readonly database: boolean;
  /** How many of the site's files it holds. */
  readonly files: number;
}

const DUMP_TOOLS = ['mariadb-dump', 'mysqldump'];
const LOAD_TOOLS = ['mariadb', 'mysql'];

/**
 * The command line of the dump (`dump`) or load (`load`) tool. The password is
 * not in it: argv is readable by every user of the machine (`ps`), so it goes
 * in the child's MYSQL_PWD (toolEnv). `--no-defaults` first, so no option file
 * (a ~/.my.cnf with another password, say) changes what runs; `--protocol=TCP`
 * because the clients take `localhost` to mean a local socket, where mysql2
 * (the rest of the hook) would connect over TCP.
 */
export function toolArgs(kind: 'dump' | 'load', admin: Pick<MysqlAdmin, 'host' | 'port' | 'user'>, database: string): string[] {
  checkName(database); // also rules out a name that the tool would read as an option
  // A row larger than the clients' default 16 MB packet would fail the dump, and with it the teardown.
  const connection = [
    '--no-defaults', '--protocol=TCP', `--host=${admin.host}`, `--port=${admin.port}`, `--user=${admin.user}`,
    '--default-character-set=utf8mb4', '--max-allowed-packet=1G',
  ];
  if (kind === 'load') return [...connection, database];
  // --single-transaction: a consistent snapshot of InnoDB tables without locking out the site;
  // --hex-blob: binary columns survive any client character set. The database name as the only
  // positional argument means no CREATE DATABASE / USE lines, so the dump loads into any name.
  return [...connection, '--single-transaction', '--skip-lock-tables', '--routines', '--triggers', '--events', '--hex-blob', database];
}

/** The child's environment: ours plus the password, which the MariaDB and MySQL clients read from MYSQL_PWD. */
function toolEnv(admin: MysqlAdmin): NodeJS.ProcessEnv {
  return { ...process.env, MYSQL_PWD: admin.password };
}

/** The first of `names` on PATH. */
function findTool(names: readonly string[]): string {
  for (const name of names) {
    for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here; keep looking
      }
    }
  }
  throw new Error(`neither ${names.join(' nor ')} is on PATH: install the MariaDB client (Debian/Ubuntu package mariadb-client)`);
}

/**
 * A site's final backup under `backups/<id>/<stamp>/` of the fleet bucket: a
 * compressed logical dump of its database and the files of its S3 prefix,
 * and the way back. Every method can be re-run after a failure or a kill at
 * any point and converges.
 */
export class SiteBackups {
  private readonly database: SiteDatabase;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly mysql: MysqlAdmin,
    private readonly redactor: Redactor,
  ) {
    this.database = new SiteDatabase(mysql);
    redactor.add(mysql.password);
  }

  /**
   * A logical dump of `database`, gzip-compressed and streamed to
   * backups/<id>/<stamp>/database.sql.gz, so a large database never sits in
   * memory. 'created', or 'absent' when the database does not exist. A failed
   * dump leaves nothing behind (not even a previous dump of the same stamp
   * is replaced) and throws with the tool's stderr, masked.
   */
  async dumpDatabase(id: string, database: string, stamp: string): Promise<Outcome> {
    checkName(database);
    const key = `${backupPrefix(id, stamp)}${DUMP}`;
    const tool = findTool(DUMP_TOOLS);
    if (!(await this.database.databaseExists(database))) return 'absent';
    const child = spawn(tool, toolArgs('dump', this.mysql, database), { env: toolEnv(this.mysql), stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = this.exited(child, tool);
    // A tool that fails halfway has written a valid-looking but truncated dump.
    // The body therefore ends only once the tool has exited 0; otherwise it
    // errors, and Upload then never completes the object (and aborts its
    // multipart upload, if it started one). S3 objects appear only on completion.
    const untilExit = new Transform({
      transform: (chunk, _encoding, done) => done(null, chunk),
      flush: (done) => void exited.then(() => done(), done),
    });
    const body = pipe(child.stdout!, createGzip(), untilExit, () => undefined); // a failure reaches Upload through `body`
    const upload = new Upload({ client: this.s3, params: { Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/gzip' } });
    try {
      await upload.done();
    } catch (error) {
      // S3 failed (or the tool did, and `error` says so): stop the tool, which would block on a full pipe.
      body.destroy();
      child.kill();
      await exited.catch(() => undefined);
      throw error;
    }
    return 'created';
  }

  async hasDump(id: string, stamp: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: `${backupPrefix(id, stamp)}${DUMP}` }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * Loads the dump into `database` (which exists), streamed from S3 through
   * gunzip into the client. Safe to repeat after a kill halfway: the dump
   * drops and re-creates each table. 'restored', or 'absent' when there is no dump.
   */
  async loadDump(id: string, database: string, stamp: string): Promise<Outcome> {
    checkName(database);
    const tool = findTool(LOAD_TOOLS);
    let dump: Readable;
    try {
      dump = (await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${backupPrefix(id, stamp)}${DUMP}` }))).Body as Readable;
    } catch (error) {
      if (isNotFound(error)) return 'absent';
      throw error;
    }
    const child = spawn(tool, toolArgs('load', this.mysql, database), { env: toolEnv(this.mysql), stdio: ['pipe', 'ignore', 'pipe'] });
    const exited = this.exited(child, tool);
    // If reading the dump fails, pipeline() closes the tool's input and the tool stops;
    // if the tool fails, writing to it fails too. Wait for both, then say what went wrong.
    const [fed, ran] = await Promise.allSettled([pipeline(dump, createGunzip(), child.stdin!), exited]);
    if (ran.status === 'rejected') {
      const error = ran.reason as Error;
      if (fed.status === 'rejected') error.message += ` (streaming the dump to it: ${this.redactor.scrub((fed.reason as Error).message)})`;
      throw error;
    }
    if (fed.status === 'rejected') throw fed.reason;
    return 'restored';
  }

  /**
   * Moves every object under `prefix` (e.g. sites/<id>/) to
   * backups/<id>/<stamp>/files/: a page of 1,000 keys is copied, then deleted.
   * A re-run after a kill copies what is still there again and deletes it.
   * 'created' when it moved anything, 'absent' when the prefix was empty.
   */
  async moveToBackup(id: string, prefix: string, stamp: string): Promise<{ outcome: Outcome; moved: number }> {
    const target = `${backupPrefix(id, stamp)}${FILES}`;
    checkSitePrefix(prefix);
    let moved = 0;
    // S3's continuation token names the last key listed, so deleting a page does not disturb the next one.
    for await (const keys of this.pages(prefix)) {
      await pMap(keys, (key) => this.copy(key, `${target}${key.slice(prefix.length)}`), { concurrency: COPIES });
      await this.deleteKeys(keys, prefix);
      moved += keys.length;
    }
    return { outcome: moved > 0 ? 'created' : 'absent', moved };
  }

  /**
   * Copies backups/<id>/<stamp>/files/ back under `prefix`, overwriting what
   * is there; the backup stays, so a re-run (or a later restore) can repeat
   * it. 'restored', or 'absent' when the backup holds no files.
   */
  async restoreFiles(id: string, prefix: string, stamp: string): Promise<{ outcome: Outcome; copied: number }> {
    const source = `${backupPrefix(id, stamp)}${FILES}`;
    checkSitePrefix(prefix);
    let copied = 0;
    for await (const keys of this.pages(source)) {
      await pMap(keys, (key) => this.copy(key, `${prefix}${key.slice(source.length)}`), { concurrency: COPIES });
      copied += keys.length;
    }
    return { outcome: copied > 0 ? 'restored' : 'absent', copied };
  }

  /** Every backup in the bucket (or of one site), newest first per site: see listBackups. */
  list(id?: string): Promise<BackupEntry[]> {
    return listBackups(this.s3, this.bucket, id);
  }

  private pages(prefix: string): AsyncGenerator<string[]> {
    return keyPages(this.s3, this.bucket, prefix);
  }

  /** Copies one object with its metadata. (CopyObject takes objects up to 5 GB; WordPress uploads are far smaller.) */
  private async copy(from: string, to: string): Promise<void> {
    // CopySource is a URL path: each segment of the key encoded, the slashes kept.
    const source = `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    await this.s3.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }));
  }

  private async deleteKeys(keys: readonly string[], prefix: string): Promise<void> {
    const out = await this.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
    const failed = out.Errors ?? [];
    if (failed.length > 0) {
      const first = failed[0]!;
      throw new Error(`could not delete ${failed.length} object(s) under ${prefix}, e.g. ${first.Key}: ${first.Code} ${first.Message ?? ''}`.trim());
    }
  }

  /** Resolves when the tool exits 0; otherwise rejects with its (masked) stderr. */
  private exited(child: ChildProcess, tool: string): Promise<void> {
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => (stderr = (stderr + text).slice(-16_384)));
    const done = new Promise<void>((resolve, reject) => {
      child.once('error', (error) => reject(this.redactor.scrubError(error)));
      child.once('close', (code, signal) => {
        if (code === 0) return resolve();
        const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
        const error = new Error(`${basename(tool)} ${how}: ${this.redactor.scrub(stderr.trim()) || 'no message'}`);
        // "Can't connect" and "lost connection" are worth a retry (retry.ts), like the same errors from mysql2.
        if (/\b(2002|2003|2006|2013)\b/.test(stderr)) Object.assign(error, { code: 'PROTOCOL_CONNECTION_LOST' });
        reject(error);
      });
    });
    done.catch(() => undefined); // awaited by the caller; this only keeps an early failure from being "unhandled"
    return done;
  }
}

/**
 * Every backup in the bucket (or of one site): sorted by site, newest first
 * per site. Needs S3 only, so `aviary hook backups` can list without MySQL.
 * One paginated listing of backups/, not a request per site; it lists without
 * a delimiter because a delimiter would fold a backup's files into one common
 * prefix, and `files` counts them (a request per 1,000 objects).
 */
export async function listBackups(s3: S3Client, bucket: string, id?: string): Promise<BackupEntry[]> {
  const found = new Map<string, { id: string; stamp: string; time: Date; database: boolean; files: number }>();
  for await (const keys of keyPages(s3, bucket, id === undefined ? BACKUPS_PREFIX : sitePrefix(id))) {
    for (const key of keys) {
      const [site, stamp, ...rest] = key.slice(BACKUPS_PREFIX.length).split('/');
      const time = stamp === undefined ? undefined : stampTime(stamp);
      if (!site || !stamp || !time || rest.length === 0) continue; // not a backup of ours
      const entry = found.get(`${site}/${stamp}`) ?? { id: site, stamp, time, database: false, files: 0 };
      found.set(`${site}/${stamp}`, entry);
      const inside = rest.join('/');
      if (inside === DUMP) entry.database = true;
      else if (inside.startsWith(FILES)) entry.files++;
    }
  }
  return [...found.values()].sort((a, b) => (a.id === b.id ? b.time.getTime() - a.time.getTime() : a.id < b.id ? -1 : 1));
}

/** The keys under `prefix`, a page (1,000 keys) at a time. */
async function* keyPages(s3: S3Client, bucket: string, prefix: string): AsyncGenerator<string[]> {
  for await (const page of paginateListObjectsV2({ client: s3, pageSize: PAGE }, { Bucket: bucket, Prefix: prefix, MaxKeys: PAGE })) {
    const keys = (page.Contents ?? []).map((o) => o.Key).filter((k): k is string => k !== undefined);
    if (keys.length > 0) yield keys;
  }
}

/** A site's prefix: never the whole bucket or the backups, which a move or restore would otherwise copy into itself. */
function checkSitePrefix(prefix: string): void {
  if (!prefix.endsWith('/') || prefix === '/' || prefix.startsWith(BACKUPS_PREFIX)) {
    throw new Error(`refusing to use "${prefix}" as a site's prefix: expected e.g. sites/<id>/`);
  }
}
