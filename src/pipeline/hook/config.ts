import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { UsageError } from '../shared/errors.js';
import type { MysqlAdmin } from './database.js';
import { outside, type RetryPolicy } from './retry.js';
import type { Redactor } from './redact.js';

/** What `aviary hook` needs to know beyond the inputs, from flags or the environment. */
export interface HookConfig {
  /** DynamoDB table of the registry (partition key `id`, a string). */
  readonly table: string;
  /** S3 bucket holding every site's files under its prefix. */
  readonly bucket: string;
  /** Secrets Manager names are `<prefix>/<id>/db` and `<prefix>/<id>/admin`. */
  readonly secretPrefix: string;
  /** How the hook connects to MySQL as an administrator. */
  readonly mysql: MysqlAdmin;
  /** The host and port the sites' pods use to reach MySQL (written into the db secret). */
  readonly dbHost: string;
  readonly dbPort: number;
}

/** The command-line flags, as commander gives them. */
export interface HookFlags {
  readonly table?: string;
  readonly bucket?: string;
  readonly secretPrefix?: string;
  readonly mysqlUrl?: string;
  readonly dbHost?: string;
}

/** A setting: its flag, its environment variable, and its value when either gave one. */
interface Setting {
  readonly flag: string;
  readonly env: string;
  readonly value?: string;
}

const setting = (flag: string, env: string, flagValue: string | undefined, environment: NodeJS.ProcessEnv): Setting => ({
  flag,
  env,
  value: nonEmpty(flagValue) ?? nonEmpty(environment[env]),
});

function nonEmpty(s: string | undefined): string | undefined {
  return s !== undefined && s.trim() !== '' ? s.trim() : undefined;
}

function requireAll(settings: readonly Setting[]): void {
  const missing = settings.filter((s) => s.value === undefined);
  if (missing.length === 0) return;
  const list = missing.map((s) => `${s.flag} (or ${s.env})`).join(', ');
  throw new UsageError(`missing setting${missing.length > 1 ? 's' : ''}: ${list}; pass the flag or set the environment variable`);
}

/** Table and bucket only: what `hook init` needs. */
export function resolveInitConfig(flags: HookFlags, env: NodeJS.ProcessEnv = process.env): Pick<HookConfig, 'table' | 'bucket'> {
  const table = setting('--table', 'AVIARY_TABLE', flags.table, env);
  const bucket = setting('--bucket', 'AVIARY_BUCKET', flags.bucket, env);
  requireAll([table, bucket]);
  return { table: table.value!, bucket: bucket.value! };
}

/**
 * Everything provision and teardown need. The MySQL admin password may live
 * in Secrets Manager (`AVIARY_MYSQL_SECRET`) instead of the URL, so this may
 * call AWS; every secret it learns goes to `redactor`.
 */
export async function resolveHookConfig(opts: {
  flags: HookFlags;
  /** canary.yaml's `secrets.prefix`, the default when no flag or variable sets one. */
  fleetSecretPrefix: string;
  secrets: SecretsManagerClient;
  redactor: Redactor;
  retry: RetryPolicy;
  env?: NodeJS.ProcessEnv;
}): Promise<HookConfig> {
  const env = opts.env ?? process.env;
  const table = setting('--table', 'AVIARY_TABLE', opts.flags.table, env);
  const bucket = setting('--bucket', 'AVIARY_BUCKET', opts.flags.bucket, env);
  const mysqlUrl = setting('--mysql-url', 'AVIARY_MYSQL_URL', opts.flags.mysqlUrl, env);
  const mysqlSecret = nonEmpty(env.AVIARY_MYSQL_SECRET);
  requireAll([table, bucket, ...(mysqlSecret ? [] : [mysqlUrl])]);

  const fromUrl = mysqlUrl.value ? parseMysqlUrl(mysqlUrl.value, opts.redactor) : undefined;
  let mysql: Partial<MysqlAdmin> = { ...fromUrl };
  if (mysqlSecret) {
    const stored = await outside(
      'AWS Secrets Manager',
      `read the MySQL admin secret ${mysqlSecret} (AVIARY_MYSQL_SECRET)`,
      async () => (await opts.secrets.send(new GetSecretValueCommand({ SecretId: mysqlSecret }))).SecretString ?? '',
      opts.retry,
      opts.redactor,
    );
    opts.redactor.add(stored);
    mysql = { ...fromSecret(stored, mysqlSecret), ...withoutUndefined(fromUrl ?? {}), password: fromSecret(stored, mysqlSecret).password };
  }
  if (!mysql.host || !mysql.user || mysql.password === undefined) {
    throw new UsageError(
      'incomplete MySQL admin connection: set --mysql-url (or AVIARY_MYSQL_URL) to mysql://user:password@host:port, ' +
        'or give the user and host there and the password in the secret named by AVIARY_MYSQL_SECRET',
    );
  }
  opts.redactor.add(mysql.password);
  const admin: MysqlAdmin = { host: mysql.host, port: mysql.port ?? 3306, user: mysql.user, password: mysql.password };

  const dbHost = setting('--db-host', 'AVIARY_DB_HOST', opts.flags.dbHost, env).value;
  const [host, port] = dbHost ? splitHostPort(dbHost, admin.port) : [admin.host, admin.port];
  return {
    table: table.value!,
    bucket: bucket.value!,
    secretPrefix: setting('--secret-prefix', 'AVIARY_SECRET_PREFIX', opts.flags.secretPrefix, env).value ?? opts.fleetSecretPrefix,
    mysql: admin,
    dbHost: host,
    dbPort: port,
  };
}

/** The prefix alone (for `--dry-run`, which talks to nothing). */
export function resolveSecretPrefix(flags: HookFlags, fleetSecretPrefix: string, env: NodeJS.ProcessEnv = process.env): string {
  return setting('--secret-prefix', 'AVIARY_SECRET_PREFIX', flags.secretPrefix, env).value ?? fleetSecretPrefix;
}

/** Parses `mysql://user:password@host:port`; the error never repeats the URL, which holds a password. */
export function parseMysqlUrl(text: string, redactor: Redactor): Partial<MysqlAdmin> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('the MySQL admin URL (--mysql-url / AVIARY_MYSQL_URL) is not a URL; write it as mysql://user:password@host:port');
  }
  if (url.protocol !== 'mysql:' || !url.hostname) {
    throw new UsageError('the MySQL admin URL (--mysql-url / AVIARY_MYSQL_URL) must look like mysql://user:password@host:port');
  }
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  redactor.add(password);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : undefined,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password,
  };
}

/** An RDS-style JSON secret (`username`, `password`, `host`, `port`), or the bare password. */
function fromSecret(stored: string, name: string): Partial<MysqlAdmin> {
  try {
    const json: unknown = JSON.parse(stored);
    if (json && typeof json === 'object') {
      const o = json as Record<string, unknown>;
      if (typeof o.password !== 'string') {
        throw new UsageError(`the MySQL admin secret ${name} (AVIARY_MYSQL_SECRET) has no "password" key`);
      }
      return {
        password: o.password,
        user: typeof o.username === 'string' ? o.username : undefined,
        host: typeof o.host === 'string' ? o.host : undefined,
        port: o.port !== undefined && Number.isInteger(Number(o.port)) ? Number(o.port) : undefined,
      };
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
  }
  return { password: stored };
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function splitHostPort(text: string, defaultPort: number): [string, number] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new UsageError(`--db-host / AVIARY_DB_HOST "${text}" is not host or host:port`);
  return [m[1]!.replace(/^\[(.*)\]$/, '$1'), m[2] ? Number(m[2]) : defaultPort];
}
