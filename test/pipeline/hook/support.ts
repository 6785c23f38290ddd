// Helpers for the hook's tests: the shared servers from test/support/global-setup.ts,
// AWS clients and a MySQL admin pointed at them, a scratch fleet, the real CLI,
// and two fault-injecting proxies (HTTP for moto, TCP for MariaDB) so a test
// can make any single request fail without stopping a server other tests use.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createConnection, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AddressInfo, Server } from 'node:net';
import mysql from 'mysql2/promise';
import { inject } from 'vitest';
import { awsClients, type AwsClients } from '../../../src/pipeline/hook/aws.js';
import type { HookConfig } from '../../../src/pipeline/hook/config.js';
import { hookContext, type HookContext, type StepReport } from '../../../src/pipeline/hook/context.js';
import { ensureBucket, ensureTable } from '../../../src/pipeline/hook/init.js';
import { Redactor } from '../../../src/pipeline/hook/redact.js';
import type { Site } from '../../../src/sites/types.js';

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

/** A table and a bucket of their own for one test file, created the way `hook init` does. */
export async function freshStore(aws: AwsClients): Promise<{ table: string; bucket: string }> {
  const table = uniq('sites-');
  const bucket = uniq('fleet-');
  await ensureTable(aws.dynamodb, table);
  await ensureBucket(aws.s3, bucket);
  return { table, bucket };
}

export function site(id: string, extra: Partial<Site> = {}): Site {
  const host = `${id}.example.com`;
  return { id, name: `Site ${id}`, theme: 'astra', hostnames: [host], canonicalHostname: host, service: 'blue', ingress: 'blue', ...extra };
}

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

// ---- fleet files and the CLI ----

export interface FleetDir {
  dir: string;
  sites: string;
  canary: string;
}

const DIGEST_A = 'a'.repeat(64);
const DIGEST_B = 'b'.repeat(64);

export function sitesYaml(sites: readonly Pick<Site, 'id'>[]): string {
  if (sites.length === 0) return 'sites: []\n';
  return `sites:\n${sites
    .map((s) => `  - id: ${s.id}\n    name: "Site ${s.id}"\n    theme: astra\n    hostnames: [${s.id}.example.com]\n    service: blue\n`)
    .join('')}`;
}

export function canaryYaml(extra = ''): string {
  return `repository: 123456789012.dkr.ecr.us-west-2.amazonaws.com/wp-fleet\nselector: blue\nservices:\n  blue: { imageTag: ${DIGEST_A}, replicas: 1 }\n  green: { imageTag: ${DIGEST_B}, replicas: 1 }\n${extra}`;
}

export function fleetDir(sites: readonly Pick<Site, 'id'>[], canaryExtra = ''): FleetDir {
  const dir = mkdtempSync(join(tmpdir(), 'aviary-hook-'));
  writeFileSync(join(dir, 'sites.yaml'), sitesYaml(sites));
  writeFileSync(join(dir, 'canary.yaml'), canaryYaml(canaryExtra));
  return { dir, sites: join(dir, 'sites.yaml'), canary: join(dir, 'canary.yaml') };
}

const CLI = resolve(import.meta.dirname, '../../../lib/pipeline/cli.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`npm run build` first) as a real process, with only the environment given. */
export function runCli(args: readonly string[], opts: { cwd: string; env: Record<string, string | undefined> }): Promise<CliResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd: opts.cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** The environment the CLI needs to reach the shared servers. */
export function cliEnv(store: { table: string; bucket: string }, endpoint = motoEndpoint()): Record<string, string> {
  const db = mariadb();
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AVIARY_TABLE: store.table,
    AVIARY_BUCKET: store.bucket,
    AVIARY_MYSQL_URL: db.url,
    AVIARY_RETRIES: '0',
  };
}

// ---- fault injection ----

export type FaultMode =
  /** The request never reaches the server: like a server that is down. */
  | 'before'
  /** The server does the work but the answer is lost: the caller cannot know it succeeded. */
  | 'after';

export interface FaultProxy {
  port: number;
  url: string;
  /** Requests (HTTP) or commands (MySQL) seen so far. */
  readonly count: number;
  /** From the n-th request on (counting from now, 1-based), fail every one until heal(). */
  failFrom(n: number, mode: FaultMode): void;
  /** Fail only the n-th request from now. */
  failOnly(n: number, mode: FaultMode): void;
  heal(): void;
  stop(): Promise<void>;
}

function faultState() {
  let count = 0;
  let from = Infinity;
  let to = Infinity;
  let mode: FaultMode = 'before';
  return {
    get count() {
      return count;
    },
    /** Counts one request and says whether (and how) to break it. */
    next(): FaultMode | undefined {
      count++;
      return count >= from && count <= to ? mode : undefined;
    },
    failFrom(n: number, m: FaultMode) {
      from = count + n;
      to = Infinity;
      mode = m;
    },
    failOnly(n: number, m: FaultMode) {
      from = count + n;
      to = from;
      mode = m;
    },
    heal() {
      from = Infinity;
      to = Infinity;
    },
  };
}

/** Starts `server` on a free loopback port and wraps it as a FaultProxy; `cut` drops its open connections on stop. */
async function listening(server: Server, state: ReturnType<typeof faultState>, scheme: string, cut: () => void): Promise<FaultProxy> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    get count() {
      return state.count;
    },
    failFrom: state.failFrom,
    failOnly: state.failOnly,
    heal: state.heal,
    stop: () => {
      cut();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** An HTTP proxy in front of moto that can drop chosen requests (before or after moto handled them). */
export async function httpFaultProxy(target: string): Promise<FaultProxy> {
  const t = new URL(target);
  const state = faultState();
  const server = createHttpServer((req, res) => {
    const fault = state.next();
    if (fault === 'before') {
      req.socket.destroy();
      return;
    }
    const upstream = httpRequest(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        if (fault === 'after') {
          up.resume();
          up.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 1;
  return listening(server, state, 'http', () => server.closeAllConnections());
}

/**
 * A TCP proxy in front of MariaDB that counts MySQL commands (client packets
 * with sequence number 0) and can cut the connection at a chosen one, before
 * the server sees it or after the server answered it.
 */
export async function mysqlFaultProxy(targetPort: number): Promise<FaultProxy> {
  const state = faultState();
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => (sockets.delete(client), upstream.destroy()));
    upstream.on('close', () => (sockets.delete(upstream), client.destroy()));
    client.on('error', kill);
    upstream.on('error', kill);
    let cutAfterAnswer = false;
    upstream.on('data', (chunk) => {
      client.write(chunk);
      if (cutAfterAnswer) setTimeout(kill, 20);
    });
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // Split into whole packets: 3-byte little-endian length, 1-byte sequence number, payload.
      while (pending.length >= 4) {
        const length = pending.readUIntLE(0, 3);
        if (pending.length < 4 + length) break;
        const packet = pending.subarray(0, 4 + length);
        pending = pending.subarray(4 + length);
        const isCommand = packet[3] === 0;
        const fault = isCommand ? state.next() : undefined;
        if (fault === 'before') return kill();
        upstream.write(packet);
        if (fault === 'after') cutAfterAnswer = true;
      }
    });
  });
  return listening(server, state, 'mysql', () => {
    for (const s of sockets) s.destroy();
  });
}
