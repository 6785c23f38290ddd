// One moto_server and one MariaDB for the whole test run, shared by every
// integration test through vitest's provide/inject. Each test isolates itself
// by unique names (table, bucket, site ids), so sharing is safe; tests that
// need a server to fail put a proxy of their own in front of it instead of
// stopping the shared one.
//
// Both start always: together they take a few seconds, and starting them on
// demand from inside a test worker would start one per worker.
import type { TestProject } from 'vitest/node';
import { startMariaDb, type MariaDb } from './mariadb.js';
import { startMoto } from './moto.js';

/** A server the setup started, or why it could not start (so only the tests that need it fail). */
export type Provided<T> = { ok: true; value: T } | { ok: false; error: string };

export interface SharedMariaDb {
  host: string;
  port: number;
  /** mysql://admin:password@127.0.0.1:port, an admin with ALL PRIVILEGES … WITH GRANT OPTION. */
  url: string;
  adminUser: string;
  adminPassword: string;
  /** root@localhost (no password) works through it. */
  socket: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** moto_server's endpoint, e.g. http://127.0.0.1:41234 (DynamoDB, S3, Secrets Manager). */
    moto: Provided<{ endpoint: string }>;
    mariadb: Provided<SharedMariaDb>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [moto, mariadb] = await Promise.allSettled([startMoto(), startMariaDb()]);
  const reason = (r: PromiseRejectedResult) => (r.reason instanceof Error ? r.reason.message : String(r.reason));

  project.provide('moto', moto.status === 'fulfilled' ? { ok: true, value: { endpoint: moto.value.endpoint } } : { ok: false, error: reason(moto) });
  project.provide(
    'mariadb',
    mariadb.status === 'fulfilled'
      ? { ok: true, value: pick(mariadb.value) }
      : { ok: false, error: reason(mariadb) },
  );

  return async () => {
    await Promise.all([
      moto.status === 'fulfilled' ? moto.value.stop() : undefined,
      mariadb.status === 'fulfilled' ? mariadb.value.stop() : undefined,
    ]);
  };
}

function pick(db: MariaDb): SharedMariaDb {
  return { host: db.host, port: db.port, url: db.url, adminUser: db.adminUser, adminPassword: db.adminPassword, socket: db.socket };
}
