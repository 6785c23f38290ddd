// A protocol-level fake of the Argo CD REST routes Aviary reads, so the real
// client runs unchanged against it (`url: server.url`). Authentication, the
// 403-versus-404 rules of Get, status codes and error bodies follow Argo CD
// 3.x (see /work/shared/reference/argocd-api-and-routing.md, section 1);
// Applications live in memory and are exposed for setup and assertions.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenLocal } from './ports.js';

export interface FakeApp {
  project: string;
  labels?: Record<string, string>;
  /** status.sync.status; Synced when unset. */
  sync?: 'Synced' | 'OutOfSync' | 'Unknown';
  /** status.health.status; Healthy when unset. */
  health?: 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
  /** status.sync.revision: the commit of the manifests repo the sync compared with; absent when unset. */
  revision?: string;
}

export interface RecordedArgoCdRequest { method: string; path: string; authorization?: string }

export interface ArgoCdServer {
  /** Pass as ArgoCdTarget.url. */
  url: string;
  /** Applications by name, all in the control-plane namespace. */
  apps: Map<string, FakeApp>;
  /** The app disappears after that many more GETs of it, like Argo CD finishing a cascade delete; until then it shows a deletionTimestamp. */
  deleteAfter(name: string, gets: number): void;
  /** The next `count` requests get `status` (default 503) before anything else is checked: retry tests. */
  failNext(count?: number, status?: number): void;
  /**
   * How many GETs after a DELETE the app stays readable (deleting) before it
   * is gone, like the controller finishing a cascade; undefined (the
   * default): never, like a finalizer that does not complete.
   */
  finishDeletesAfter(gets: number | undefined): void;
  /** Every DELETE that reached an existing app, in order. */
  deleted: { name: string; cascade: string | null; propagationPolicy: string | null; project: string | null }[];
  requests: RecordedArgoCdRequest[];
  stop(): Promise<void>;
}

/** Argo CD's own namespace: an unset `appNamespace` means this one, and no other is enabled here. */
const CONTROL_PLANE_NAMESPACE = 'argocd';
const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** gRPC status codes Argo CD puts in error bodies, with the HTTP status grpc-gateway maps each to. */
const GRPC = {
  Unknown: [2, 500],
  InvalidArgument: [3, 400],
  NotFound: [5, 404],
  PermissionDenied: [7, 403],
  Unavailable: [14, 503],
  Unauthenticated: [16, 401],
} as const;

class GrpcError extends Error {
  constructor(readonly code: keyof typeof GRPC, message: string) { super(message); }
}
const permissionDenied = () => new GrpcError('PermissionDenied', 'permission denied');
const appNotFound = (name: string) => new GrpcError('NotFound', `applications.argoproj.io "${name}" not found`);

/** A token shaped like Argo CD's (three base64url parts), for tests; its signature is not real. */
export function fakeJwt(subject = 'aviary', salt = ''): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const payload = { iss: 'argocd', sub: `${subject}:apiKey`, jti: `${subject}-${salt}`, iat: 1_700_000_000 };
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}.${Buffer.from(`sig-${subject}-${salt}`).toString('base64url')}`;
}

/**
 * `project`, when set, is the one AppProject the token's account may `get`
 * Applications in (its RBAC); the account may read every project otherwise.
 */
export async function startArgoCdServer({ token, project }: { token: string; project?: string }): Promise<ArgoCdServer> {
  if (!JWT.test(token)) throw new Error('startArgoCdServer: token must look like a JWT (use fakeJwt()), as Argo CD ignores any other bearer value');
  const apps = new Map<string, FakeApp>();
  const requests: RecordedArgoCdRequest[] = [];
  const deletions = new Map<string, { left: number; at: string }>();
  const created = new Map<string, string>();
  let resourceVersion = 1000;
  let failures = { count: 0, status: 503 };
  let deleteGets: number | undefined;
  const deleted: ArgoCdServer['deleted'] = [];
  let base = '';

  const mayGet = (appProject: string) => project === undefined || project === appProject;

  const toJson = (name: string, app: FakeApp) => {
    const deleting = deletions.get(name);
    if (!created.has(name)) created.set(name, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
    return {
      metadata: {
        name, namespace: CONTROL_PLANE_NAMESPACE, labels: app.labels ?? {}, finalizers: [RESOURCES_FINALIZER],
        resourceVersion: String(resourceVersion), creationTimestamp: created.get(name),
        ...(deleting ? { deletionTimestamp: deleting.at } : {}),
      },
      spec: { project: app.project },
      status: { sync: { status: app.sync ?? 'Synced', ...(app.revision ? { revision: app.revision } : {}) }, health: { status: app.health ?? 'Healthy' } },
    };
  };

  // Counts a GET towards a pending cascade delete; the app is removed once the count runs out.
  const countGet = (name: string) => {
    const pending = deletions.get(name);
    if (!pending) return;
    if (--pending.left > 0) return;
    deletions.delete(name);
    apps.delete(name);
    resourceVersion++;
  };

  // Get's RBAC and existence checks, in the order of getAppEnforceRBAC (server/application/application.go).
  const getApp = (name: string, url: URL) => {
    checkNamespace(url);
    const given = projectsOf(url, 'project', 'projects');
    if (given.length > 1) throw new GrpcError('InvalidArgument', 'multiple projects specified - the get endpoint accepts either zero or one project');
    const wanted = given[0];
    if (wanted !== undefined && !mayGet(wanted)) throw permissionDenied();
    const app = apps.get(name);
    // Without a project, absent and forbidden look the same so that names cannot be probed.
    if (!app) throw wanted === undefined ? permissionDenied() : appNotFound(name);
    if (!mayGet(app.project)) throw wanted === undefined ? permissionDenied() : appNotFound(name);
    if (wanted !== undefined && app.project !== wanted) throw appNotFound(name);
    const json = toJson(name, app);
    countGet(name);
    return json;
  };

  // Delete checks RBAC and existence as Get does (getAppEnforceRBAC with the delete action), then the
  // cascade options, then marks the app deleting; the controller removes it later.
  const deleteApp = (name: string, url: URL) => {
    checkNamespace(url);
    const wanted = url.searchParams.get('project') ?? undefined;
    if (wanted !== undefined && !mayGet(wanted)) throw permissionDenied();
    const app = apps.get(name);
    if (!app || !mayGet(app.project)) throw wanted === undefined ? permissionDenied() : appNotFound(name);
    if (wanted !== undefined && app.project !== wanted) throw appNotFound(name);
    const cascade = url.searchParams.get('cascade');
    const propagationPolicy = url.searchParams.get('propagationPolicy');
    if (propagationPolicy !== null && !['foreground', 'background'].includes(propagationPolicy)) throw new GrpcError('InvalidArgument', `invalid propagation policy: ${propagationPolicy}`);
    if (cascade === 'false' && propagationPolicy !== null) throw new GrpcError('InvalidArgument', 'cannot set propagation policy when cascading is disabled');
    deleted.push({ name, cascade, propagationPolicy, project: wanted ?? null });
    const pending = deletions.get(name);
    if (!pending || pending.left === Infinity) deletions.set(name, { left: deleteGets ?? Infinity, at: pending?.at ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });
    resourceVersion++;
    return {};
  };

  // List never answers 403: what the caller may not get is silently left out.
  const listApps = (url: URL) => {
    checkNamespace(url);
    const projects = projectsOf(url, 'projects', 'project');
    const selector = parseSelector(url.searchParams.get('selector') ?? '');
    const name = url.searchParams.get('name');
    const items = [...apps.entries()]
      .filter(([, app]) => mayGet(app.project) && (!projects.length || projects.includes(app.project)))
      .filter(([n, app]) => (!name || n === name) && selector(app.labels ?? {}))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([n, app]) => toJson(n, app));
    const fields = url.searchParams.get('fields');
    if (!fields) return { metadata: { resourceVersion: String(resourceVersion) }, items };
    // `fields` keeps only whitelisted paths (3.5's list) and answers an empty list as null, as fwd.go does.
    const wanted = fields.split(',').map((f) => f.trim().replace(/^items\./, '')).filter((f) => LIST_FIELDS.includes(f));
    const picked = items.map((item) => {
      const out: Record<string, unknown> = {};
      for (const path of wanted) copyPath(item, out, path.split('.'));
      return out;
    });
    return { metadata: { resourceVersion: String(resourceVersion) }, items: picked.length ? picked : null };
  };

  const route = (method: string, url: URL): (() => unknown) | undefined => {
    const m = /^\/api\/v1\/applications\/([^/]+)$/.exec(url.pathname);
    if (method === 'DELETE') return m ? () => deleteApp(decodeURIComponent(m[1]!), url) : undefined;
    if (method !== 'GET') return undefined;
    if (url.pathname === '/api/v1/applications') return () => listApps(url);
    if (m) return () => getApp(decodeURIComponent(m[1]!), url);
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    const method = req.method ?? 'GET';
    requests.push({ method, path: url.pathname + url.search, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const sendJson = (status: number, payload: unknown) =>
      void res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(payload));
    const sendError = (err: GrpcError) => {
      const [code, status] = GRPC[err.code];
      sendJson(status, { error: err.message, code, message: err.message });
    };
    if (failures.count > 0) {
      failures.count--;
      const message = 'the server is temporarily unavailable';
      return sendJson(failures.status, { error: message, code: failures.status === 503 ? GRPC.Unavailable[0] : GRPC.Unknown[0], message });
    }
    // Everything outside /api is the web UI, which answers any path with its index page.
    if (!url.pathname.startsWith('/api/')) return void res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!doctype html><html><head><title>Argo CD</title></head><body><div id="app"></div></body></html>');
    const run = route(method, url);
    // grpc-gateway answers an unknown route before authentication, in plain text.
    if (!run) return void res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not Found\n');
    try {
      authenticate(req, token);
      sendJson(200, run());
    } catch (err) {
      if (!(err instanceof GrpcError)) throw err;
      sendError(err);
    }
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: `fake Argo CD server bug: ${(err as Error).message}`, code: 2 }));
    }
  });
  base = `http://127.0.0.1:${await listenLocal(server)}`;

  return {
    url: base, apps, requests,
    deleteAfter: (name, gets) => {
      if (gets <= 0) return void apps.delete(name);
      deletions.set(name, { left: gets, at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });
    },
    failNext: (count = 1, status = 503) => void (failures = { count, status }),
    finishDeletesAfter: (gets) => void (deleteGets = gets),
    deleted,
    stop: async () => {
      await closeServer(server);
    },
  };
}

/**
 * The token Argo CD would use: gRPC metadata is not reachable over HTTP, so
 * the Bearer header when its value parses as a JWT, else the argocd.token
 * cookie. A bearer value that is not a JWT counts as no token at all.
 */
function authenticate(req: IncomingMessage, token: string): void {
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
  const cookie = /(?:^|;\s*)argocd\.token=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  const given = bearer && JWT.test(bearer) ? bearer : cookie;
  if (!given) throw new GrpcError('Unauthenticated', 'no session information');
  if (given !== token) throw new GrpcError('Unauthenticated', 'invalid session: token signature is invalid: signature is invalid');
}

function checkNamespace(url: URL): void {
  const ns = url.searchParams.get('appNamespace');
  if (ns && ns !== CONTROL_PLANE_NAMESPACE) throw permissionDenied();
}

/** The paths list's `fields` honours (Argo CD 3.5's whitelist, the part Aviary's statuses touch). */
const LIST_FIELDS = ['metadata.name', 'metadata.labels', 'spec', 'status.sync.status', 'status.sync.revision', 'status.health'];

function copyPath(from: unknown, to: Record<string, unknown>, path: string[]): void {
  const [key, ...rest] = path;
  const value = (from as Record<string, unknown> | undefined)?.[key!];
  if (value === undefined) return;
  if (rest.length === 0) return void (to[key!] = value);
  const next = (to[key!] ??= {}) as Record<string, unknown>;
  copyPath(value, next, rest);
}

/** The repeatable project filter; `preferred` wins when both spellings are given, as in Argo CD. */
function projectsOf(url: URL, preferred: string, other: string): string[] {
  const first = url.searchParams.getAll(preferred).filter(Boolean);
  return first.length ? first : url.searchParams.getAll(other).filter(Boolean);
}

/**
 * A Kubernetes label selector (`a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`,
 * `a notin (x,y)`, comma-separated). Argo CD turns a parse error into a plain
 * Go error, so it is a 500 with code 2, not a 400.
 */
function parseSelector(text: string): (labels: Record<string, string>) => boolean {
  const parts = splitTopLevel(text.trim());
  const tests = parts.map((part) => parseRequirement(part.trim()));
  return (labels) => tests.every((t) => t(labels));
}

function splitTopLevel(text: string): string[] {
  if (!text) return [];
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;

function parseRequirement(part: string): (labels: Record<string, string>) => boolean {
  let m: RegExpExecArray | null;
  if ((m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`).exec(part))) {
    const [key, op, value] = [m[1]!, m[3]!, m[4]!];
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  if ((m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`).exec(part))) {
    const [key, op] = [m[1]!, m[3]!];
    const values = m[4]!.split(',').map((v) => v.trim());
    if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) throw selectorError(part);
    return op === 'in' ? (l) => key in l && values.includes(l[key]!) : (l) => !(key in l) || !values.includes(l[key]!);
  }
  if ((m = new RegExp(`^(!?)\\s*(${KEY})$`).exec(part))) {
    const [negated, key] = [m[1] === '!', m[2]!];
    return (l) => (key in l) !== negated;
  }
  throw selectorError(part);
}

function selectorError(part: string): GrpcError {
  return new GrpcError('Unknown', `error parsing the selector: unable to parse requirement: ${JSON.stringify(part)}`);
}
