// A private moto_server (DynamoDB, S3, Secrets Manager on one port) for tests
// that talk to "AWS" over real HTTP with the real SDK clients.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exitedReason, freePort, killChild, requireBinary, spawnServer, tailOf, waitUntil } from './ports.js';

const SERIAL = fileURLToPath(new URL('./moto-serial.py', import.meta.url));

export interface MotoServer {
  /** e.g. http://127.0.0.1:41234 — pass as the SDK client's `endpoint`. */
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

// The SDK warns about Node 20 on every client; tests do not need to hear it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export async function startMoto(): Promise<MotoServer> {
  requireBinary(
    'moto_server',
    "install it with: pip install 'moto[server]' (Python's registry is not reachable from this machine, so it must already be there)",
  );
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // moto's own app, served one request at a time (moto-serial.py says why), by the Python that has moto.
  const python = requireBinary('python3', "install Python 3 with moto[server]");
  execFileSync(python, ['-c', 'import moto.moto_server.werkzeug_app'], { stdio: 'ignore' });
  const child = spawnServer(python, [SERIAL, '127.0.0.1', String(port)]);
  const log = tailOf(child.stderr);
  child.stdout?.resume(); // moto logs requests; drain so a full pipe never blocks it
  try {
    // Any HTTP answer means moto's routes are up (the dashboard at / gives 200).
    await waitUntil(
      `moto_server on ${endpoint}`,
      async () => {
        const res = await fetch(endpoint, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer(); // release the connection
        return true;
      },
      { gaveUp: () => exitedReason(child, log) },
    );
  } catch (err) {
    await killChild(child);
    throw err;
  }
  return { endpoint, pid: child.pid!, stop: () => killChild(child) };
}
