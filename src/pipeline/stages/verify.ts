import { request as httpRequest, type IncomingMessage } from 'node:http';
import pMap from 'p-map';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { CANARY_PIN_HEADER, canaryColorOf, siteNames } from '../../sites/names.js';
import type { Canary, Color, Site } from '../../sites/types.js';
import { UsageError } from '../shared/errors.js';
import { waitUntilSyncedAt, type ApplicationStatus, type ArgoCdTarget } from '../publish/argocd.js';

/**
 * `aviary verify`: is each site served as published? An HTTP check of the
 * host that shows the color asked for, and, with Argo CD, its Application
 * Synced at the published manifests commit and Healthy.
 */

export interface HttpExpectations {
  /** @default 200 */
  readonly status: number;
  /** Text the page must contain. @default none */
  readonly text?: string;
  /** The longest a whole answer may take. @default 5 s */
  readonly budgetMs: number;
}

export interface VerifyOptions {
  readonly expect: HttpExpectations;
  /**
   * Verify the site as its `color` serves it: its public host for its traffic
   * color (pinned to it when the traffic is split), else its preview host for
   * its `service` color. @default the public host (each color of a split)
   */
  readonly color?: Color;
  /** `HOST:PORT` → where to connect instead (curl's --resolve and --connect-to); the Host header and TLS name stay HOST. */
  readonly resolve: ReadonlyMap<string, Endpoint>;
  readonly argocd?: { readonly target: ArgoCdTarget; readonly application: (site: Site) => string; readonly revision?: string; readonly waitMs: number };
}

export type Outcome = 'ok' | 'failed' | 'unreachable';

/** One pinned request's answer. */
export interface ColorAnswer {
  readonly color?: Color;
  readonly status: number;
  readonly ms: number;
}

export interface SiteVerdict {
  readonly id: string;
  readonly url: string;
  readonly outcome: Outcome;
  /** The first answer's status and time (a weighted site's heavier color). */
  readonly status?: number;
  readonly ms?: number;
  /** A weighted site: the answer of each color, each request pinned to it. @default none (one unpinned request) */
  readonly colors?: readonly ColorAnswer[];
  /** What failed, in words; empty when ok. */
  readonly problems: readonly string[];
  readonly argocd?: ApplicationStatus & { readonly application: string };
}

/** How long past the budget an answer is awaited before the site counts as unreachable. */
const GRACE_MS = 10_000;
/** A page is read up to this much; the expected text must be in it. */
const MAX_BODY = 2 * 1024 * 1024;

/** Where a connection goes instead: an address, and a port when it differs from the URL's. */
export interface Endpoint {
  readonly address: string;
  readonly port?: number;
}

/**
 * curl's `--resolve HOST:PORT:ADDRESS` (connect to ADDRESS:PORT) and
 * `--connect-to HOST:PORT:ADDRESS:PORT2` (connect to ADDRESS:PORT2) as one
 * map; a malformed value is a usage error naming it.
 */
export function parseResolve(resolve: readonly string[], connectTo: readonly string[] = []): Map<string, Endpoint> {
  const map = new Map<string, Endpoint>();
  for (const value of resolve) {
    const m = /^([^:\s]+):(\d{1,5}):(\[[^\]]+\]|[^:\s]+)$/.exec(value);
    if (!m) throw new UsageError(`--resolve ${value}: expected HOST:PORT:ADDRESS, e.g. shop.example.com:443:10.0.0.7`);
    map.set(`${m[1]!.toLowerCase()}:${m[2]}`, { address: m[3]!.replace(/^\[|\]$/g, '') });
  }
  for (const value of connectTo) {
    const m = /^([^:\s]+):(\d{1,5}):(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
    if (!m) throw new UsageError(`--connect-to ${value}: expected HOST:PORT:ADDRESS:PORT, e.g. shop.example.com:443:10.0.0.7:8443`);
    map.set(`${m[1]!.toLowerCase()}:${m[2]}`, { address: m[3]!.replace(/^\[|\]$/g, ''), port: Number(m[4]) });
  }
  return map;
}

/** One request of a site's verification: a URL and, for a weighted site, the color it is pinned to. */
export interface Check {
  readonly url: string;
  /** The color a weighted site's request is pinned to with CANARY_PIN_HEADER. @default none (not pinned) */
  readonly pinned?: Color;
}

/**
 * The requests that show `site` as `color` serves it (see
 * VerifyOptions.color). A weighted site is checked on its public host once
 * per color, each request pinned to one color (CANARY_PIN_HEADER), so the
 * canary share is checked every time rather than by chance.
 */
export function checksOf(site: Site, canary: Canary, color?: Color): Check[] {
  const scheme = canary.settings.ingress.scheme;
  const url = `${scheme}://${site.canonicalHostname}/`;
  if (site.weights) {
    const colors = color ? [color] : [site.ingress, canaryColorOf(site)];
    return colors.map((pinned) => ({ url, pinned }));
  }
  if (color === undefined || site.ingress === color) return [{ url }];
  const preview = siteNames(site.id, canary.settings).previewHostname;
  if (site.service === color && preview) return [{ url: `${scheme}://${preview}/` }];
  throw new UsageError(
    `site ${site.id} is not served by ${color} on any of its hosts (service ${site.service}, traffic ${site.ingress}${preview ? '' : ', no previewDomain'}): verify it without --color, or with the color it runs on`,
  );
}

/** Verification options before the published revision is known: what a gate or a pipeline is given. */
export type VerifyPlan = Omit<VerifyOptions, 'argocd'> & { readonly argocd?: Omit<NonNullable<VerifyOptions['argocd']>, 'revision'> };

/** Sites checked at once: a ring or an image change of hundreds must not open hundreds of connections to one load balancer. */
const CONCURRENT_CHECKS = 16;

export async function verifySites(sites: readonly Site[], canary: Canary, options: VerifyOptions): Promise<SiteVerdict[]> {
  // Sites of one shard share an Application: Argo CD is asked about each Application once, not once per site.
  const waits = new Map<string, ReturnType<typeof waitUntilSyncedAt>>();
  const waitFor = (application: string) => {
    const { target, revision, waitMs } = options.argocd!;
    if (!waits.has(application)) waits.set(application, waitUntilSyncedAt(target, application, revision, { timeoutMs: waitMs }));
    return waits.get(application)!;
  };
  return pMap(sites, (site) => verifySite(site, canary, options, waitFor), { concurrency: CONCURRENT_CHECKS });
}

/**
 * Verifies sites as a publish left them: with Argo CD, each Application must
 * be Synced at `revision`, the manifests commit just published (none: the
 * publish changed nothing, and Argo CD is not asked).
 */
export function verifyPublishedSites(sites: readonly Site[], canary: Canary, plan: VerifyPlan, revision: string | undefined): Promise<SiteVerdict[]> {
  const argocd = plan.argocd && revision ? { ...plan.argocd, revision } : undefined;
  return verifySites(sites, canary, { ...plan, argocd });
}

async function verifySite(site: Site, canary: Canary, options: VerifyOptions, waitFor: (application: string) => ReturnType<typeof waitUntilSyncedAt>): Promise<SiteVerdict> {
  const checks = checksOf(site, canary, options.color);
  const url = checks[0]!.url;
  const problems: string[] = [];
  let argocd: SiteVerdict['argocd'];
  if (options.argocd) {
    const application = options.argocd.application(site);
    const { ready, status } = await waitFor(application);
    argocd = { application, ...(status ?? { sync: 'Missing', health: 'Missing' }) };
    if (!ready) {
      const at = options.argocd.revision ? ` at ${options.argocd.revision.slice(0, 12)}` : '';
      problems.push(
        status
          ? `Application ${application} is ${status.sync}${status.revision ? ` at ${status.revision.slice(0, 12)}` : ''} and ${status.health}, not Synced${at} and Healthy`
          : `Application ${application} does not exist in Argo CD`,
      );
    }
  }
  const answers: ColorAnswer[] = [];
  let unreachable = false;
  for (const check of checks) {
    // The pin header says `always` for the canary color, `never` for the other (ingress-nginx's canary-by-header).
    const pin: Record<string, string> = check.pinned ? { [CANARY_PIN_HEADER]: check.pinned === canaryColorOf(site) ? 'always' : 'never' } : {};
    const where = check.pinned ? `${check.url} (${check.pinned})` : check.url;
    const answer = await fetchPage(check.url, options.resolve, options.expect.budgetMs + GRACE_MS, pin);
    if ('error' in answer) {
      unreachable = true;
      problems.push(`${where} unreachable: ${answer.error}`);
      continue;
    }
    const { status, body, ms } = answer;
    answers.push({ ...(check.pinned ? { color: check.pinned } : {}), status, ms });
    if (status !== options.expect.status) problems.push(`${where} answered ${status}, not ${options.expect.status}`);
    if (options.expect.text !== undefined && !body.includes(options.expect.text)) problems.push(`${where} does not contain ${JSON.stringify(options.expect.text)}`);
    if (ms > options.expect.budgetMs) problems.push(`${where} took ${ms} ms, over the budget of ${options.expect.budgetMs} ms`);
  }
  const outcome: Outcome = unreachable ? 'unreachable' : problems.length ? 'failed' : 'ok';
  const first = answers[0];
  return {
    id: site.id,
    url,
    outcome,
    ...(first ? { status: first.status, ms: first.ms } : {}),
    ...(checks.some((c) => c.pinned) ? { colors: answers } : {}),
    problems,
    ...(argocd ? { argocd } : {}),
  };
}

/** GET `url`, connecting where --resolve says; the status, up to MAX_BODY of the body, and the time the whole answer took. */
function fetchPage(url: string, resolve: ReadonlyMap<string, Endpoint>, timeoutMs: number, extraHeaders: Readonly<Record<string, string>> = {}): Promise<{ status: number; body: string; ms: number } | { error: string }> {
  const target = new URL(url);
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  const endpoint = resolve.get(`${target.hostname}:${port}`);
  const address = endpoint?.address;
  // Connect to the address given, while the Host header and TLS server name stay the site's.
  const lookup: LookupFunction | undefined = address
    ? (_host, options, done) => {
        const family = address.includes(':') ? 6 : 4;
        if ((options as { all?: boolean }).all) (done as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
        else done(null, address, family);
      }
    : undefined;
  const started = performance.now();
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((settle) => {
    const headers = { Host: target.host, 'User-Agent': 'aviary-verify', Accept: 'text/html,*/*', ...extraHeaders };
    const options = { method: 'GET', lookup, headers, timeout: timeoutMs, servername: target.hostname, ...(endpoint?.port ? { port: endpoint.port } : {}) };
    const req = request(url, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => settle({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: Math.round(performance.now() - started) }));
      res.on('error', (error) => settle({ error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)));
    req.on('error', (error: NodeJS.ErrnoException) => settle({ error: error.code ?? error.message }));
    req.end();
  });
}
