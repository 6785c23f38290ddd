// The hook's store for the integration tests: the moto_server and MariaDB
// that test/support/global-setup.ts starts once for the whole run, AWS
// clients and a MySQL admin pointed at them, a table and bucket of a test
// file's own, a hook context against them, and what a site left on them.
import { randomBytes } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, inject } from 'vitest';
import { awsClients, type AwsClients } from '../../src/pipeline/hook/aws.js';
import type { HookConfig } from '../../src/pipeline/hook/config.js';
import { hookContext, type HookContext, type StepReport } from '../../src/pipeline/hook/context.js';
import { ensureBucket, ensureTable } from '../../src/pipeline/hook/init.js';
import { Redactor } from '../../src/pipeline/hook/redact.js';

export const REGION = 'us-west-2';
export const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export function motoEndpoint(): string {
  const moto = inject('moto');
  if (!moto.ok) throw new Error(`moto_server did not start in the global setup: ${moto.error}`);
  return moto.value.endpoint;
}

export function mariadb() {
  const db = inject('mariadb');
  if (!db.ok) throw new Error(`MariaDB did not start in the global setup: ${db.error}`);
  return db.value;
}

/** A short random suffix: the servers are shared by every test file, so every name must be unique. */
export function uniq(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

export function clients(endpoint = motoEndpoint()): AwsClients {
  return awsClients({ endpoint, region: REGION, credentials: CREDENTIALS });
}

/** Where the hook keeps its registry (a DynamoDB table) and the sites' files (an S3 bucket). */
export interface Store {
  table: string;
  bucket: string;
}

/** A table and a bucket of their own, created the way `hook init` does. */
export async function freshStore(aws: AwsClients): Promise<Store> {
  const table = uniq('sites-');
  const bucket = uniq('fleet-');
  await ensureTable(aws.dynamodb, table);
  await ensureBucket(aws.s3, bucket);
  return { table, bucket };
}

/**
 * The set-up of a test file against the shared servers: AWS clients, and a
 * fresh store of the file's own, made before its tests; the clients are
 * closed after them. Both objects are filled in by that beforeAll: read them
 * in tests and hooks, not while the file is collected.
 */
export function useFreshStore(): { aws: AwsClients; store: Store } {
  const aws = {} as AwsClients;
  const store = {} as Store;
  beforeAll(async () => {
    Object.assign(aws, clients());
    Object.assign(store, await freshStore(aws));
  });
  afterAll(() => aws.destroy?.());
  return { aws, store };
}

/** An admin connection to the shared MariaDB, for assertions. */
export async function adminSql<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const db = mariadb();
  const c = await mysql.createConnection({ host: db.host, port: db.port, user: db.adminUser, password: db.adminPassword });
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

// ---- the hook against the store ----

export interface TestHook {
  ctx: HookContext;
  config: HookConfig;
  reports: StepReport[];
  redactor: Redactor;
}

/** A hook context against the shared servers (or proxies in front of them). */
export function testHook(opts: {
  aws: AwsClients;
  table: string;
  bucket: string;
  mysqlPort?: number;
  mysqlAdmin?: { user: string; password: string };
  secretPrefix?: string;
  retries?: number;
  onStep?: (r: StepReport) => void | Promise<void>;
}): TestHook {
  const db = mariadb();
  const config: HookConfig = {
    table: opts.table,
    bucket: opts.bucket,
    secretPrefix: opts.secretPrefix ?? 'aviary/sites',
    mysql: { host: db.host, port: opts.mysqlPort ?? db.port, user: opts.mysqlAdmin?.user ?? db.adminUser, password: opts.mysqlAdmin?.password ?? db.adminPassword },
    dbHost: 'mysql.fleet.internal',
    dbPort: 3306,
  };
  const reports: StepReport[] = [];
  const redactor = new Redactor();
  const ctx = hookContext({
    config,
    aws: opts.aws,
    redactor,
    retry: { retries: opts.retries ?? 0, minTimeoutMs: 20, maxTimeoutMs: 100 },
    onStep: async (r) => {
      reports.push(r);
      await opts.onStep?.(r);
    },
  });
  return { ctx, config, reports, redactor };
}

/** The SDK's standard environment for moto (or `endpoint`), as a CI job's AWS step leaves it. */
export function awsEnv(endpoint = motoEndpoint()): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** The environment the CLI needs to reach the shared servers and the store. */
export function cliEnv(store: Store, endpoint = motoEndpoint()): Record<string, string> {
  return { ...awsEnv(endpoint), AVIARY_TABLE: store.table, AVIARY_BUCKET: store.bucket, AVIARY_MYSQL_URL: mariadb().url, AVIARY_RETRIES: '0' };
}

// ---- what a site left on the servers ----

export async function registryStatus(aws: AwsClients, table: string, id: string): Promise<string | undefined> {
  return (await aws.dynamodb.send(new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }))).Item?.status?.S;
}

/** Everything the provision hook creates for a site, as found on the servers. */
export async function awsSide(aws: AwsClients, store: Store, id: string) {
  const sql = `wp_${id.replaceAll('-', '_')}`;
  const secret = async (kind: string) => {
    try {
      const d = await aws.secrets.send(new DescribeSecretCommand({ SecretId: `aviary/sites/${id}/${kind}` }));
      return d.DeletedDate ? 'scheduled for deletion' : 'present';
    } catch {
      return 'absent';
    }
  };
  const objects = await aws.s3.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: `sites/${id}/` }));
  const [database, user] = await adminSql(async (c) => {
    const [dbs] = await c.query('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [sql]);
    const [users] = await c.query('SELECT User FROM mysql.user WHERE User = ?', [sql]);
    return [(dbs as unknown[]).length > 0, (users as unknown[]).length > 0];
  });
  return {
    registry: await registryStatus(aws, store.table, id),
    dbSecret: await secret('db'),
    adminSecret: await secret('admin'),
    database,
    user,
    s3: (objects.Contents ?? []).map((o) => o.Key),
  };
}

/** What awsSide finds of a site torn down: its secrets wait out their recovery window, nothing else is left. */
export const TORN_DOWN = { registry: 'terminated', dbSecret: 'scheduled for deletion', adminSecret: 'scheduled for deletion', database: false, user: false, s3: [] };
