// Small helpers shared by the local-server starters in test/support:
// a free TCP port, locating a server binary with a clear error, polling until
// a server answers, and stopping a child process by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { delimiter, join } from 'node:path';

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}

/**
 * Absolute path of `name`, looked up in PATH and then `extraDirs` (sbin dirs are
 * often not on a non-root PATH). Throws `hint` when missing so a test run says
 * what to install instead of failing with a bare ENOENT.
 */
export function requireBinary(name: string, hint: string, extraDirs: string[] = []): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(`${name} not found on PATH${extraDirs.length ? ` or in ${extraDirs.join(', ')}` : ''}: ${hint}`);
}

/**
 * Polls `probe` until it returns true; rejects with `what` and the last error
 * after `timeoutMs`, or at once when `gaveUp` returns a reason (e.g. the server
 * process already exited, so waiting longer is pointless).
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  { timeoutMs = 30_000, intervalMs = 100, gaveUp }: { timeoutMs?: number; intervalMs?: number; gaveUp?: () => string | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const reason = gaveUp?.();
    if (reason) throw new Error(`gave up waiting for ${what}: ${reason}`);
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Sends SIGTERM to the child by PID, then SIGKILL if it has not exited after `graceMs`. */
export async function killChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

const spawnErrors = new WeakMap<ChildProcess, Error>();

/**
 * Spawns a long-running server and makes sure it dies with the test process
 * even if the test never calls stop() (a crashed worker must not leak servers).
 */
export function spawnServer(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // A failed spawn is an 'error' event (which would crash the worker unheard); keep it for exitedReason().
  child.once('error', (err) => spawnErrors.set(child, err));
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  return child;
}

/** Why a spawned server is no longer running, or undefined while it runs. */
export function exitedReason(child: ChildProcess, log: () => string = () => ''): string | undefined {
  const spawnError = spawnErrors.get(child);
  if (spawnError) return `could not start ${child.spawnfile}: ${spawnError.message}`;
  if (child.exitCode === null && child.signalCode === null) return undefined;
  const how = child.exitCode !== null ? `exit code ${child.exitCode}` : `signal ${child.signalCode}`;
  const out = log();
  return `${child.spawnfile} exited with ${how}${out ? `\n${out}` : ''}`;
}

/** Keeps the last `max` characters of a stream, to put a server's own words into errors. */
export function tailOf(stream: NodeJS.ReadableStream | null, max = 4_000): () => string {
  let buf = '';
  stream?.on('data', (chunk: Buffer) => {
    buf = (buf + chunk.toString()).slice(-max);
  });
  return () => buf.trim();
}

/** Starts `server` on a free port of 127.0.0.1; resolves to that port. */
export async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Stops an HTTP server at once: its open (keep-alive) connections are cut, not waited for. */
export async function closeServer(server: HttpServer): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
