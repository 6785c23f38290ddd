// A fleet rollout in rings over 200 sites, end to end through the CLI: the
// test's web server plays the cluster (it serves each site from the color the
// manifests route it to right now). Ring 2 has broken sites: ring 1 stays,
// ring 2 is reverted, nothing else is touched. Then a rollout killed in the
// middle of a ring is resumed and finishes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ringBucket } from '../../../src/sites/rings.js';
import { CLI, runCli } from '../../support/cli.js';
import { canaryYaml, scratchDir, sitesYaml } from '../../support/fixtures.js';
import { bareRepo, configRepo, git, GIT_ENV } from '../../support/git.js';
import { parseManifests, routedColor, servedColor, serviceColorIn } from '../../support/manifests.js';
import { closeServer, listenLocal } from '../../support/ports.js';

const root = scratchDir('aviary-rollout-');
const ids = Array.from({ length: 200 }, (_, i) => `site-${String(i).padStart(3, '0')}`);
const ringOf = (id: string) => [1, 10, 50, 100].findIndex((p) => ringBucket(id) < p) + 1;
const inRing = (n: number) => ids.filter((id) => ringOf(id) === n);
/** Broken on green: one site of ring 2 (and, in the weighted rollout, one of its ring 2). */
const broken = new Set([inRing(2)[0]!]);
let weightedRepo = '';
let pausedRepo = '';
const repoFor = (id: string) => (id.startsWith('canary-') ? weightedRepo : id.startsWith('paused-') ? pausedRepo : manifests);
let web: Server;
let port: number;
let manifests: string;
let dir: string;
let upstream: string;
/** Called with each site id the web server is asked for (to kill a rollout at a chosen moment). */
let onRequest: (id: string) => void = () => undefined;

beforeAll(async () => {
  web = createServer((req, res) => {
    const id = String(req.headers.host).split('.')[0]!;
    onRequest(id);
    // Plays ingress-nginx: the color the manifests route this request to, the canary pin header honoured.
    const color = servedColor(repoFor(id), id, req.headers['x-aviary-canary'] as string | undefined);
    if (color === 'green' && broken.has(id)) res.writeHead(502).end('bad gateway');
    else res.writeHead(200).end('<html>Welcome to WordPress</html>');
  });
  port = await listenLocal(web);
  manifests = bareRepo(join(root, 'manifests.git'));
  upstream = bareRepo(join(root, 'config.git'));
  dir = configRepo(join(root, 'config'), sitesYaml(ids.map((id) => ({ id }))), canaryYaml({ extra: 'ingress:\n  scheme: http\n' }));
  await git(dir, 'remote', 'add', 'origin', upstream);
  await git(dir, 'push', '-q', '-u', 'origin', 'main');
  const first = await runCli(dir, ['publish', '--repo', manifests]);
  expect(first.code, first.stderr).toBe(0);
}, 120_000);
afterAll(() => web && closeServer(web));

/** Every site's host reaches the test's web server (a comma-separated list is one --connect-to). */
const connectTo = () => ids.map((id) => `${id}.example.com:80:127.0.0.1:${port}`).join(',');
// Green runs 1 pod to blue's 2 (the fixture): moving all 200 sites onto it needs --force.
const args = () => ['rollout', '--to', 'green', '--rings', '1,10,50,100', '--force', '--verify', '--repo', manifests, '--expect-text', 'Welcome', '--connect-to', connectTo()];

describe('aviary rollout --rings', () => {
  it('ring membership is a stable hash of the id; 200 sites fill every ring', () => {
    expect(inRing(1).length).toBeGreaterThan(0);
    expect(inRing(2).length).toBeGreaterThan(1);
    expect([1, 2, 3, 4].map((n) => inRing(n).length).reduce((a, b) => a + b)).toBe(200);
  });

  it('refuses, before any ring, a rollout that ends with most traffic on the color that can run fewer pods (exit 1)', async () => {
    const before = (await git(dir, 'rev-parse', 'HEAD')).trim();
    const r = await runCli(dir, args().filter((a) => a !== '--force'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('this moves the traffic of 200 of 200 sites onto green, which can run 1 pod(s), from blue, which can run 2.');
    expect((await git(dir, 'rev-parse', 'HEAD')).trim()).toBe(before);
    expect(await git(dir, 'status', '--porcelain')).toBe('');
  });

  it('a failure in ring 2: ring 1 stays on green, ring 2 is reverted, nothing else is touched (exit 1)', { timeout: 300_000 }, async () => {
    const before = (await git(upstream, 'rev-parse', 'main')).trim();
    const r = await runCli(dir, args());
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`verification failed for ${[...broken][0]}`);
    const log = (await git(upstream, 'log', '--format=%s', `${before}..main`)).trim().split('\n');
    expect(log).toEqual([`Revert "Roll out green: ring 2/4, ${inRing(2).length} sites"`, `Roll out green: ring 2/4, ${inRing(2).length} sites`, `Roll out green: ring 1/4, ${inRing(1).length === 1 ? '1 site' : `${inRing(1).length} sites`}`]);
    for (const id of ids) expect(routedColor(manifests, id), id).toBe(ringOf(id) === 1 ? 'green' : 'blue');
  });

  it('killed in the middle of a ring, --resume publishes and verifies that ring, then finishes the rollout (exit 0)', { timeout: 300_000 }, async () => {
    broken.clear();
    // Kill the rollout as soon as ring 3 is being verified: committed, pushed and published, not verified.
    let child: ChildProcess | undefined;
    onRequest = (id) => {
      if (ringOf(id) === 3) child?.kill('SIGKILL');
    };
    await new Promise<void>((done) => {
      child = spawn(process.execPath, [CLI, ...args()], { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: 'ignore' });
      child.on('exit', () => done());
    });
    onRequest = () => undefined;
    expect((await git(upstream, 'log', '-1', '--format=%s', 'main')).trim()).toMatch(/^Roll out green: ring 3\/4/);

    const r = await runCli(dir, [...args(), '--resume']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Resuming: the last ring commit [0-9a-f]{12} \(green ring 3\/4\) is published again and verified\./);
    for (const id of ids) expect(routedColor(manifests, id), id).toBe('green');
  });
});

/** The share the manifests on main give green of a site's public traffic: its ingress-nginx canary Ingress's weight, or all or nothing. */
function greenShare(manifestsRepo: string, id: string): number {
  const file = execFileSync('git', ['show', `main:sites/${id}/${id}.yaml`], { cwd: manifestsRepo, env: GIT_ENV, encoding: 'utf8' });
  const objects = parseManifests(file);
  const canary = objects.find((o) => o.kind === 'Ingress' && o.metadata.name === `${id}.canary`);
  const main = objects.find((o) => o.kind === 'Ingress' && o.metadata.name === id)!.spec.rules[0].http.paths[0].backend.service.name;
  if (!canary) return main === 'green' ? 100 : 0;
  const weight = Number(canary.metadata.annotations['nginx.ingress.kubernetes.io/canary-weight']);
  return canary.spec.rules[0].http.paths[0].backend.service.name === 'green' ? weight : 100 - weight;
}

describe('aviary rollout --weight (a canary step per ring)', () => {
  const few = Array.from({ length: 30 }, (_, i) => `canary-${String(i).padStart(2, '0')}`);
  /** Already fully on green, and one already sending green half its traffic: a 10 % step must not move either back. */
  const ahead = few[0]!;
  const half = few[1]!;
  let fleet: string;
  let repo: string;
  /** Broken on green, in ring 2 of 10,100: only a request pinned to green (its 10 %) shows it. */
  const flaky = few.find((id) => ringBucket(id) >= 10 && id !== ahead && id !== half)!;

  beforeAll(async () => {
    repo = bareRepo(join(root, 'weighted-manifests.git'));
    weightedRepo = repo;
    const remote = bareRepo(join(root, 'weighted-config.git'));
    const sites = sitesYaml(few.map((id) => ({ id, ...(id === ahead ? { service: 'green' as const } : {}) }))).replace(
      `  - id: ${half}\n    name: "Site ${half}"\n    service: blue\n`,
      `  - id: ${half}\n    name: "Site ${half}"\n    service: green\n    ingress: { blue: 50, green: 50 }\n`,
    );
    fleet = configRepo(join(root, 'weighted'), sites, canaryYaml({ extra: 'ingress:\n  scheme: http\n' }));
    await git(fleet, 'remote', 'add', 'origin', remote);
    await git(fleet, 'push', '-q', '-u', 'origin', 'main');
    const first = await runCli(fleet, ['publish', '--repo', repo]);
    expect(first.code, first.stderr).toBe(0);
  }, 120_000);

  it('runs every site on green with 10 % of its traffic, ring by ring, each color checked by a pinned request, then a promotion takes them all the way', { timeout: 300_000 }, async () => {
    const connect = few.map((id) => `${id}.example.com:80:127.0.0.1:${port}`).join(',');
    const stepArgs = ['rollout', '--to', 'green', '--weight', '10', '--rings', '10,100', '--verify', '--repo', repo, '--expect-text', 'Welcome', '--connect-to', connect];
    broken.add(flaky);
    const failed = await runCli(fleet, stepArgs);
    expect(failed.code, failed.stderr).toBe(1);
    // At 10 % an unpinned request would see the broken green one time in ten; pinned, every time.
    expect(failed.stderr).toContain(`  ${flaky}: http://${flaky}.example.com/ (green) answered 502, not 200`);
    expect(failed.stderr).toMatch(/Reverted [0-9a-f]{12} in the config repo/);
    expect(greenShare(repo, flaky)).toBe(0);
    broken.delete(flaky);

    const step = await runCli(fleet, stepArgs);
    expect(step.code, step.stderr).toBe(0);
    // Ring 1 stayed from the first run: this one did ring 2 only.
    expect(step.stdout).toMatch(/^Rolled out 10% of public traffic to green to \d+ sites in 1 commit\.$/m);
    const subjects = (await git(fleet, 'log', '--format=%s', '-4')).trim().split('\n');
    expect(subjects[0]).toMatch(/^Roll out green 10%: ring 2\/2, \d+ sites$/);
    expect(subjects[1]).toMatch(/^Revert "Roll out green 10%: ring 2\/2, \d+ sites"$/);
    expect(subjects[2]).toMatch(/^Roll out green 10%: ring 2\/2, \d+ sites$/);
    expect(subjects[3]).toMatch(/^Roll out green 10%: ring 1\/2, \d+ sites?$/);
    for (const id of few) {
      const file = execFileSync('git', ['show', `main:sites/${id}/${id}.yaml`], { cwd: repo, env: GIT_ENV, encoding: 'utf8' });
      expect(serviceColorIn(file), id).toBe('green');
      expect(greenShare(repo, id), id).toBe(id === ahead ? 100 : id === half ? 50 : 10);
    }
    // Run again: nothing left to do, nothing committed.
    const head = (await git(fleet, 'rev-parse', 'HEAD')).trim();
    const again = await runCli(fleet, ['rollout', '--to', 'green', '--weight', '10', '--repo', repo]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to roll out: every site runs on green and sends it at least 10% of its traffic.');
    expect((await git(fleet, 'rev-parse', 'HEAD')).trim()).toBe(head);

    const promote = await runCli(fleet, ['rollout', '--to', 'green', '--rings', '100', '--force', '--repo', repo]);
    expect(promote.code, promote.stderr).toBe(0);
    for (const id of few) expect(greenShare(repo, id), id).toBe(100);
  });
});

describe('aviary rollout --resume after a kill between a ring commit and its push', () => {
  it('pushes the ring, publishes and verifies it: no deploy names a commit the config repo lacks', { timeout: 300_000 }, async () => {
    const paused = Array.from({ length: 12 }, (_, i) => `paused-${String(i).padStart(2, '0')}`);
    pausedRepo = bareRepo(join(root, 'paused-manifests.git'));
    const remote = bareRepo(join(root, 'paused-config.git'));
    const dir2 = configRepo(join(root, 'paused'), sitesYaml(paused.map((id) => ({ id }))), canaryYaml({ extra: 'ingress:\n  scheme: http\n' }));
    await git(dir2, 'remote', 'add', 'origin', remote);
    await git(dir2, 'push', '-q', '-u', 'origin', 'main');
    expect((await runCli(dir2, ['publish', '--repo', pausedRepo])).code).toBe(0);
    // What a rollout killed right after committing its last ring leaves: the commit, with its trailers, not pushed.
    expect((await runCli(dir2, ['site', 'promote', ...paused, '--force'])).code).toBe(0);
    await git(dir2, 'commit', '-q', '-am', `Roll out green: ring 1/1, ${paused.length} sites`, '-m', `Aviary-Rollout: green ring 1/1\nAviary-Rollout-Sites: ${paused.join(' ')}`);
    const ringCommit = (await git(dir2, 'rev-parse', 'HEAD')).trim();

    const connect = paused.map((id) => `${id}.example.com:80:127.0.0.1:${port}`).join(',');
    const r = await runCli(dir2, ['rollout', '--to', 'green', '--rings', '100', '--force', '--resume', '--verify', '--repo', pausedRepo, '--expect-text', 'Welcome', '--connect-to', connect]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Resuming: the last ring commit ${ringCommit.slice(0, 12)} (green ring 1/1) is published again and verified.`);
    expect(r.stdout).toContain('Nothing to roll out: every site is on green.');
    // The ring commit is on the config repo, and every deploy on the manifests branch names a commit it has.
    expect((await git(remote, 'rev-parse', 'main')).trim()).toBe(ringCommit);
    const sources = (await git(pausedRepo, 'log', '--format=%(trailers:key=Aviary-Source,valueonly)', 'main')).split('\n').map((l) => l.trim()).filter(Boolean);
    expect(sources).toContain(ringCommit);
    for (const source of sources) await git(remote, 'cat-file', '-e', `${source}^{commit}`);
    for (const id of paused) expect(routedColor(pausedRepo, id), id).toBe('green');
  });
});
