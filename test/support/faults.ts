// Two fault-injecting proxies, HTTP for moto and TCP for MariaDB, so a test
// can make any single request fail without stopping a server other tests use.
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createConnection, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { listenLocal } from './ports.js';

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
  const port = await listenLocal(server);
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
