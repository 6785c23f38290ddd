// A real smart-HTTP git remote with basic auth: node:http in front of the
// `git http-backend` CGI that ships with git, so clone, fetch and push go
// through the same protocol (and auth failures) as a hosted remote.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenLocal, requireBinary } from './ports.js';

export interface GitHttpServer {
  /** http://127.0.0.1:port — a bare repo ROOT/x.git is at `${url}/x.git`. */
  url: string;
  /** HTTP requests received so far, including refused ones. */
  readonly requests: number;
  stop(): Promise<void>;
}

export interface GitHttpServerOptions {
  /** Directory holding the bare repos (GIT_PROJECT_ROOT). */
  root: string;
  user: string;
  password: string;
}

export async function startGitHttpServer({ root, user, password }: GitHttpServerOptions): Promise<GitHttpServer> {
  const git = requireBinary('git', 'install git (Debian package git); `git http-backend` ships with it');
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const cgis = new Set<ChildProcess>();
  let requests = 0;

  // Inherited GIT_* variables (GIT_DIR from a hook, say) would redirect the backend: drop them.
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="aviary-test-git"', 'Content-Type': 'text/plain' });
      res.end('Unauthorized\n');
      req.resume();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : (v ?? '');
    };
    const fail = (msg: string) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`${msg}\n`);
    };
    const cgi = spawn(git, ['http-backend'], {
      env: {
        ...baseEnv,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        // http-backend enables receive-pack when REMOTE_USER is set; say so explicitly too.
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.receivepack',
        GIT_CONFIG_VALUE_0: 'true',
        GATEWAY_INTERFACE: 'CGI/1.1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: header('content-type'),
        // Absent for chunked bodies (big pushes); http-backend then reads to EOF.
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: header('content-length') } : {}),
        HTTP_CONTENT_ENCODING: header('content-encoding'), // git gzips request bodies
        GIT_PROTOCOL: header('git-protocol'), // protocol v2 negotiation
        REMOTE_USER: user,
        REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    cgis.add(cgi);
    cgi.once('exit', () => cgis.delete(cgi));
    let stderr = '';
    cgi.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    cgi.on('error', (err) => fail(`git http-backend failed to start: ${err.message}`));
    req.pipe(cgi.stdin);
    cgi.stdin.on('error', () => undefined); // the CGI may exit before reading the whole body

    // CGI output: header lines, a blank line, then the body to stream through.
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
      if (end < 0) return;
      cgi.stdout.off('data', onData);
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i <= 0) continue;
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
        else res.appendHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end));
      cgi.stdout.pipe(res);
    };
    cgi.stdout.on('data', onData);
    cgi.once('close', (code) => {
      if (!res.headersSent) fail(`git http-backend exited with ${code} before sending headers: ${stderr.trim()}`);
    });
  };

  const server = createServer(handle);
  const port = await listenLocal(server);

  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    stop: async () => {
      for (const cgi of cgis) cgi.kill('SIGKILL');
      await closeServer(server);
    },
  };
}
