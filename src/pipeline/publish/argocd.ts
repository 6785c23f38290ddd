import { OutsideSystemError, UsageError } from '../shared/errors.js';
import { mask, registerSecret } from '../shared/mask.js';
import { retry, type RetryPolicy } from '../shared/retry.js';

/** Where the fleet's Applications live, and how to ask about them. */
export interface ArgoCdTarget {
  /** e.g. https://argocd.example.com (no trailing /api). */
  readonly url: string;
  /** An Argo CD API token (a JWT): `argocd account generate-token`. */
  readonly token: string;
  /** The AppProject of the fleet's Applications (canary.yaml argocd.project). */
  readonly project: string;
}

const SYSTEM = 'Argo CD';
const REQUEST_TIMEOUT_MS = 15_000;
/** A list of thousands of Applications takes longer to build and send than one. */
const LIST_TIMEOUT_MS = 60_000;
/** How hard to try one look-up: a few quick retries of a busy or briefly unreachable server. */
const ARGOCD_RETRY: RetryPolicy = { retries: 3, minTimeoutMs: 250, maxTimeoutMs: 2_000 };
const DEFAULT_WAIT_MS = 10 * 60_000;
const DEFAULT_INTERVAL_MS = 5_000;
/** Enough of a body to show what the server said without pasting a whole HTML page into the error. */
const MAX_SAID = 200;

/**
 * Whether the Application exists: GET /api/v1/applications/{name}?project=P.
 * The project is always sent because without it Argo CD answers 403 for a
 * missing app (so as not to leak which names exist), and "gone" could not be
 * told from "forbidden". 404 → false, 200 → true; anything else is an
 * OutsideSystemError saying what to fix. Network errors, timeouts, 429 and
 * 5xx are retried.
 */
export async function applicationExists(target: ArgoCdTarget, name: string): Promise<boolean> {
  return (await applicationStatus(target, name, `checking whether Application ${name} exists`)) !== undefined;
}

/** What Argo CD says of an Application: its sync status, the revision synced, its health. */
export interface ApplicationStatus {
  readonly sync: string;
  readonly revision?: string;
  readonly health: string;
}

/** The Application's status, or undefined when it does not exist (the same rules and retries as applicationExists). */
export async function applicationStatus(target: ArgoCdTarget, name: string, step = `reading the status of Application ${name}`): Promise<ApplicationStatus | undefined> {
  const url = applicationUrl(target, name);
  return askArgoCd(target, step, () => getApplication(url, target, name));
}

/**
 * Every Application of the fleet's project with its status, in one request:
 * GET /api/v1/applications?projects=P with `fields`, so a fleet of
 * thousands of Applications is one answer of names and statuses, not
 * thousands of gets (`status.sync.revision` comes only from Argo CD 3.5 on;
 * older servers leave it out). List never answers 403: an Application the
 * token may not read is simply absent.
 */
export async function listApplications(target: ArgoCdTarget): Promise<Map<string, ApplicationStatus>> {
  const fields = ['metadata.name', 'status.sync.status', 'status.sync.revision', 'status.health'].map((f) => `items.${f}`).join(',');
  const url = `${target.url}/api/v1/applications?projects=${encodeURIComponent(target.project)}&fields=${encodeURIComponent(fields)}`;
  return askArgoCd(target, `listing the Applications of project ${target.project}`, async () => {
    const res = await fetch(url, { headers: { Authorization: `Bearer ${target.token}`, Accept: 'application/json' }, signal: AbortSignal.timeout(LIST_TIMEOUT_MS) });
    const body = await res.text();
    const items = (parseJson(body) as { items?: unknown } | undefined)?.items;
    if (res.status === 200 && (items === null || Array.isArray(items))) {
      // With `fields`, Argo CD up to 3.4 answers an empty list as null.
      return new Map((items ?? []).flatMap((item: { metadata?: { name?: unknown } }) => (typeof item?.metadata?.name === 'string' ? [[item.metadata.name, statusOf(item)] as const] : [])));
    }
    if (res.status === 200 || res.status === 404) refuse(notTheApi(target, res.status, body));
    return failWith(res.status, explainStatus(res.status, said(body), target, `the Applications of project ${target.project}`));
  });
}

/**
 * Polls the Application until it is Synced at `revision` (the manifests
 * commit just published) and Healthy, or `timeoutMs` passes; returns the last
 * status seen (undefined: it does not exist). An error (bad token, no
 * access) is thrown at once.
 */
export async function waitUntilSyncedAt(
  target: ArgoCdTarget,
  name: string,
  revision: string | undefined,
  { timeoutMs = DEFAULT_WAIT_MS, intervalMs = DEFAULT_INTERVAL_MS, now = Date.now }: { timeoutMs?: number; intervalMs?: number; now?: () => number } = {},
): Promise<{ readonly ready: boolean; readonly status?: ApplicationStatus }> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const status = await applicationStatus(target, name);
    const ready = status?.sync === 'Synced' && status.health === 'Healthy' && (revision === undefined || status.revision === revision);
    const left = deadline - now();
    if (ready || left <= 0) return { ready, ...(status ? { status } : {}) };
    await sleep(Math.min(intervalMs, left));
  }
}

/**
 * Asks Argo CD to delete the Application and, with it, every object it
 * deployed: DELETE /api/v1/applications/{name}?cascade=true (foreground,
 * so the Application goes last). Resolves once the deletion is requested;
 * waitUntilGone tells when it is done. An Application already gone (404)
 * is fine; anything else that is not transient is an OutsideSystemError
 * saying what to fix.
 */
export async function deleteApplication(target: ArgoCdTarget, name: string): Promise<void> {
  const url = `${applicationUrl(target, name)}&cascade=true&propagationPolicy=foreground`;
  await askArgoCd(target, `deleting Application ${name} with its objects`, async () => {
    const res = await fetch(url, { method: 'DELETE', headers: { Authorization: `Bearer ${target.token}`, Accept: 'application/json' }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = await res.text();
    if (res.status === 200 && parseJson(body) !== undefined) return;
    if (res.status === 404 && isNotFound(body)) return;
    if (res.status === 200 || res.status === 404) refuse(notTheApi(target, res.status, body));
    failWith(res.status, explainStatus(res.status, said(body), target, `Application ${name}`, 'delete'));
  });
}

/**
 * Polls applicationExists every `intervalMs` until the Application is gone or
 * `timeoutMs` passes; resolves true when gone, false on timeout. An error
 * (bad token, no access) is thrown at once: waiting longer would not fix it.
 */
export async function waitUntilGone(
  target: ArgoCdTarget,
  name: string,
  { timeoutMs = DEFAULT_WAIT_MS, intervalMs = DEFAULT_INTERVAL_MS, now = Date.now }: { timeoutMs?: number; intervalMs?: number; now?: () => number } = {},
): Promise<boolean> {
  const deadline = now() + timeoutMs;
  for (;;) {
    if (!(await applicationExists(target, name))) return true;
    const left = deadline - now();
    if (left <= 0) return false;
    // Never sleep past the deadline, so the last look happens right at it rather than an interval later.
    await sleep(Math.min(intervalMs, left));
  }
}

/**
 * The target from flags, else the environment (AVIARY_ARGOCD_URL,
 * AVIARY_ARGOCD_TOKEN); undefined when neither URL nor token is set, so
 * callers can tell "not configured" from "half configured", which is a
 * UsageError naming the missing half.
 */
export function argoCdTarget(opts: { url?: string; token?: string; project: string }, env: NodeJS.ProcessEnv = process.env): ArgoCdTarget | undefined {
  const url = opts.url || env.AVIARY_ARGOCD_URL || undefined;
  const token = opts.token || env.AVIARY_ARGOCD_TOKEN || undefined;
  registerSecret(token);
  if (!url && !token) return undefined;
  if (!token) throw new UsageError(`an Argo CD URL (${url}) is set but no token: set AVIARY_ARGOCD_TOKEN to a token from \`argocd account generate-token\``);
  if (!url) throw new UsageError('an Argo CD token is set but no URL: set AVIARY_ARGOCD_URL to the Argo CD server, e.g. https://argocd.example.com');
  if (!/^https?:\/\/[^/\s]+/i.test(url.trim())) throw new UsageError(`the Argo CD URL ${url} is not an http(s) address: set AVIARY_ARGOCD_URL like https://argocd.example.com`);
  return { url: normalizeUrl(url), token, project: opts.project };
}

/** An answer from the server that says what is wrong; unless `transient` (429, 5xx), retrying it would get the same answer. */
class ArgoCdAnswer extends Error {
  constructor(
    message: string,
    readonly transient = false,
  ) {
    super(message);
  }
}

/** Network errors, timeouts, 429 and 5xx are worth another try; any other answer is final. */
function isTransientArgoCdError(error: unknown): boolean {
  return error instanceof ArgoCdAnswer ? error.transient : true;
}

async function getApplication(url: string, target: ArgoCdTarget, name: string): Promise<ApplicationStatus | undefined> {
  const res = await fetch(url, {
    headers: { Authorization: `Bearer ${target.token}`, Accept: 'application/json' },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = await res.text();
  if (res.status === 200) return isApplicationNamed(body, name) ? statusOf(parseJson(body)) : refuse(notTheApi(target, res.status, body));
  if (res.status === 404) return isNotFound(body) ? undefined : refuse(notTheApi(target, res.status, body));
  return failWith(res.status, explainStatus(res.status, said(body), target, `Application ${name}`));
}

/**
 * One exchange with Argo CD, retried while transient (network errors,
 * timeouts, 429, 5xx); whatever stops it is an OutsideSystemError for `step`,
 * with the token masked.
 */
async function askArgoCd<T>(target: ArgoCdTarget, step: string, attempt: () => Promise<T>): Promise<T> {
  registerSecret(target.token);
  try {
    return await retry(ARGOCD_RETRY, isTransientArgoCdError, attempt);
  } catch (error) {
    const reason = error instanceof ArgoCdAnswer ? error.message : `${describeNetworkError(error)} (after retries; Argo CD at ${target.url}): check AVIARY_ARGOCD_URL and that the server is reachable`;
    throw new OutsideSystemError(SYSTEM, step, new Error(mask(reason)));
  }
}

/** An answer that says what is wrong: worth another try when transient (429, 5xx), final otherwise. */
function failWith(status: number, message: string): never {
  throw new ArgoCdAnswer(message, status >= 500 || status === 429);
}

function refuse(message: string): never {
  throw new ArgoCdAnswer(message);
}

/** `subject` is what was asked about, in words: `Application site-shop`. */
function explainStatus(status: number, said: string, { url, project }: ArgoCdTarget, subject: string, action: 'get' | 'delete' = 'get'): string {
  switch (status) {
    case 401:
      return `Argo CD refused the token (401 ${said}): it is invalid or expired; check AVIARY_ARGOCD_TOKEN (create one with \`argocd account generate-token\`).`;
    case 403:
      return action === 'get'
        ? `Argo CD denied access (403 ${said}): the token's account lacks \`applications, get\` on project ${project} (RBAC policy, e.g. \`p, role:aviary, applications, get, ${project}/*, allow\`), or the Application is not in project ${project}.`
        : `Argo CD denied the deletion (403 ${said}): the token's account lacks \`applications, delete\` and, since Argo CD 3.0, \`applications, delete/*\` for the objects, on project ${project} (e.g. \`p, role:aviary, applications, delete, ${project}/*, allow\` and \`p, role:aviary, applications, delete/*, ${project}/*, allow\`).`;
    default: {
      const retried = status >= 500 || status === 429 ? 'after retries; ' : '';
      return `Argo CD answered HTTP ${status} ${said} for ${subject} (${retried}Argo CD at ${url}).`;
    }
  }
}

/**
 * A 404 or 200 that is not Argo CD's JSON means the URL points somewhere else
 * (a proxy, the UI behind a different root path). Taking such a 404 as "gone"
 * would let a typo in the URL delete a live site's data, so it is an error.
 */
function notTheApi({ url }: ArgoCdTarget, status: number, body: string): string {
  return `${url} answered HTTP ${status} but not as the Argo CD API (${said(body) || 'empty body'}): check AVIARY_ARGOCD_URL (the server's address, without /api).`;
}

/** Argo CD's NotFound: gRPC code 5 in its JSON error body. */
function isNotFound(body: string): boolean {
  return (parseJson(body) as { code?: unknown } | undefined)?.code === 5;
}

function statusOf(app: unknown): ApplicationStatus {
  const status = (app as { status?: { sync?: { status?: string; revision?: string }; health?: { status?: string } } }).status;
  return { sync: status?.sync?.status ?? 'Unknown', ...(status?.sync?.revision ? { revision: status.sync.revision } : {}), health: status?.health?.status ?? 'Unknown' };
}

function isApplicationNamed(body: string, name: string): boolean {
  return (parseJson(body) as { metadata?: { name?: unknown } } | undefined)?.metadata?.name === name;
}

/** What the server said: Argo CD's own message when the body is its JSON error, else the start of the body. */
function said(body: string): string {
  const message = (parseJson(body) as { message?: unknown } | undefined)?.message;
  const text = typeof message === 'string' ? message : body.replace(/\s+/g, ' ').trim();
  return text.length > MAX_SAID ? `${text.slice(0, MAX_SAID)}…` : text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** fetch reports every network failure as "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND …) is in its cause. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? error.message;
}

function applicationUrl({ url, project }: ArgoCdTarget, name: string): string {
  return `${url}/api/v1/applications/${encodeURIComponent(name)}?project=${encodeURIComponent(project)}`;
}

/** Tolerates a trailing slash or /api(/v1), which people copy from the API docs. */
function normalizeUrl(url: string): string {
  return url.trim().replace(/\/+$/, '').replace(/\/api(?:\/v1)?$/, '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
