// A private MariaDB server in a temp datadir (no systemd, no shared state), with
// an admin user reachable over TCP, plus hooks to take it down for fault tests.
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exitedReason, freePort, killChild, requireBinary, spawnServer, waitUntil } from './ports.js';

const run = promisify(execFile);
const HINT = 'install MariaDB with: bash scripts/ensure-mariadb.sh (Debian packages mariadb-server and mariadb-client)';
const SBIN = ['/usr/sbin', '/usr/local/sbin'];

export interface MariaDb {
  host: '127.0.0.1';
  port: number;
  adminUser: string;
  adminPassword: string;
  /** mysql://adminUser:adminPassword@127.0.0.1:port */
  url: string;
  /** Unix socket; root@localhost (no password) works only through it. */
  socket: string;
  /** Shuts the server down for good and deletes its datadir. */
  stop(): Promise<void>;
  /** Clean shutdown, keeping datadir and port, so restart() brings the same data back. */
  shutdown(): Promise<void>;
  /** SIGKILL: a crash. restart() afterwards runs InnoDB crash recovery. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections hang instead of being refused (timeout tests). */
  pause(): void;
  resume(): void;
  /** Starts the server again on the same datadir and port (shutting it down first if it runs). */
  restart(): Promise<void>;
}

export async function startMariaDb(): Promise<MariaDb> {
  const mariadbd = requireBinary('mariadbd', HINT, SBIN);
  const installDb = requireBinary('mariadb-install-db', HINT, SBIN);
  const admin = requireBinary('mariadb-admin', HINT, SBIN);
  const client = requireBinary('mariadb', HINT, SBIN);

  const dir = await mkdtemp(join(tmpdir(), 'aviary-mariadb-'));
  const datadir = join(dir, 'data');
  const socket = join(dir, 'sock');
  const errLog = join(dir, 'err.log');
  // Our own tmpdir: with the shared /tmp, bootstrap has failed in CI removing its
  // '#sql-temptable-*' files ("Could not remove temporary table ... error: 2").
  const tmp = join(dir, 'tmp');
  // mariadbd refuses to run as root unless told to; as anyone else it runs as itself.
  const asUser = process.getuid?.() === 0 ? ['--user=root'] : [];
  const port = await freePort();
  const adminUser = 'aviary_admin';
  const adminPassword = randomBytes(12).toString('hex');
  let child: ChildProcess | undefined;

  const logTail = async () => (await readFile(errLog, 'utf8').catch(() => '')).trim().split('\n').slice(-20).join('\n');
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const launch = async () => {
    child = spawnServer(mariadbd, [
      '--no-defaults', ...asUser, `--datadir=${datadir}`, `--tmpdir=${tmp}`, `--socket=${socket}`, `--pid-file=${join(dir, 'pid')}`,
      `--port=${port}`, '--bind-address=127.0.0.1', '--skip-name-resolve', `--log-error=${errLog}`,
      '--innodb-buffer-pool-size=32M', '--skip-log-bin', '--performance-schema=OFF',
    ]);
    child.stdout?.resume();
    child.stderr?.resume();
    let lastLog = '';
    const c = child;
    await waitUntil(
      `mariadbd on port ${port}`,
      async () => {
        lastLog = await logTail();
        await run(admin, [`--socket=${socket}`, '-uroot', 'ping'], { timeout: 5_000 });
        return true;
      },
      { gaveUp: () => exitedReason(c, () => lastLog) },
    );
  };

  const shutdown = async () => {
    if (!running()) return;
    const c = child!;
    c.kill('SIGCONT'); // a paused server cannot shut down
    // A clean shutdown flushes InnoDB, so a restart needs no recovery; SIGTERM is the fallback.
    await run(admin, [`--socket=${socket}`, '-uroot', 'shutdown'], { timeout: 30_000 }).catch(() => undefined);
    await waitUntil('mariadbd to exit', async () => !running(), { timeoutMs: 30_000 }).catch(() => killChild(c));
  };

  const stop = async () => {
    await shutdown();
    await rm(dir, { recursive: true, force: true });
  };

  const installSystemTables = () =>
    run(installDb, [
      '--no-defaults', ...asUser, `--datadir=${datadir}`, `--tmpdir=${tmp}`, '--auth-root-authentication-method=normal',
      '--skip-test-db', '--skip-name-resolve',
    ], { timeout: 120_000 });

  try {
    await mkdir(tmp);
    // One retry on a clean datadir: a failed bootstrap leaves half-made system tables behind.
    await installSystemTables().catch(async () => {
      await rm(datadir, { recursive: true, force: true });
      await installSystemTables();
    });
    await launch();
    // With --skip-name-resolve root@localhost matches only the socket, so TCP clients need their own admin.
    const sql =
      `CREATE USER '${adminUser}'@'127.0.0.1' IDENTIFIED BY '${adminPassword}';` +
      `GRANT ALL PRIVILEGES ON *.* TO '${adminUser}'@'127.0.0.1' WITH GRANT OPTION;`;
    await run(client, [`--socket=${socket}`, '-uroot', '-e', sql], { timeout: 10_000 });
  } catch (err) {
    await stop();
    throw new Error(`could not start MariaDB: ${(err as Error).message}`, { cause: err });
  }

  return {
    host: '127.0.0.1',
    port,
    adminUser,
    adminPassword,
    url: `mysql://${adminUser}:${adminPassword}@127.0.0.1:${port}`,
    socket,
    stop,
    shutdown,
    kill: async () => {
      if (running()) {
        const c = child!;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await exited;
      }
    },
    pause: () => void (running() && child!.kill('SIGSTOP')),
    resume: () => void (running() && child!.kill('SIGCONT')),
    restart: async () => {
      await shutdown();
      await launch();
    },
  };
}
