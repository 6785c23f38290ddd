// `aviary status` over a manifests repository published by the real CLI
// (a bare repo) and the Argo CD protocol server, and the page of
// `status --html` opened in Debian's headless Chromium (playwright-core,
// `npm test`'s pretest installs the browser): it loads with no request but
// its own, lists every site, the search filters, and it fits a phone.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startArgoCdServer, fakeJwt, type ArgoCdServer } from '../../../support/argocd-server.js';
import { expectOk, runCli, workdir, type Workdir } from '../../../support/cli.js';
import { canaryYaml, DIGEST_BLUE, DIGEST_GREEN, scratchDir } from '../../../support/fixtures.js';
import { bareRepo, git } from '../../../support/git.js';
import { closeServer, listenLocal } from '../../../support/ports.js';
import { createServer } from 'node:http';

const root = scratchDir('aviary-status-');
const TOKEN = fakeJwt('aviary-status');
const HOSTILE = `<img src=x onerror="alert(1)"> & </td>`;

/** Five sites: plain, weighted, one whose name is markup, one on green with a preview host, one never published. */
const SITES = `sites:
  - id: alpha
    name: Alpha
    service: blue
    theme: astra
    hostnames: [alpha.example.com, www.alpha.example.com]
  - id: bravo
    name: Bravo
    service: blue
    theme: astra
    hostnames: [bravo.example.com]
  - id: charlie
    name: '${HOSTILE}'
    service: green
    theme: astra
    hostnames: [charlie.example.com]
  - id: delta
    name: Delta
    service: green
    theme: astra
    hostnames: [delta.example.com]
`;

let argo: ArgoCdServer;
let w: Workdir;
let remote: string;
let head: string;
let first: string;
const env = () => ({ AVIARY_ARGOCD_TOKEN: TOKEN });

/** The newest commit of the manifests branch that touched a site's files, as git itself says. */
const lastCommitOf = async (id: string) => (await git(remote, 'log', '-1', '--format=%H', 'main', '--', `sites/${id}`)).trim();

beforeAll(async () => {
  argo = await startArgoCdServer({ token: TOKEN, project: 'aviary' });
  remote = bareRepo(join(root, 'manifests.git'));
  w = workdir({ 'sites.yaml': SITES, 'canary.yaml': canaryYaml({ extra: 'previewDomain: preview.example.com\n' }) });
  expectOk(await w.run(['publish', '--repo', remote, '--allow-dirty']));
  first = (await git(remote, 'rev-parse', 'main')).trim();
  // A second deploy that changes one site: bravo takes 20 % green.
  expectOk(await w.run(['site', 'shift', 'bravo', '--to', 'green', '--weight', '20']));
  expectOk(await w.run(['publish', '--repo', remote, '--allow-dirty']));
  head = (await git(remote, 'rev-parse', 'main')).trim();
  // A fifth site, added after the last publish: never deployed.
  w.write('sites.yaml', `${w.read('sites.yaml')}  - id: echo\n    name: Echo\n    service: green\n    theme: astra\n    hostnames: [echo.example.com]\n`);
  argo.apps.set('site-alpha', { project: 'aviary', revision: head });
  argo.apps.set('site-bravo', { project: 'aviary', revision: first, sync: 'OutOfSync', health: 'Progressing' });
  argo.apps.set('site-charlie', { project: 'aviary', revision: head });
  argo.apps.set('site-delta', { project: 'aviary', revision: head, health: 'Degraded' });
  argo.apps.set('site-other', { project: 'someone-else', revision: head });
  // Ours, but no longer generated: the services Application is, a shard's left by a layout change is not.
  argo.apps.set('aviary-services', { project: 'aviary', revision: head });
  argo.apps.set('sites-07', { project: 'aviary', revision: first });
}, 120_000);
afterAll(async () => {
  w?.remove();
  await argo?.stop();
});

interface StatusJson {
  canary: { selector: string; images: Record<string, string> };
  manifests: { head: string; reachable: boolean };
  argocd: { reachable: boolean; strays: string[] };
  unavailable: string[];
  history: { commit: string; subject: string; sites: string[] }[];
  sites: { id: string; service: string; traffic: Record<string, number>; image: string; application: string; preview?: string; lastDeploy?: { commit: string }; argocd?: { sync: string; health: string; revision?: string } }[];
}

describe('aviary status', () => {
  it('--json: each site as configured, its last deploy as git records it, and its Application as Argo CD reports it, in one list request', async () => {
    const before = argo.requests.length;
    const r = expectOk(await runCli(['status', '--json', '--repo', remote, '--argocd-url', argo.url], { cwd: w.dir, env: env() }));
    const status = JSON.parse(r.stdout) as StatusJson;
    expect(status.sites.map((s) => s.id)).toEqual(['alpha', 'bravo', 'charlie', 'delta', 'echo']);
    const site = (id: string) => status.sites.find((s) => s.id === id)!;
    expect(site('alpha').traffic).toEqual({ blue: 100, green: 0 });
    expect(site('bravo').traffic).toEqual({ blue: 80, green: 20 });
    expect(site('delta').traffic).toEqual({ blue: 0, green: 100 });
    expect(status.canary.images.blue).toMatch(new RegExp(`@sha256:${DIGEST_BLUE}$`));
    expect(status.canary.images.green).toMatch(new RegExp(`@sha256:${DIGEST_GREEN}$`));
    expect(site('alpha').image).toBe(status.canary.images.blue);
    expect(site('bravo').image).toBe(status.canary.images.blue);
    expect(site('delta').image).toBe(status.canary.images.green);
    expect(site('delta').preview).toBe('https://delta.preview.example.com/');
    // Last deploys: alpha's files changed only in the first publish, bravo's in the second; echo never.
    expect(site('alpha').lastDeploy?.commit).toBe(await lastCommitOf('alpha'));
    expect(site('alpha').lastDeploy?.commit).toBe(first);
    expect(site('bravo').lastDeploy?.commit).toBe(await lastCommitOf('bravo'));
    expect(site('bravo').lastDeploy?.commit).toBe(head);
    expect(site('echo').lastDeploy).toBeUndefined();
    expect(status.manifests).toMatchObject({ head, reachable: true });
    expect(status.history.map((d) => d.commit)).toEqual([head, first]);
    expect(status.history[0]!.sites).toEqual(['bravo']);
    // Argo CD: what it says of each Application; one it does not have is Missing.
    expect(site('alpha').argocd).toEqual({ sync: 'Synced', revision: head, health: 'Healthy' });
    expect(site('bravo').argocd).toEqual({ sync: 'OutOfSync', revision: first, health: 'Progressing' });
    expect(site('delta').argocd).toMatchObject({ sync: 'Synced', health: 'Degraded' });
    expect(site('echo').argocd).toEqual({ sync: 'Missing', health: 'Missing' });
    // Applications of the project the fleet does not generate (another project's are not listed at all).
    expect(status.argocd.strays).toEqual(['sites-07']);
    const asked = argo.requests.slice(before);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.path).toMatch(/^\/api\/v1\/applications\?projects=aviary&fields=/);
    expect(r.stdout).not.toContain(TOKEN);
  });

  it('text: a line per site, then what is published and what Argo CD says is not Synced and Healthy', async () => {
    const r = expectOk(await runCli(['status', '--repo', remote, '--argocd-url', argo.url], { cwd: w.dir, env: env() }));
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^SITE +TRAFFIC +SERVICE +IMAGE +LAST DEPLOY +ARGO CD$/);
    expect(lines.find((l) => l.startsWith('bravo '))).toMatch(new RegExp(`^bravo +blue 80% green 20% +blue +${DIGEST_BLUE.slice(0, 12)} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d ${head.slice(0, 12)} +OutOfSync Progressing$`));
    expect(lines.find((l) => l.startsWith('echo '))).toMatch(/ never +Missing Missing$/);
    expect(r.stdout).toContain(`Published: ${head.slice(0, 12)} on main of ${remote}.`);
    expect(r.stdout).toContain('Argo CD: 3 not Synced and Healthy: bravo, delta, echo.');
    expect(r.stdout).toContain('Argo CD has an Application in the project that this fleet no longer generates: sites-07. After a change of argocd.shards or clusters, delete each with `argocd app delete NAME --cascade=false`');
  });

  it('a source that cannot be read: the rest is shown, the failure named, exit 3', async () => {
    const closed = createServer();
    const port = await listenLocal(closed);
    await closeServer(closed);
    const r = await runCli(['status', '--repo', remote, '--argocd-url', `http://127.0.0.1:${port}`], { cwd: w.dir, env: env() });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^alpha +blue +blue /m);
    expect(r.stdout).toContain(`Published: ${head.slice(0, 12)}`);
    expect(r.stdout).toMatch(/Not read: Argo CD: listing the Applications of project aviary failed: ECONNREFUSED/);
    expect(r.stderr).toMatch(/^error: status: .*ECONNREFUSED/m);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  }, 60_000);

  it('without a manifests repository: the configuration alone, and how to name one', async () => {
    const r = expectOk(await w.run(['status', '--json']));
    const status = JSON.parse(r.stdout) as StatusJson & { manifests?: unknown };
    expect(status.manifests).toBeUndefined();
    expect(status.sites.every((s) => s.lastDeploy === undefined && s.argocd === undefined)).toBe(true);
    expect((await w.run(['status'])).stdout).toContain('Last deploys unknown: no manifests repository named (pass --repo, or set argocd.repoURL in canary.yaml).');
  });
});

describe('aviary status --html, in headless Chromium', () => {
  let browser: Browser;
  let page: string;
  beforeAll(async () => {
    page = join(w.dir, 'status.html');
    expectOk(await runCli(['status', '--html', page, '--repo', remote, '--argocd-url', argo.url], { cwd: w.dir, env: env() }));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      // As root, with no network: Chromium's own background connections would only be refused.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  const open = async (viewport = { width: 1280, height: 900 }, query = '') => {
    const context = await browser.newContext({ viewport });
    const tab = await context.newPage();
    const requests: string[] = [];
    const dialogs: string[] = [];
    const errors: string[] = [];
    tab.on('request', (request) => void requests.push(request.url()));
    tab.on('dialog', (dialog) => void (dialogs.push(dialog.message()), dialog.dismiss()));
    tab.on('pageerror', (error) => void errors.push(error.message));
    await tab.goto(`file://${page}${query}`);
    return { tab, requests, dialogs, errors, close: () => context.close() };
  };
  const visibleIds = (tab: import('playwright-core').Page) => tab.$$eval('#sites .row[data-search]:not([hidden]) [role=cell]:first-child b', (cells) => cells.map((c) => c.textContent));

  it('is one file: it loads with no request but its own, and no script error', async () => {
    expect(existsSync(page)).toBe(true);
    const { requests, errors, tab, close } = await open();
    expect(requests).toEqual([`file://${page}`]);
    expect(errors).toEqual([]);
    expect(await tab.title()).toBe('Aviary fleet status');
    await close();
  });

  it('lists every site, with the names as text (markup in a name stays text)', async () => {
    const { tab, dialogs, close } = await open();
    expect(await visibleIds(tab)).toEqual(['alpha', 'bravo', 'charlie', 'delta', 'echo']);
    expect(await tab.textContent('#shown')).toBe('5 of 5 sites');
    // On a desktop a row is a line of six columns (the sixth: Argo CD), under a header row.
    expect(await tab.$eval('#sites .row[data-search]', (row) => getComputedStyle(row).gridTemplateColumns.split(' ').length)).toBe(6);
    expect(await tab.$$eval('#sites .head [role=columnheader]', (cells) => cells.map((c) => c.textContent))).toEqual(['Site', 'Traffic', 'Service', 'Image', 'Last deploy', 'Argo CD']);
    expect(await tab.locator('#sites .row[data-search]', { hasText: 'charlie' }).textContent()).toContain(HOSTILE);
    expect(await tab.$$('#sites img')).toHaveLength(0);
    expect(dialogs).toEqual([]);
    expect(await tab.locator('#sites .row[data-search]', { hasText: 'bravo' }).textContent()).toContain('OutOfSync Progressing');
    await close();
  });

  it('the search filters by any word of a row, all words at once, and says when nothing matches', async () => {
    const { tab, close } = await open();
    await tab.fill('#search', 'green');
    expect(await visibleIds(tab)).toEqual(['bravo', 'charlie', 'delta', 'echo']);
    await tab.fill('#search', 'green degraded');
    expect(await visibleIds(tab)).toEqual(['delta']);
    await tab.fill('#search', 'www.alpha');
    expect(await visibleIds(tab)).toEqual(['alpha']);
    expect(await tab.textContent('#shown')).toBe('1 of 5 sites');
    await tab.fill('#search', 'no-such-site');
    expect(await visibleIds(tab)).toEqual([]);
    expect(await tab.isVisible('#none')).toBe(true);
    await tab.fill('#search', '');
    expect(await visibleIds(tab)).toHaveLength(5);
    await close();
  });

  it('opens filtered from a link (?q=)', async () => {
    const { tab, close } = await open(undefined, '?q=never');
    expect(await visibleIds(tab)).toEqual(['echo']);
    await close();
  });

  it('shows the deploy history, newest first', async () => {
    const { tab, close } = await open();
    const items = await tab.$$eval('#history li', (lis) => lis.map((li) => li.textContent ?? ''));
    expect(items).toHaveLength(2);
    expect(items[0]).toContain(head.slice(0, 12));
    expect(items[0]).toContain('sites bravo');
    expect(items[1]).toContain(first.slice(0, 12));
    await close();
  });

  it('reads on a phone: no sideways scrolling, each site a card with its labels, one column', async () => {
    const { tab, close } = await open({ width: 390, height: 844 });
    expect(await tab.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await tab.isVisible('#sites .head')).toBe(false);
    const label = await tab.$eval('#sites .row [data-label="Traffic"]', (cell) => getComputedStyle(cell, '::before').content);
    expect(label).toBe('"Traffic"');
    const columns = await tab.$eval('#sites .row[data-search]', (row) => getComputedStyle(row).gridTemplateColumns.split(' ').length);
    expect(columns).toBe(1);
    await tab.fill('#search', 'delta');
    expect(await visibleIds(tab)).toEqual(['delta']);
    await close();
  });

  it('holds no secret and no token', () => {
    const html = readFileSync(page, 'utf8');
    expect(html).not.toContain(TOKEN);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
  });
});
