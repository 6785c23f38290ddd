// A protocol-level fake of the GitHub REST routes Aviary uses, so the real
// @octokit/rest client runs unchanged against it (`baseUrl: server.url`).
// Status codes, error bodies and Link pagination follow GitHub's; state lives
// in memory and is exposed for assertions.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll } from 'vitest';
import { closeServer, listenLocal } from './ports.js';

export interface FakeUser { login: string; id: number; type: 'User' }
export interface FakeRepo { id: number; name: string; full_name: string; owner: FakeUser; private: false; html_url: string; url: string }
export interface FakeRef { label: string; ref: string; sha: string; user: FakeUser; repo: FakeRepo }
export interface FakePull {
  id: number; node_id: string; number: number; url: string; html_url: string; issue_url: string;
  state: 'open' | 'closed'; title: string; body: string | null; draft: boolean; merged: boolean;
  merged_at: string | null; closed_at: string | null; created_at: string; updated_at: string;
  user: FakeUser; head: FakeRef; base: FakeRef; maintainer_can_modify: boolean;
}
export interface FakeComment {
  id: number; node_id: string; url: string; html_url: string; issue_url: string; body: string;
  user: FakeUser; created_at: string; updated_at: string; author_association: 'OWNER';
}
export interface RecordedRequest { method: string; path: string; body: unknown }

export interface GitHubServer {
  /** Pass as Octokit's `baseUrl`. */
  url: string;
  pulls: FakePull[];
  comments: FakeComment[];
  requests: RecordedRequest[];
  /** The next `count` requests get `status` (default 502) before anything else is checked: retry tests. */
  failNext(count?: number, status?: number): void;
  stop(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';
class HttpError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) { super(String(body.message)); }
}
const validation = (doc: string, errors: object[]) =>
  new HttpError(422, { message: 'Validation Failed', errors, documentation_url: `${DOCS}/${doc}`, status: '422' });
const notFound = () => new HttpError(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'); // GitHub's timestamps have no millis

/**
 * A server for the tests of a file (or describe block): started before them,
 * stopped after. It is filled in by that beforeAll: read it in tests and hooks.
 */
export function useGitHubServer(options: { token: string; login?: string }): GitHubServer {
  const server = {} as GitHubServer;
  beforeAll(async () => {
    Object.assign(server, await startGitHubServer(options));
  });
  afterAll(() => server.stop?.());
  return server;
}

export async function startGitHubServer({ token, login = 'aviary-bot' }: { token: string; login?: string }): Promise<GitHubServer> {
  const pulls: FakePull[] = [];
  const comments: FakeComment[] = [];
  const requests: RecordedRequest[] = [];
  const numbers = new Map<string, number>(); // issues and pulls share one sequence per repo
  let ids = 1000;
  let failures: { count: number; status: number } = { count: 0, status: 502 };
  let base = '';

  const user = (name: string): FakeUser => ({ login: name, id: parseInt(sha1(name).slice(0, 7), 16), type: 'User' });
  const repo = (o: string, r: string): FakeRepo => ({
    id: 1, name: r, full_name: `${o}/${r}`, owner: user(o), private: false,
    html_url: `${base}/${o}/${r}`, url: `${base}/repos/${o}/${r}`,
  });
  const ref = (o: string, r: string, owner: string, branch: string): FakeRef => ({
    label: `${owner}:${branch}`, ref: branch, user: user(owner), repo: repo(o, r),
    sha: sha1(`${owner}:${branch}`), // a stable fake head commit
  });
  const findPull = (o: string, r: string, n: number) =>
    pulls.find((p) => p.base.repo.full_name === `${o}/${r}` && p.number === n) ?? null;
  const duplicate = (p: Pick<FakePull, 'head' | 'base' | 'number'>) =>
    pulls.some((q) => q.state === 'open' && q.number !== p.number && q.base.repo.full_name === p.base.repo.full_name
      && q.head.label === p.head.label && q.base.ref === p.base.ref);
  const alreadyExists = (label: string) =>
    validation('pulls/pulls#create-a-pull-request', [
      { resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${label}.` },
    ]);

  // GitHub pages with per_page (default 30, max 100) and page, and says where the rest is in `Link`.
  const paginate = <T>(items: T[], url: URL, res: ServerResponse): T[] => {
    const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page')) || 30, 1), 100);
    const page = Math.max(Number(url.searchParams.get('page')) || 1, 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (p: number, rel: string) => {
      const u = new URL(url.pathname + url.search, base);
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return `<${u}>; rel="${rel}"`;
    };
    const links = [
      ...(page > 1 ? [link(page - 1, 'prev')] : []), ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
      ...(page > 1 ? [link(1, 'first')] : []),
    ];
    if (links.length) res.setHeader('Link', links.join(', '));
    return items.slice((page - 1) * perPage, page * perPage);
  };

  const route = (method: string, url: URL, body: Record<string, any>, res: ServerResponse): [number, unknown] => {
    const p = url.pathname;
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^\/repos\/([^/]+)\/([^/]+)\/pulls$/))) {
      const [, o, r] = m as unknown as [string, string, string];
      if (method === 'GET') {
        const state = url.searchParams.get('state') ?? 'open';
        // Like GitHub, a head filter without "owner:" is ignored rather than matched against branch names.
        const head = url.searchParams.get('head');
        const baseRef = url.searchParams.get('base');
        const found = pulls
          .filter((x) => x.base.repo.full_name === `${o}/${r}` && (state === 'all' || x.state === state))
          .filter((x) => !head?.includes(':') || x.head.label === head)
          .filter((x) => !baseRef || x.base.ref === baseRef)
          .reverse(); // newest first, GitHub's default sort
        return [200, paginate(found, url, res)];
      }
      if (method === 'POST') {
        const missing = ['title', 'head', 'base'].filter((f) => typeof body[f] !== 'string' || !body[f]);
        if (missing.length) {
          throw validation('pulls/pulls#create-a-pull-request',
            missing.map((field) => ({ resource: 'PullRequest', code: 'missing_field', field })));
        }
        const [headOwner, headRef] = body.head.includes(':') ? body.head.split(':', 2) : [o, body.head];
        const number = (numbers.get(`${o}/${r}`) ?? 0) + 1;
        const at = now();
        const pull: FakePull = {
          id: ++ids, node_id: `PR_${ids}`, number, url: `${base}/repos/${o}/${r}/pulls/${number}`,
          html_url: `${base}/${o}/${r}/pull/${number}`, issue_url: `${base}/repos/${o}/${r}/issues/${number}`,
          state: 'open', title: body.title, body: body.body ?? null, draft: Boolean(body.draft), merged: false,
          merged_at: null, closed_at: null, created_at: at, updated_at: at, user: user(login),
          head: ref(o, r, headOwner, headRef), base: ref(o, r, o, body.base), maintainer_can_modify: body.maintainer_can_modify ?? false,
        };
        if (duplicate(pull)) throw alreadyExists(pull.head.label);
        numbers.set(`${o}/${r}`, number);
        pulls.push(pull);
        return [201, pull];
      }
    }
    if ((m = p.match(/^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/))) {
      const pull = findPull(m[1]!, m[2]!, Number(m[3]));
      if (!pull) throw notFound();
      if (method === 'GET') return [200, pull];
      if (method === 'PATCH') {
        if (body.state === 'open' && pull.state === 'closed' && duplicate(pull)) throw alreadyExists(pull.head.label);
        if (typeof body.title === 'string') pull.title = body.title;
        if (body.body !== undefined) pull.body = body.body;
        if (typeof body.base === 'string') pull.base = ref(m[1]!, m[2]!, m[1]!, body.base);
        if (body.state === 'open' || body.state === 'closed') {
          pull.closed_at = body.state === 'closed' ? now() : null;
          pull.state = body.state;
        }
        pull.updated_at = now();
        return [200, pull];
      }
    }
    if ((m = p.match(/^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/))) {
      const pull = findPull(m[1]!, m[2]!, Number(m[3]));
      if (!pull) throw notFound();
      if (method === 'GET') return [200, paginate(comments.filter((c) => c.issue_url === pull.issue_url), url, res)];
      if (method === 'POST') {
        if (typeof body.body !== 'string') {
          throw validation('issues/comments#create-an-issue-comment', [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }]);
        }
        const at = now();
        const id = ++ids;
        const comment: FakeComment = {
          id, node_id: `IC_${id}`, url: `${base}/repos/${m[1]}/${m[2]}/issues/comments/${id}`,
          html_url: `${pull.html_url}#issuecomment-${id}`, issue_url: pull.issue_url, body: body.body,
          user: user(login), created_at: at, updated_at: at, author_association: 'OWNER',
        };
        comments.push(comment);
        return [201, comment];
      }
    }
    if ((m = p.match(/^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/))) {
      const i = comments.findIndex((c) => c.id === Number(m![3]) && c.url.includes(`/repos/${m![1]}/${m![2]}/`));
      if (i < 0) throw notFound();
      const comment = comments[i]!;
      if (method === 'GET') return [200, comment];
      if (method === 'PATCH') {
        if (typeof body.body === 'string') comment.body = body.body;
        comment.updated_at = now();
        return [200, comment];
      }
      if (method === 'DELETE') {
        comments.splice(i, 1);
        return [204, undefined];
      }
    }
    throw notFound();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const send = (status: number, payload: unknown) => {
      res.setHeader('X-GitHub-Request-Id', `FAKE:${requests.length}`);
      if (payload === undefined) return void res.writeHead(status).end();
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(payload));
    };
    let body: Record<string, any> = {};
    let badJson = false;
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      badJson = true;
    }
    requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, body: badJson ? raw : body });
    if (failures.count > 0) {
      failures.count--;
      return send(failures.status, { message: 'Server Error', documentation_url: DOCS, status: String(failures.status) });
    }
    const auth = /^(?:token|bearer) (.+)$/i.exec(req.headers.authorization ?? '');
    if (auth?.[1] !== token) return send(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
    if (badJson) return send(400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' });
    try {
      const [status, payload] = route(req.method ?? 'GET', url, body, res);
      send(status, payload);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      res.removeHeader('Link');
      send(err.status, err.body);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ message: `fake GitHub server bug: ${err.message}` }));
    });
  });
  base = `http://127.0.0.1:${await listenLocal(server)}`;

  return {
    url: base, pulls, comments, requests,
    failNext: (count = 1, status = 502) => void (failures = { count, status }),
    stop: async () => {
      await closeServer(server);
    },
  };
}
