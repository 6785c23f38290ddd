// The real Argo CD client over HTTP against the protocol-level Argo CD server
// in test/support: existence checks, waiting for a cascade delete, and the
// errors a person can act on (bad token, missing RBAC, wrong URL).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applicationExists, argoCdTarget, deleteApplication, listApplications, waitUntilGone, type ArgoCdTarget } from '../../../src/pipeline/publish/argocd.js';
import { exitCodeOf, OutsideSystemError, UsageError } from '../../../src/pipeline/shared/errors.js';
import { fakeJwt, startArgoCdServer, type ArgoCdServer } from '../../support/argocd-server.js';
import { freePort } from '../../support/ports.js';

const TOKEN = fakeJwt('aviary');
const PROJECT = 'fleet';
let argo: ArgoCdServer;
beforeAll(async () => {
  argo = await startArgoCdServer({ token: TOKEN });
});
afterAll(async () => {
  await argo?.stop();
});
beforeEach(() => {
  argo.apps.clear();
  argo.requests.length = 0;
  argo.failNext(0);
});

const target = (over: Partial<ArgoCdTarget> = {}): ArgoCdTarget => ({ url: argo.url, token: TOKEN, project: PROJECT, ...over });
const failure = (promise: Promise<unknown>) => promise.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as Error);

describe('applicationExists', () => {
  it('is true for a present Application and false for an absent one, asking within the project', async () => {
    argo.apps.set('site-alpha', { project: PROJECT });
    expect(await applicationExists(target(), 'site-alpha')).toBe(true);
    expect(await applicationExists(target(), 'site-gone')).toBe(false);
    expect(argo.requests).toEqual([
      { method: 'GET', path: '/api/v1/applications/site-alpha?project=fleet', authorization: `Bearer ${TOKEN}` },
      { method: 'GET', path: '/api/v1/applications/site-gone?project=fleet', authorization: `Bearer ${TOKEN}` },
    ]);
  });

  it('is false for an Application of the same name in another project', async () => {
    argo.apps.set('site-alpha', { project: 'someone-else' });
    expect(await applicationExists(target(), 'site-alpha')).toBe(false);
  });

  it('explains a rejected token, telling to check AVIARY_ARGOCD_TOKEN, without showing it', async () => {
    const wrong = fakeJwt('aviary', 'expired');
    const error = await failure(applicationExists(target({ token: wrong }), 'site-alpha'));
    expect(error).toBeInstanceOf(OutsideSystemError);
    expect(exitCodeOf(error)).toBe(3);
    expect(error.message).toMatch(/^Argo CD: checking whether Application site-alpha exists failed: Argo CD refused the token \(401 invalid session: .*\): it is invalid or expired; check AVIARY_ARGOCD_TOKEN/);
    expect(error.message).not.toContain(wrong);
    expect(argo.requests).toHaveLength(1); // a 401 is not retried
  });

  it('treats a bearer value that is not a JWT as no token, as Argo CD does', async () => {
    const error = await failure(applicationExists(target({ token: 'not-a-jwt-token' }), 'site-alpha'));
    expect(error.message).toMatch(/401 no session information\).*AVIARY_ARGOCD_TOKEN/);
    expect(error.message).not.toContain('not-a-jwt-token');
  });

  it('explains a token whose account may not read the project (RBAC)', async () => {
    const elsewhere = await startArgoCdServer({ token: TOKEN, project: 'other' });
    try {
      elsewhere.apps.set('site-alpha', { project: PROJECT });
      const error = await failure(applicationExists(target({ url: elsewhere.url }), 'site-alpha'));
      expect(error).toBeInstanceOf(OutsideSystemError);
      expect(exitCodeOf(error)).toBe(3);
      expect(error.message).toMatch(/Argo CD denied access \(403 permission denied\): the token's account lacks `applications, get` on project fleet \(RBAC/);
      expect(error.message).not.toContain(TOKEN);
    } finally {
      await elsewhere.stop();
    }
  });

  it('retries a server that is briefly unavailable', async () => {
    argo.apps.set('site-alpha', { project: PROJECT });
    argo.failNext(2, 503);
    expect(await applicationExists(target(), 'site-alpha')).toBe(true);
    expect(argo.requests).toHaveLength(3);
  });

  it('gives up on a server that stays unavailable, with exit status 3', async () => {
    argo.failNext(100, 503);
    const error = await failure(applicationExists(target(), 'site-alpha'));
    expect(exitCodeOf(error)).toBe(3);
    expect(error.message).toMatch(/Argo CD answered HTTP 503 the server is temporarily unavailable for Application site-alpha \(after retries/);
    expect(argo.requests).toHaveLength(4);
  });

  it('retries and then explains a server that cannot be reached', async () => {
    const error = await failure(applicationExists(target({ url: `http://127.0.0.1:${await freePort()}` }), 'site-alpha'));
    expect(error).toBeInstanceOf(OutsideSystemError);
    expect(error.message).toMatch(/ECONNREFUSED \(after retries; .*check AVIARY_ARGOCD_URL/);
  });

  it('does not take a 404 or 200 from something other than the API as an answer', async () => {
    // Plain-text 404 from an unknown /api route: taking it as "gone" would let a wrong URL delete a live site's data.
    const wrongApi = await failure(applicationExists(target({ url: `${argo.url}/api/v2` }), 'site-alpha'));
    expect(wrongApi.message).toMatch(/answered HTTP 404 but not as the Argo CD API \(Not Found\): check AVIARY_ARGOCD_URL/);
    // The web UI answers every other path with its index page.
    const ui = await failure(applicationExists(target({ url: `${argo.url}/argocd` }), 'site-alpha'));
    expect(ui.message).toMatch(/answered HTTP 200 but not as the Argo CD API \(<!doctype html>/);
  });
});

describe('listApplications', () => {
  it("is every Application of the project with its status, in one request naming only the fields it reads", async () => {
    argo.apps.set('site-alpha', { project: PROJECT, revision: 'a'.repeat(40) });
    argo.apps.set('site-bravo', { project: PROJECT, sync: 'OutOfSync', health: 'Degraded' });
    argo.apps.set('site-other', { project: 'someone-else' });
    const apps = await listApplications(target());
    expect([...apps]).toEqual([
      ['site-alpha', { sync: 'Synced', revision: 'a'.repeat(40), health: 'Healthy' }],
      ['site-bravo', { sync: 'OutOfSync', health: 'Degraded' }],
    ]);
    expect(argo.requests).toHaveLength(1);
    const url = new URL(argo.requests[0]!.path, argo.url);
    expect(url.searchParams.getAll('projects')).toEqual([PROJECT]);
    expect(url.searchParams.get('fields')!.split(',').sort()).toEqual(['items.metadata.name', 'items.status.health', 'items.status.sync.revision', 'items.status.sync.status']);
  });

  it('takes the null Argo CD answers for an empty filtered list as no Application', async () => {
    argo.apps.set('site-other', { project: 'someone-else' });
    expect((await listApplications(target())).size).toBe(0);
  });

  it('retries a busy server, and explains a rejected token without showing it (exit 3)', async () => {
    argo.apps.set('site-alpha', { project: PROJECT });
    argo.failNext(2);
    expect((await listApplications(target())).size).toBe(1);
    const error = await failure(listApplications(target({ token: fakeJwt('intruder') })));
    expect(error).toBeInstanceOf(OutsideSystemError);
    expect(exitCodeOf(error)).toBe(3);
    expect(error.message).toMatch(/listing the Applications of project fleet failed: Argo CD refused the token \(401/);
    expect(error.message).not.toContain(fakeJwt('intruder'));
  });

  it('does not take the web UI for the API', async () => {
    const error = await failure(listApplications(target({ url: `${argo.url}/ui` })));
    expect(error.message).toMatch(/answered HTTP (200|404) but not as the Argo CD API/);
  });
});

describe('waitUntilGone', () => {
  it('resolves true once Argo CD has finished deleting the Application', async () => {
    argo.apps.set('site-beta', { project: PROJECT });
    argo.deleteAfter('site-beta', 3);
    expect(await waitUntilGone(target(), 'site-beta', { timeoutMs: 10_000, intervalMs: 20 })).toBe(true);
    expect(argo.requests).toHaveLength(4);
    expect(argo.apps.has('site-beta')).toBe(false);
  });

  it('resolves true at once when the Application is already gone', async () => {
    expect(await waitUntilGone(target(), 'site-never', { timeoutMs: 0 })).toBe(true);
  });

  it('resolves false when the Application is still there at the deadline', async () => {
    argo.apps.set('site-stuck', { project: PROJECT });
    let clock = 0;
    // Each look costs 1 s of the injected clock, so the outcome does not depend on the machine's speed.
    const now = () => (clock += 1_000);
    expect(await waitUntilGone(target(), 'site-stuck', { timeoutMs: 5_000, intervalMs: 1, now })).toBe(false);
    expect(argo.requests.length).toBeGreaterThanOrEqual(2);
    expect(argo.apps.has('site-stuck')).toBe(true);
  });

  it('resolves false on a real-time timeout', async () => {
    argo.apps.set('site-stuck', { project: PROJECT });
    const started = Date.now();
    expect(await waitUntilGone(target(), 'site-stuck', { timeoutMs: 150, intervalMs: 40 })).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('stops at once on an error that waiting would not fix', async () => {
    const error = await failure(waitUntilGone(target({ token: fakeJwt('intruder') }), 'site-alpha', { timeoutMs: 10_000, intervalMs: 20 }));
    expect(error).toBeInstanceOf(OutsideSystemError);
    expect(argo.requests).toHaveLength(1);
  });
});

describe('argoCdTarget', () => {
  const env = { AVIARY_ARGOCD_URL: 'https://argocd.example.com', AVIARY_ARGOCD_TOKEN: TOKEN };

  it('is undefined when neither URL nor token is set', () => {
    expect(argoCdTarget({ project: PROJECT }, {})).toBeUndefined();
    expect(argoCdTarget({ project: PROJECT, url: '', token: '' }, { AVIARY_ARGOCD_URL: '' })).toBeUndefined();
  });

  it('reads the environment, and flags win over it', () => {
    expect(argoCdTarget({ project: PROJECT }, env)).toEqual({ url: 'https://argocd.example.com', token: TOKEN, project: PROJECT });
    expect(argoCdTarget({ project: 'p2', url: 'https://other.example.com/', token: 'flag-token' }, env)).toEqual({
      url: 'https://other.example.com', token: 'flag-token', project: 'p2',
    });
  });

  it('drops a trailing /api or /api/v1 copied from the API docs', () => {
    expect(argoCdTarget({ project: PROJECT, url: 'https://argocd.example.com/api/v1/' }, { AVIARY_ARGOCD_TOKEN: TOKEN })?.url).toBe('https://argocd.example.com');
    expect(argoCdTarget({ project: PROJECT, url: 'https://example.com/argocd/api' }, { AVIARY_ARGOCD_TOKEN: TOKEN })?.url).toBe('https://example.com/argocd');
  });

  it('names the missing half of a half-configured target', () => {
    const noToken = () => argoCdTarget({ project: PROJECT }, { AVIARY_ARGOCD_URL: 'https://argocd.example.com' });
    expect(noToken).toThrow(UsageError);
    expect(noToken).toThrow(/no token: set AVIARY_ARGOCD_TOKEN/);
    const noUrl = () => argoCdTarget({ project: PROJECT, token: TOKEN }, {});
    expect(noUrl).toThrow(UsageError);
    expect(noUrl).toThrow(/no URL: set AVIARY_ARGOCD_URL/);
    try {
      noUrl();
    } catch (error) {
      expect(exitCodeOf(error)).toBe(2);
      expect((error as Error).message).not.toContain(TOKEN);
    }
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => argoCdTarget({ project: PROJECT, url: 'argocd.example.com' }, { AVIARY_ARGOCD_TOKEN: TOKEN })).toThrow(/not an http\(s\) address/);
  });
});

describe('the Argo CD test server', () => {
  const get = async (path: string, token = TOKEN) => {
    const res = await fetch(`${argo.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
  };

  it('answers 403 for a missing app asked without a project, and 404 with one', async () => {
    expect(await get('/api/v1/applications/site-x')).toEqual({
      status: 403, type: 'application/json', body: { error: 'permission denied', code: 7, message: 'permission denied' },
    });
    expect(await get('/api/v1/applications/site-x?project=fleet')).toEqual({
      status: 404, type: 'application/json',
      body: { error: 'applications.argoproj.io "site-x" not found', code: 5, message: 'applications.argoproj.io "site-x" not found' },
    });
  });

  it('refuses more than one project on Get, and lets project win over projects', async () => {
    const two = await get('/api/v1/applications/site-x?project=a&project=b');
    expect(two).toMatchObject({ status: 400, body: { code: 3 } });
    argo.apps.set('site-x', { project: 'a' });
    expect(await get('/api/v1/applications/site-x?project=a&projects=b&projects=c')).toMatchObject({
      status: 200, body: { metadata: { name: 'site-x' }, spec: { project: 'a' }, status: { sync: { status: 'Synced' }, health: { status: 'Healthy' } } },
    });
  });

  it('shows a deletionTimestamp while a cascade delete is under way', async () => {
    argo.apps.set('site-x', { project: PROJECT });
    argo.deleteAfter('site-x', 2);
    expect((await get('/api/v1/applications/site-x?project=fleet')).body.metadata.deletionTimestamp).toMatch(/Z$/);
    expect((await get('/api/v1/applications/site-x?project=fleet')).status).toBe(200);
    expect((await get('/api/v1/applications/site-x?project=fleet')).status).toBe(404);
  });

  it('lists by project and label selector, sorted by name, never with 403', async () => {
    argo.apps.set('site-b', { project: PROJECT, labels: { 'aviary.io/site': 'b', tier: 'web' } });
    argo.apps.set('site-a', { project: PROJECT, labels: { 'aviary.io/site': 'a' } });
    argo.apps.set('other', { project: 'elsewhere', labels: { tier: 'web' } });
    const names = async (query: string) => ((await get(`/api/v1/applications${query}`)).body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
    expect(await names('')).toEqual(['other', 'site-a', 'site-b']);
    expect(await names('?projects=fleet')).toEqual(['site-a', 'site-b']);
    expect(await names('?selector=tier%3Dweb')).toEqual(['other', 'site-b']);
    expect(await names('?selector=aviary.io%2Fsite%20in%20(a%2Cc),!tier')).toEqual(['site-a']);
    expect((await get('/api/v1/applications?selector=%3D%3D')).status).toBe(500);
  });

  it('answers a wrong token with 401 and a missing one with no session information', async () => {
    expect(await get('/api/v1/applications', fakeJwt('mallory'))).toMatchObject({ status: 401, body: { code: 16 } });
    const res = await fetch(`${argo.url}/api/v1/applications`);
    expect([res.status, await res.json()]).toEqual([401, { error: 'no session information', code: 16, message: 'no session information' }]);
  });
});

describe('deleteApplication', () => {
  it('asks for a cascading, foreground deletion within the project; the Application goes once Argo CD has deleted its objects', async () => {
    argo.apps.set('site-alpha', { project: PROJECT });
    argo.finishDeletesAfter(2);
    try {
      await deleteApplication(target(), 'site-alpha');
      expect(argo.deleted).toContainEqual({ name: 'site-alpha', cascade: 'true', propagationPolicy: 'foreground', project: PROJECT });
      expect(argo.requests[0]).toEqual({ method: 'DELETE', path: '/api/v1/applications/site-alpha?project=fleet&cascade=true&propagationPolicy=foreground', authorization: `Bearer ${TOKEN}` });
      expect(await waitUntilGone(target(), 'site-alpha', { timeoutMs: 5_000, intervalMs: 10 })).toBe(true);
    } finally {
      argo.finishDeletesAfter(undefined);
    }
  });

  it('is done when the Application is already gone, and deletes nothing of another project', async () => {
    argo.apps.set('site-alpha', { project: 'someone-else' });
    const before = argo.deleted.length;
    await deleteApplication(target(), 'site-gone');
    await deleteApplication(target(), 'site-alpha');
    expect(argo.deleted.length).toBe(before);
    expect(argo.apps.has('site-alpha')).toBe(true);
  });

  it('retries a busy server', async () => {
    argo.apps.set('site-alpha', { project: PROJECT });
    argo.failNext(2, 503);
    await deleteApplication(target(), 'site-alpha');
    expect(argo.requests.filter((r) => r.method === 'DELETE')).toHaveLength(3);
  });

  it('explains missing delete rights, naming the RBAC lines Argo CD 3 needs', async () => {
    const restricted = await startArgoCdServer({ token: TOKEN, project: 'other' });
    try {
      restricted.apps.set('site-alpha', { project: PROJECT });
      const error = await failure(deleteApplication({ url: restricted.url, token: TOKEN, project: PROJECT }, 'site-alpha'));
      expect(error).toBeInstanceOf(OutsideSystemError);
      expect(error.message).toContain('Argo CD: deleting Application site-alpha with its objects failed: Argo CD denied the deletion (403');
      expect(error.message).toContain(`applications, delete/*, ${PROJECT}/*, allow`);
      expect(error.message).not.toContain(TOKEN);
    } finally {
      await restricted.stop();
    }
  });

  it('refuses to take the web UI for the API (a wrong URL must not look like a deletion)', async () => {
    const error = await failure(deleteApplication(target({ url: `${argo.url}/ui` }), 'site-alpha'));
    expect(error.message).toMatch(/not as the Argo CD API|HTTP 404/);
  });
});
