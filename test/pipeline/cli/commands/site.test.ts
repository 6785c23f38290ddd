import { parseAllDocuments } from 'yaml';
import { describe, expect, test } from 'vitest';
import { renderFleet } from '../../../../src/charts/render.js';
import { loadFleet } from '../../../../src/sites/load.js';
import { workdirs, type Workdir } from '../../../support/cli.js';
import { CANARY_FIXTURE, DIGEST_BLUE, DIGEST_GREEN, fleetOf, REPOSITORY, SITES_FIXTURE, swap } from '../../../support/fixtures.js';

// The spawned `aviary site …` commands, in temp dirs holding copies of the fixtures. Sequential on purpose:
// each spawn is a whole CLI start, and a loaded 2-core CI machine would push concurrent ones past the timeout.

const fresh = workdirs();

interface K8s {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    rules?: Array<{ host: string; http: { paths: Array<{ backend: { service: { name: string } } }> } }>;
    template?: { spec: { containers: Array<{ image: string }> } };
  };
}

/** What the synthesized manifests of one site say, read back from renderFleet's output. */
function synthesized(w: Workdir, id: string) {
  const files = renderFleet(loadFleet(w.path('sites.yaml'), w.path('canary.yaml')));
  const file = files.find((f) => f.path === `sites/${id}/${id}.yaml`);
  if (!file) throw new Error(`no manifests for ${id}`);
  const objects = parseAllDocuments(file.content).map((d) => d.toJS() as K8s);
  // The site's Ingress and its preview Ingress.
  const rules = objects.filter((o) => o.kind === 'Ingress').flatMap((i) => i.spec.rules ?? []);
  const routes = Object.fromEntries(rules.map((r) => [r.host, r.http.paths[0].backend.service.name]));
  const jobs = objects.filter((o) => o.kind === 'Job');
  return { routes, jobImages: [...new Set(jobs.map((j) => j.spec.template!.spec.containers[0].image))], jobNames: jobs.map((j) => j.metadata.name) };
}

describe('aviary site move', () => {
  const CLUSTERS = 'clusters:\n  - { name: eu, server: https://eu.k8s.example.com }\n  - { name: us, server: https://us.k8s.example.com }\n';

  test("sets cluster: (added after the site's last key, comments kept); its manifests move under clusters/<name>/", async () => {
    const w = fresh();
    w.write('canary.yaml', CANARY_FIXTURE + CLUSTERS);
    const r = await w.run(['site', 'move', 'alpha', 'gamma', '--cluster', 'us']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Moved 2 sites to cluster us: alpha, gamma\. Once merged, the pipeline publishes them under clusters\/us\/ and prunes them from eu;/m);
    const fleet = loadFleet(w.path('sites.yaml'), w.path('canary.yaml'));
    expect(fleet.sites.map((x) => [x.id, x.cluster])).toEqual([['alpha', 'us'], ['beta', 'eu'], ['gamma', 'us'], ['delta', 'eu']]);
    expect(w.read('sites.yaml')).toContain('    service: blue                 # on blue for now\n    cluster: us\n');
    const paths = renderFleet(fleet).map((f) => f.path);
    expect(paths).toContain('clusters/us/sites/alpha/alpha.yaml');
    expect(paths).toContain('clusters/eu/sites/beta/beta.yaml');

    // Again: nothing to do, nothing written.
    const stamp = w.stamp('sites.yaml');
    const again = await w.run(['site', 'move', 'alpha', '--cluster', 'us']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to do: alpha already in cluster us.');
    expect(w.stamp('sites.yaml')).toEqual(stamp);
  });

  test('refuses an unknown cluster, and a fleet that declares none, writing nothing', async () => {
    const w = fresh();
    const stamp = w.stamp('sites.yaml');
    const none = await w.run(['site', 'move', 'alpha', '--cluster', 'us']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('declares no clusters: list them under clusters:');
    w.write('canary.yaml', CANARY_FIXTURE + CLUSTERS);
    const unknown = await w.run(['site', 'move', 'alpha', '--cluster', 'asia']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown cluster asia: canary.yaml declares eu, us; nothing was written.');
    expect(w.stamp('sites.yaml')).toEqual(stamp);
  });
});

describe('aviary site shift', () => {
  test('writes a split as ingress: { blue: N, green: M } in place (comments kept); 0 and 100 make it one color', async () => {
    const w = fresh();
    const r = await w.run(['site', 'shift', 'beta', 'gamma', '--to', 'green', '--weight', '10']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Shifted beta: public traffic to blue 90%, green 10% (was blue).');
    expect(r.stdout).toContain('Shifted gamma: public traffic to blue 90%, green 10% (was blue).');
    expect(w.read('sites.yaml')).toContain('    ingress: { blue: 90, green: 10 }   # traffic stays on blue\n');
    const fleet = loadFleet(w.path('sites.yaml'), w.path('canary.yaml'));
    expect(fleet.sites.filter((x) => x.weights).map((x) => [x.id, x.ingress, x.weights])).toEqual([
      ['beta', 'blue', { blue: 90, green: 10 }],
      ['gamma', 'blue', { blue: 90, green: 10 }],
    ]);
    const table = await w.run(['site', 'list']);
    expect(table.stdout).toMatch(/^beta\s+green\s+blue 90%\/green 10%\s+beta\.example\.com/m);

    const all = await w.run(['site', 'shift', 'beta', '--to', 'green', '--weight', '100']);
    expect(all.code).toBe(0);
    expect(w.read('sites.yaml')).toContain('    ingress: green   # traffic stays on blue\n');
    const none = await w.run(['site', 'shift', 'gamma', '--to', 'green', '--weight', '0']);
    expect(none.code).toBe(0);
    expect(loadFleet(w.path('sites.yaml'), w.path('canary.yaml')).sites.find((x) => x.id === 'gamma')).toMatchObject({ ingress: 'blue' });

    const stamp = w.stamp('sites.yaml');
    const again = await w.run(['site', 'shift', 'beta', '--to', 'green', '--weight', '100']);
    expect(again.stdout).toContain('Nothing to do: beta already route 100% to green.');
    expect(w.stamp('sites.yaml')).toEqual(stamp);
  });

  test('refuses a weight that is not a whole percentage, an unknown color or site, writing nothing', async () => {
    const w = fresh();
    const stamp = w.stamp('sites.yaml');
    for (const weight of ['101', '-5', '12.5', 'half']) {
      const r = await w.run(['site', 'shift', 'alpha', '--to', 'green', '--weight', weight]);
      expect(r.code, weight).toBe(2);
      expect(r.stderr).toMatch(/--weight/);
    }
    expect((await w.run(['site', 'shift', 'alpha', '--to', 'red', '--weight', '10'])).code).toBe(2);
    const unknown = await w.run(['site', 'shift', 'omega', '--to', 'green', '--weight', '10']);
    expect(unknown.code).toBe(1);
    expect(w.stamp('sites.yaml')).toEqual(stamp);
  });

  test('refuses a split the fleet cannot route (an ingress class without canary support), writing nothing', async () => {
    const w = fresh();
    w.write('canary.yaml', `${CANARY_FIXTURE}ingress:\n  className: traefik\n`);
    const stamp = w.stamp('sites.yaml');
    const r = await w.run(['site', 'shift', 'alpha', '--to', 'green', '--weight', '10']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sites\.yaml:\d+:\d+: sites\[0\]\.ingress: splits traffic between the colors, but ingress class "traefik"/);
    expect(w.stamp('sites.yaml')).toEqual(stamp);
  });
});

describe('aviary site upgrade / promote', () => {
  test('upgrade: service moves to the canary, traffic stays; Jobs run the canary image', async () => {
    const w = fresh();
    const before = synthesized(w, 'alpha');
    expect(before.routes['alpha.example.com']).toBe('blue');
    expect(before.jobImages).toEqual([`${REPOSITORY}@sha256:${DIGEST_BLUE}`]);

    const r = await w.run(['site', 'upgrade', 'alpha']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Upgraded 1 site to green, the active canary .*: alpha\.$/m);
    expect(w.read('sites.yaml')).toBe(
      swap(SITES_FIXTURE, '    service: blue                 # on blue for now\n', '    service: green                # on blue for now\n    ingress: blue\n'),
    );
    expect(w.read('canary.yaml')).toBe(CANARY_FIXTURE);

    const after = synthesized(w, 'alpha');
    expect(after.routes['alpha.example.com']).toBe('blue');
    expect(after.routes['alpha.preview.example.com']).toBe('green');
    expect(after.jobImages).toEqual([`${REPOSITORY}@sha256:${DIGEST_GREEN}`]);
  });

  test('promote: the Ingress routes the hostnames to the canary Service; the comment-carrying ingress line goes', async () => {
    const w = fresh();
    const before = synthesized(w, 'beta');
    expect(before.routes['www.beta.example.com']).toBe('blue');
    const r = await w.run(['site', 'promote', 'beta']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Promoted 1 site to green');
    // beta was upgraded before (service already green): only the flush Job reruns, because traffic moved.
    expect(r.stdout).toContain('Caches flushed on green: beta.');
    const renamed = synthesized(w, 'beta').jobNames.filter((name) => !before.jobNames.includes(name));
    expect(renamed).toEqual([expect.stringMatching(/^beta-flush-[0-9a-f]{10}$/)]);
    expect(w.read('sites.yaml')).toBe(swap(SITES_FIXTURE, '    ingress: blue   # traffic stays on blue\n', ''));
    const after = synthesized(w, 'beta');
    expect(after.routes).toEqual({ 'beta.example.com': 'green', 'www.beta.example.com': 'green', 'beta.preview.example.com': 'green' });
  });

  test('rerun: counts up rerun: so the site\'s Jobs (or the one named) get new names; no other site changes', async () => {
    const w = fresh();
    const before = { beta: synthesized(w, 'beta').jobNames, alpha: synthesized(w, 'alpha').jobNames };
    const r = await w.run(['site', 'rerun', 'beta', '--job', 'theme']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Counted up rerun: (theme) of beta in');
    expect(w.read('sites.yaml')).toBe(swap(SITES_FIXTURE, '    ingress: blue   # traffic stays on blue\n', '    ingress: blue   # traffic stays on blue\n    rerun: { theme: 1 }\n'));
    const renamed = synthesized(w, 'beta').jobNames.filter((name) => !before.beta.includes(name));
    expect(renamed.map((n) => n.replace(/-[0-9a-f]{10}$/, ''))).toEqual(['beta-theme', 'beta-flush']);
    expect(synthesized(w, 'alpha').jobNames).toEqual(before.alpha);
    expect((await w.run(['site', 'rerun', 'nope'])).code).not.toBe(0);
  });

  test('no-op: a site already on the canary; the file is not touched', async () => {
    const w = fresh();
    const stamp = w.stamp('sites.yaml');
    const r = await w.run(['site', 'upgrade', 'delta']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Nothing to do: delta is already on green, the active canary.\n');
    expect(w.stamp('sites.yaml')).toEqual(stamp);
  });

  test('--dry-run prints the YAML diff and writes nothing', async () => {
    const w = fresh();
    const stamps = [w.stamp('sites.yaml'), w.stamp('canary.yaml')];
    // Every site's traffic onto green, which runs 1 replica, from blue, which runs 2: refused unless forced.
    const refused = await w.run(['site', 'promote', '--all', '--dry-run']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/moves the traffic of 3 of 4 sites onto green, which can run 1 pod\(s\), from blue, which can run 2\. Raise services\.green\.replicas/);
    const r = await w.run(['site', 'promote', '--all', '--dry-run', '--force']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--- sites.yaml\n+++ sites.yaml\n');
    expect(r.stdout).toContain('\n-    ingress: blue   # traffic stays on blue\n');
    expect(r.stdout).toContain('\n-    service: blue                 # on blue for now\n+    service: green                # on blue for now\n');
    expect(r.stdout).toMatch(/Dry run: nothing was written\.\n$/);
    expect([w.stamp('sites.yaml'), w.stamp('canary.yaml')]).toEqual(stamps);
  });

  test('--from narrows --all to one color; --json reports each move', async () => {
    const w = fresh();
    const r = await w.run(['site', 'promote', '--all', '--from', 'blue', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ changed: true, written: true, files: ['sites.yaml'], color: 'green', unchanged: [] });
    expect(out.moved.map((m: { id: string }) => m.id)).toEqual(['alpha', 'gamma']);
    expect(synthesized(w, 'beta').routes['beta.example.com']).toBe('blue');
    expect(synthesized(w, 'gamma').routes['gamma.example.com']).toBe('green');
  });

  test('refusals exit 1 and leave the files untouched; usage errors exit 2', async () => {
    const w = fresh();
    const stamp = w.stamp('sites.yaml');
    const unknown = await w.run(['site', 'upgrade', 'alpha', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown site nope: not in sites.yaml; nothing was written');
    for (const args of [['site', 'upgrade'], ['site', 'upgrade', 'alpha', '--all'], ['site', 'promote', '--from', 'red'], ['site', 'upgrade', '--bogus']]) {
      const r = await w.run(args);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(w.stamp('sites.yaml')).toEqual(stamp);
  });

  test('invalid inputs are reported with their position before any edit', async () => {
    const w = fresh({ 'sites.yaml': swap(SITES_FIXTURE, 'service: blue }', 'service: red }'), 'canary.yaml': CANARY_FIXTURE });
    const stamp = w.stamp('sites.yaml');
    const r = await w.run(['site', 'upgrade', 'alpha']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sites\.yaml:21:\d+: sites\[2\]\.service: "red" is not a color/m);
    expect(w.stamp('sites.yaml')).toEqual(stamp);
  });
});

describe('aviary site create / get / list / terminate', () => {
  test('create appends the entry; get shows it with the names of its synthesized objects', async () => {
    const w = fresh();
    const r = await w.run(['site', 'create', '--id', 'shop', '--name', 'Shop | "Best"', '--theme', 'astra', '--hostname', 'shop.example.com', '--hostname', 'www.shop.example.com', '--canonical', 'www.shop.example.com']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Added site shop on green (shop.example.com, www.shop.example.com) to sites.yaml.');
    expect(w.read('sites.yaml')).toBe(
      swap(
        SITES_FIXTURE,
        '    service: green\n# end',
        '    service: green\n\n  - id: shop\n    name: "Shop | \\"Best\\""\n    theme: astra\n    hostnames: [shop.example.com, www.shop.example.com]\n    canonicalHostname: www.shop.example.com\n    service: green\n# end',
      ),
    );

    const got = await w.run(['site', 'get', 'shop', '--json']);
    expect(got.code).toBe(0);
    const site = JSON.parse(got.stdout);
    expect(site).toMatchObject({
      id: 'shop',
      name: 'Shop | "Best"',
      service: 'green',
      ingress: 'green',
      image: `${REPOSITORY}@sha256:${DIGEST_GREEN}`,
      canonicalHostname: 'www.shop.example.com',
      previewHostname: 'shop.preview.example.com',
      manifest: 'dist/sites/shop/shop.yaml',
      cluster: 'in-cluster',
      application: 'site-shop',
      resources: { ingress: ['shop', 'shop-preview'], externalSecrets: ['shop-wordpress'] },
      aws: { secrets: ['aviary/sites/shop/db', 'aviary/sites/shop/admin', 'aviary/sites/shop/keys'], database: 'wp_shop', s3Prefix: 'sites/shop/' },
    });
    expect(site.resources.jobs.map((j: { name: string }) => j.name)).toEqual(synthesized(w, 'shop').jobNames);
    expect(site.resources.jobs.map((j: { job: string }) => j.job)).toEqual(['install', 'update-db', 'theme', 'flush']);

    const human = await w.run(['site', 'get', 'shop']);
    expect(human.stdout).toContain('www.shop.example.com (canonical)');
    expect(human.stdout).toMatch(/preview\s+shop\.preview\.example\.com/);
    expect(human.stdout).toContain(synthesized(w, 'shop').jobNames.join(', '));
  });

  test('create refuses a hostname another site has, with the file untouched', async () => {
    const w = fresh();
    const stamp = w.stamp('sites.yaml');
    const r = await w.run(['site', 'create', '--id', 'shop', '--name', 'S', '--theme', 'astra', '--hostname', 'www.beta.example.com']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('hostname "www.beta.example.com" is already used by sites[1] (beta) (after this edit; refused)');
    expect(r.stderr).toContain('nothing was written');
    expect(w.stamp('sites.yaml')).toEqual(stamp);
    expect((await w.run(['site', 'create', '--id', 'x', '--name', 'X'])).code).toBe(2);
  });

  test('get of an unknown site exits 1; list filters by color, as a table or JSON', async () => {
    const w = fresh();
    const missing = await w.run(['site', 'get', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('there is no site "nope" in sites.yaml');

    const table = await w.run(['site', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+SERVICE\s+INGRESS\s+HOSTNAMES$/);
    expect(table.stdout).toMatch(/^beta\s+green\s+blue\s+beta\.example\.com,www\.beta\.example\.com$/m);
    expect(table.stdout).toContain('4 sites; active canary green.');

    const json = await w.run(['site', 'list', '--ingress', 'blue', '--json']);
    expect(JSON.parse(json.stdout).map((s: { id: string }) => s.id)).toEqual(['alpha', 'beta', 'gamma']);
  });

  test('terminate: one site needs no confirmation and names what teardown will delete', async () => {
    const w = fresh();
    const r = await w.run(['site', 'terminate', 'alpha']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Removed site alpha from sites.yaml.');
    expect(r.stdout).toContain(
      'alpha: secrets aviary/sites/alpha/db, aviary/sites/alpha/admin and aviary/sites/alpha/keys (7-day recovery window), database wp_alpha and user wp_alpha, S3 prefix sites/alpha/, registry item alpha',
    );
    expect(w.read('sites.yaml')).toBe(swap(SITES_FIXTURE, SITES_FIXTURE.slice(SITES_FIXTURE.indexOf('  - id: alpha'), SITES_FIXTURE.indexOf('  # beta was')), ''));
    expect(renderFleet(loadFleet(w.path('sites.yaml'), w.path('canary.yaml'))).some((f) => f.path.startsWith('sites/alpha/'))).toBe(false);
  });

  test('terminate: more than one site needs --yes (a dry run does not)', async () => {
    const w = fresh();
    const stamp = w.stamp('sites.yaml');
    const refused = await w.run(['site', 'terminate', 'alpha', 'gamma']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('terminating 2 sites needs --yes');
    const dry = await w.run(['site', 'terminate', 'alpha', 'gamma', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('-  - id: alpha');
    expect(w.stamp('sites.yaml')).toEqual(stamp);

    const done = await w.run(['site', 'terminate', 'alpha', 'gamma', '--yes', '--json']);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout).removed).toEqual([
      { id: 'alpha', secrets: ['aviary/sites/alpha/db', 'aviary/sites/alpha/admin', 'aviary/sites/alpha/keys'], database: 'wp_alpha', databaseUser: 'wp_alpha', s3Prefix: 'sites/alpha/', registryItem: 'alpha' },
      { id: 'gamma', secrets: ['aviary/sites/gamma/db', 'aviary/sites/gamma/admin', 'aviary/sites/gamma/keys'], database: 'wp_gamma', databaseUser: 'wp_gamma', s3Prefix: 'sites/gamma/', registryItem: 'gamma' },
    ]);
    expect(loadFleet(w.path('sites.yaml'), w.path('canary.yaml')).sites.map((s) => s.id)).toEqual(['beta', 'delta']);
  });
});

test('bulk: upgrading 1,200 sites through the CLI is one edit of one file', async () => {
  const n = 1200;
  const big = fleetOf(n, 'blue');
  const w = fresh({ 'sites.yaml': big, 'canary.yaml': CANARY_FIXTURE });
  const r = await w.run(['site', 'upgrade', '--all', '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).moved).toHaveLength(n);
  expect(w.read('sites.yaml')).toBe(big.replaceAll('    service: blue\n', '    service: green\n    ingress: blue\n'));
  const again = await w.run(['site', 'upgrade', '--all']);
  expect(again.stdout).toBe(`Nothing to do: all ${n} sites are already on green, the active canary.\n`);
});
