import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import type { Outcome } from './registry.js';

/** An administrator connection to the fleet's MySQL server. */
export interface MysqlAdmin {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** Where the tenant user may connect from: pods have cluster addresses we cannot know in advance. */
const TENANT_HOST = '%';
/** Names derived by siteNames(); checked again here because they are spliced into SQL as identifiers. */
const SAFE_NAME = /^wp_[a-z0-9_]{1,29}$/;

/**
 * A site's MySQL database and user. Every change first looks at what exists,
 * so a re-run after any failure picks up where the last one stopped.
 * Identifiers are backtick-quoted and passwords always go through placeholders.
 */
export class SiteDatabase {
  constructor(
    private readonly admin: MysqlAdmin,
    private readonly connectTimeoutMs = 10_000,
  ) {}

  async ensureDatabase(database: string): Promise<Outcome> {
    checkName(database);
    return this.withAdmin(async (c) => {
      if (await exists(c, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database])) return 'unchanged';
      await c.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      return 'created';
    });
  }

  /** Creates the user with `password`, or resets it when the stored one no longer logs in. */
  async ensureUser(user: string, password: string): Promise<Outcome> {
    checkName(user);
    const present = await this.withAdmin((c) => exists(c, 'SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?', [user, TENANT_HOST]));
    if (!present) {
      await this.withAdmin((c) => c.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [user, TENANT_HOST, password]));
      return 'created';
    }
    if (await this.canLogIn(user, password)) return 'unchanged';
    await this.withAdmin((c) => c.query('ALTER USER ?@? IDENTIFIED BY ?', [user, TENANT_HOST, password]));
    return 'updated';
  }

  /**
   * Grants everything on the site's database and nothing else. `_` is a
   * wildcard in a GRANT's database name, so it is escaped: unescaped,
   * `wp_a_b` would also match the database of a site called `a1b`.
   */
  async ensureGrant(database: string, user: string): Promise<Outcome> {
    checkName(database);
    checkName(user);
    const pattern = database.replaceAll('_', '\\_');
    return this.withAdmin(async (c) => {
      const grantee = `'${user}'@'${TENANT_HOST}'`;
      const sql = "SELECT 1 FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ? AND PRIVILEGE_TYPE = 'CREATE'";
      if (await exists(c, sql, [grantee, pattern])) return 'unchanged';
      await c.query(`GRANT ALL PRIVILEGES ON ${mysql.escapeId(pattern)}.* TO ?@?`, [user, TENANT_HOST]);
      return 'created';
    });
  }

  /** Drops the user and ends its open sessions, so nothing of the site can use the database any more. */
  async dropUser(user: string): Promise<Outcome> {
    checkName(user);
    return this.withAdmin(async (c) => {
      const present = await exists(c, 'SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?', [user, TENANT_HOST]);
      if (present) await c.query('DROP USER IF EXISTS ?@?', [user, TENANT_HOST]);
      const [sessions] = await c.query<RowDataPacket[]>('SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?', [user]);
      for (const s of sessions) await c.query('KILL CONNECTION ?', [s.ID]).catch(() => undefined); // it may have ended meanwhile
      return present ? 'deleted' : 'absent';
    });
  }

  async dropDatabase(database: string): Promise<Outcome> {
    checkName(database);
    return this.withAdmin(async (c) => {
      if (!(await exists(c, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database]))) return 'absent';
      await c.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`);
      return 'deleted';
    });
  }

  async databaseExists(database: string): Promise<boolean> {
    checkName(database);
    return this.withAdmin((c) => exists(c, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database]));
  }

  /** Every database and tenant user named like a site's (`wp_…`), in two queries for the whole fleet. */
  async inventory(): Promise<{ databases: Set<string>; users: Set<string> }> {
    return this.withAdmin(async (c) => {
      const [dbs] = await c.query<RowDataPacket[]>("SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'wp\\_%'");
      const [users] = await c.query<RowDataPacket[]>("SELECT User AS name FROM mysql.user WHERE User LIKE 'wp\\_%' AND Host = ?", [TENANT_HOST]);
      return { databases: new Set(dbs.map((r) => String(r.name))), users: new Set(users.map((r) => String(r.name))) };
    });
  }

  /** Whether `user` exists on the server (for tests and dry runs). */
  async userExists(user: string): Promise<boolean> {
    return this.withAdmin((c) => exists(c, 'SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?', [user, TENANT_HOST]));
  }

  private async canLogIn(user: string, password: string): Promise<boolean> {
    try {
      const c = await mysql.createConnection({ host: this.admin.host, port: this.admin.port, user, password, connectTimeout: this.connectTimeoutMs });
      await c.end();
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'ER_ACCESS_DENIED_ERROR') return false;
      throw error;
    }
  }

  /** One connection per step: a step retried after a lost connection starts on a fresh one. */
  private async withAdmin<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    const c = await mysql.createConnection({
      host: this.admin.host,
      port: this.admin.port,
      user: this.admin.user,
      password: this.admin.password,
      connectTimeout: this.connectTimeoutMs,
      multipleStatements: false,
    });
    // An 'error' event on an idle connection would otherwise crash the process.
    c.on('error', () => undefined);
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => c.destroy());
    }
  }
}

async function exists(c: Connection, sql: string, params: unknown[]): Promise<boolean> {
  const [rows] = await c.query<RowDataPacket[]>(sql, params);
  return rows.length > 0;
}

/** Throws unless `name` is a database or user name Aviary derives; such names are spliced into SQL, and passed to the MariaDB tools as arguments. */
export function checkName(name: string): void {
  if (!SAFE_NAME.test(name)) throw new Error(`refusing to use "${name}" as a MySQL name: expected wp_ followed by lowercase letters, digits and _`);
}
