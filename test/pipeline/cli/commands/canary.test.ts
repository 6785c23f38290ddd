import { parseAllDocuments } from 'yaml';
import { describe, expect, test } from 'vitest';
import { renderFleet } from '../../../../src/charts/render.js';
import { loadFleet } from '../../../../src/sites/load.js';
import { workdirs, type Workdir } from '../../../support/cli.js';
import { CANARY_FIXTURE, DIGEST_BLUE, DIGEST_GREEN, DIGEST_NEW, REPOSITORY, SITES_FIXTURE, swap } from '../../../support/fixtures.js';

// The spawned `aviary canary …` commands, sequential for the same reason as site.test.ts.

const fresh = workdirs();

interface K8s {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec: {
    rules?: Array<{ host: string; http: { paths: Array<{ backend: { service: { name: string } } }> } }>;
    template?: { spec: { containers: Array<{ image: string }> } };
  };
}

/** The synthesized objects, by file, read back with the yaml parser. */
function synthesized(w: Workdir): Map<string, K8s[]> {
  const files = renderFleet(loadFleet(w.path('sites.yaml'), w.path('canary.yaml')));
  return new Map(files.map((f) => [f.path, parseAllDocuments(f.content).map((d) => d.toJS() as K8s)]));
}

function jobs(objects: Map<string, K8s[]>, id: string): K8s[] {
  return (objects.get(`sites/${id}/${id}.yaml`) ?? []).filter((o) => o.kind === 'Job');
}

function canaryEnv(objects: Map<string, K8s[]>): { selector: string; image: string } {
  const map = [...objects.values()].flat().find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'canary-env');
  return JSON.parse(map!.data!.canaryEnv);
}

describe('aviary canary select', () => {
  test('switches the selector (comment kept in its column); the canary-env ConfigMap follows', async () => {
    const w = fresh();
    const sites = w.stamp('sites.yaml');
    const r = await w.run(['canary', 'select', 'blue']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('The active canary is now blue (was green)');
    expect(w.read('canary.yaml')).toBe(swap(CANARY_FIXTURE, 'selector: green        #', 'selector: blue         #'));
    expect(w.stamp('sites.yaml')).toEqual(sites);
    expect(canaryEnv(synthesized(w))).toEqual({ selector: 'blue', image: `${REPOSITORY}@sha256:${DIGEST_BLUE}` });
  });

  test('selecting the active color says so and touches nothing; an unknown color is a usage error', async () => {
    const w = fresh();
    const stamp = w.stamp('canary.yaml');
    const r = await w.run(['canary', 'select', 'green']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('green is already the active canary; nothing changed.\n');
    const bad = await w.run(['canary', 'select', 'red']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Allowed choices are blue, green');
    expect(w.stamp('canary.yaml')).toEqual(stamp);
  });
});

describe('aviary canary set-image', () => {
  test('sets the digest of the active color (quotes kept); the Jobs of the sites on it rerun with it, the others do not', async () => {
    const w = fresh();
    const before = synthesized(w);
    const r = await w.run(['canary', 'set-image', `sha256:${DIGEST_NEW}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2 sites on green update their database for it (update-db Job) and flush caches: beta, delta.');
    expect(w.read('canary.yaml')).toBe(swap(CANARY_FIXTURE, `"${DIGEST_GREEN}"`, `"${DIGEST_NEW}"`));
    expect(w.read('sites.yaml')).toBe(SITES_FIXTURE);

    const after = synthesized(w);
    for (const id of ['beta', 'delta']) {
      expect(jobs(after, id).map((j) => j.spec.template!.spec.containers[0].image)).toEqual(Array(4).fill(`${REPOSITORY}@sha256:${DIGEST_NEW}`));
      // New names for what depends on the image: Argo CD creates those Jobs, so they run; install and theme do not run again.
      const renamed = jobs(after, id).filter((j) => !jobs(before, id).some((b) => b.metadata.name === j.metadata.name));
      expect(renamed.map((j) => j.metadata.labels!['aviary.io/job'])).toEqual(['update-db', 'flush']);
    }
    expect(jobs(after, 'alpha')).toEqual(jobs(before, 'alpha'));
    expect(canaryEnv(after).image).toBe(`${REPOSITORY}@sha256:${DIGEST_NEW}`);
  });

  test('--promote also switches the traffic of the sites on the canary color', async () => {
    const w = fresh();
    const r = await w.run(['canary', 'set-image', DIGEST_NEW, '--promote', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ changed: true, files: ['sites.yaml', 'canary.yaml'], color: 'green', rerun: ['beta', 'delta'] });
    expect(out.promoted.map((m: { id: string }) => m.id)).toEqual(['beta']);
    expect(w.read('sites.yaml')).toBe(swap(SITES_FIXTURE, '    ingress: blue   # traffic stays on blue\n', ''));
    // The public hostnames and the preview (its own Ingress): all on green.
    const ingresses = synthesized(w).get('sites/beta/beta.yaml')!.filter((o) => o.kind === 'Ingress');
    expect(ingresses.flatMap((i) => i.spec.rules!).map((rule) => rule.http.paths[0].backend.service.name)).toEqual(['green', 'green', 'green']);
  });

  test('a tag that is not a digest is refused, files untouched; the same digest again is a no-op', async () => {
    const w = fresh();
    const stamps = [w.stamp('sites.yaml'), w.stamp('canary.yaml')];
    const bad = await w.run(['canary', 'set-image', 'latest']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^canary\.yaml:7:15: services\.green\.imageTag: "latest" is not a sha256 digest \(after this edit; refused\)/m);
    const same = await w.run(['canary', 'set-image', DIGEST_GREEN]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/already runs sha256:216c0204a7f3…; nothing changed/);
    expect([w.stamp('sites.yaml'), w.stamp('canary.yaml')]).toEqual(stamps);
  });

  test('--dry-run shows the diff of both files and writes nothing', async () => {
    const w = fresh();
    const stamps = [w.stamp('sites.yaml'), w.stamp('canary.yaml')];
    const r = await w.run(['canary', 'set-image', DIGEST_NEW, '--promote', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`--- sites.yaml\n+++ sites.yaml\n`);
    expect(r.stdout).toContain(`-    imageTag: "${DIGEST_GREEN}"   # pushed by CI\n+    imageTag: "${DIGEST_NEW}"   # pushed by CI\n`);
    expect(r.stdout).toMatch(/Dry run: nothing was written\.\n$/);
    expect([w.stamp('sites.yaml'), w.stamp('canary.yaml')]).toEqual(stamps);
  });

  test('--help describes the command', async () => {
    const w = fresh();
    const r = await w.run(['canary', 'set-image', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: aviary canary set-image [options] <digest>');
    expect(r.stdout).toContain('--promote');
  });
});
