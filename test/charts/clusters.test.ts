// Several clusters: `clusters:` in canary.yaml, `cluster:` per site. Each
// cluster gets its own services and web tier serving its own sites, under
// clusters/<name>/, and one ApplicationSet fans the sites out to their
// clusters (a list of clusters × the git folders of each).
import { describe, expect, it } from 'vitest';
import { renderShared } from '../../src/charts/render.js';
import { diffFiles } from '../../src/pipeline/git/sync.js';
import { planOf } from '../../src/pipeline/publish/plan.js';
import { InvalidInputError } from '../../src/sites/problems.js';
import type { Fleet } from '../../src/sites/types.js';
import { buildFleet, canaryDoc, siteEntry } from '../support/fixtures.js';
import { changedPaths, distOf, only, parseManifests, type K8sObject } from '../support/manifests.js';

const CLUSTERS = [
  { name: 'eu', server: 'https://eu.k8s.example.com' },
  { name: 'us', server: 'https://us.k8s.example.com:6443' },
];
const fleetOf = (sites: Record<string, unknown>[], extra: Record<string, unknown> = {}) => buildFleet(sites, canaryDoc({ clusters: CLUSTERS, ...extra }));
const twoClusters = () => fleetOf([siteEntry('alpha'), siteEntry('bravo', { cluster: 'us' }), siteEntry('charlie', { cluster: 'eu' }), siteEntry('delta', { cluster: 'us' })]);

function argo(fleet: Fleet): Record<'project' | 'services' | 'sites', K8sObject[]> {
  const files = new Map(renderShared(fleet).map((f) => [f.path, parseManifests(f.content)]));
  return { project: files.get('argocd/project.yaml')!, services: files.get('argocd/services.yaml')!, sites: files.get('argocd/sites.yaml')! };
}

/**
 * The Applications the ApplicationSet generates for a dist/, as the matrix
 * generator would: each list element's parameters substituted into the git
 * generator's path, each matching folder one Application.
 */
function generated(fleet: Fleet): Map<string, { server: string; path: string }> {
  const set = only(argo(fleet).sites, 'ApplicationSet');
  const [list, git] = set.spec.generators[0].matrix.generators;
  const out = new Map<string, { server: string; path: string }>();
  const folders = new Set([...distOf(fleet).keys()].map((p) => p.split('/').slice(0, -1).join('/')));
  for (const element of list.list.elements as Record<string, string>[]) {
    const fill = (text: string) => text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => element[key] ?? `{{${key}}}`);
    const pattern = new RegExp(`^${fill(git.git.directories[0].path).replace('*', '([^/]+)')}$`);
    for (const folder of folders) {
      const basename = pattern.exec(folder)?.[1];
      if (!basename) continue;
      const name = fill(set.spec.template.metadata.name).replace('{{path.basename}}', basename);
      expect(out.has(name), `${name} generated twice`).toBe(false);
      out.set(name, { server: fill(set.spec.template.spec.destination.server), path: fill(set.spec.template.spec.source.path).replace('{{path}}', folder) });
    }
  }
  return out;
}

describe('clusters: layout', () => {
  it("puts each cluster's services and sites under clusters/<name>/; a site without cluster: goes to the first", () => {
    const paths = [...distOf(twoClusters()).keys()].filter((p) => !p.startsWith('argocd/')).sort();
    expect(paths.filter((p) => p.includes('/sites/'))).toEqual([
      'clusters/eu/sites/alpha/alpha.yaml',
      'clusters/eu/sites/charlie/charlie.yaml',
      'clusters/us/sites/bravo/bravo.yaml',
      'clusters/us/sites/delta/delta.yaml',
    ]);
    for (const cluster of ['eu', 'us']) {
      for (const file of ['blue', 'green', 'canary-env', 'web-account']) expect(paths).toContain(`clusters/${cluster}/services/${file}.yaml`);
    }
    expect(paths.every((p) => p.startsWith('clusters/'))).toBe(true);
  });

  it("each cluster's web tier maps only its own sites' hosts", () => {
    const dist = distOf(twoClusters());
    const hosts = (cluster: string) =>
      [...dist].filter(([p]) => p.startsWith(`clusters/${cluster}/services/shard-`)).flatMap(([, c]) => parseManifests(c).filter((o) => o.kind === 'ConfigMap').flatMap((o) => Object.keys(o.data)));
    expect(hosts('eu').sort()).toEqual(['alpha.example.com', 'charlie.example.com']);
    expect(hosts('us').sort()).toEqual(['bravo.example.com', 'delta.example.com']);
  });

  it('without clusters: nothing moves, the manifests stay at the top (services/, sites/)', () => {
    const paths = [...distOf(buildFleet([siteEntry('alpha')])).keys()];
    expect(paths).toContain('sites/alpha/alpha.yaml');
    expect(paths).toContain('services/blue.yaml');
    expect(paths.some((p) => p.startsWith('clusters/'))).toBe(false);
  });

  it('a one-site change still rewrites that site file alone', () => {
    const before = distOf(twoClusters());
    const after = distOf(fleetOf([siteEntry('alpha'), siteEntry('bravo', { cluster: 'us', theme: 'kadence' }), siteEntry('charlie', { cluster: 'eu' }), siteEntry('delta', { cluster: 'us' })]));
    expect(changedPaths(before, after)).toEqual(['clusters/us/sites/bravo/bravo.yaml']);
  });
});

describe('clusters: Argo CD', () => {
  it('fans the sites out with one ApplicationSet: a list of the clusters × the site folders of each, to its server', () => {
    const apps = generated(twoClusters());
    expect([...apps.keys()].sort()).toEqual(['site-alpha', 'site-bravo', 'site-charlie', 'site-delta']);
    expect(apps.get('site-alpha')).toEqual({ server: 'https://eu.k8s.example.com', path: 'clusters/eu/sites/alpha' });
    expect(apps.get('site-bravo')).toEqual({ server: 'https://us.k8s.example.com:6443', path: 'clusters/us/sites/bravo' });
  });

  it('in shards, per cluster: Applications sites-<cluster>-<NN>', () => {
    const apps = generated(fleetOf([siteEntry('alpha'), siteEntry('bravo', { cluster: 'us' })], { argocd: { shards: 4 } }));
    expect([...apps.keys()].every((name) => /^sites-(eu|us)-[0-3]$/.test(name))).toBe(true);
    expect([...apps.values()].map((a) => a.server).sort()).toEqual(['https://eu.k8s.example.com', 'https://us.k8s.example.com:6443']);
  });

  it('one services Application per cluster, each syncing its folder to its server', () => {
    const services = argo(twoClusters()).services;
    expect(services.map((a) => [a.metadata.name, a.spec.source.path, a.spec.destination.server])).toEqual([
      ['aviary-services-eu', 'clusters/eu/services', 'https://eu.k8s.example.com'],
      ['aviary-services-us', 'clusters/us/services', 'https://us.k8s.example.com:6443'],
    ]);
  });

  it('the AppProject allows the fleet namespace on each cluster, and no other destination', () => {
    const project = only(argo(twoClusters()).project, 'AppProject');
    expect(project.spec.destinations).toEqual(CLUSTERS.map((c) => ({ server: c.server, namespace: 'wp-platform' })));
  });
});

describe('clusters: moving a site', () => {
  it("moves its file to the other cluster's folder; its objects are the same; nothing is torn down", () => {
    const before = [...distOf(twoClusters())].map(([path, content]) => ({ path, content }));
    const moved = fleetOf([siteEntry('alpha', { cluster: 'us' }), siteEntry('bravo', { cluster: 'us' }), siteEntry('charlie', { cluster: 'eu' }), siteEntry('delta', { cluster: 'us' })]);
    const after = [...distOf(moved)].map(([path, content]) => ({ path, content }));
    const changed = changedPaths(new Map(before.map((f) => [f.path, f.content])), new Map(after.map((f) => [f.path, f.content])));
    expect(changed.filter((p) => p.includes('/sites/'))).toEqual(['clusters/eu/sites/alpha/alpha.yaml', 'clusters/us/sites/alpha/alpha.yaml']);
    // Only the two clusters' web-tier shards holding alpha change besides.
    expect(changed.filter((p) => !p.includes('/sites/')).every((p) => /^clusters\/(eu|us)\/services\/shard-\d+\.yaml$/.test(p))).toBe(true);
    const plan = planOf(diffFiles(before, after));
    expect(plan.sites.map((s) => s.id)).toEqual(['alpha']);
    expect(plan.sites[0]!.objects).toEqual([]);
    expect(plan.teardown).toEqual([]);
  });
});

describe('clusters: validation', () => {
  const problemsOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      if (error instanceof InvalidInputError) return error.problems.map((p) => `${p.file} ${p.path}: ${p.message}`);
      throw error;
    }
    return [];
  };

  it('refuses a site naming a cluster canary.yaml does not declare, listing those it does', () => {
    expect(problemsOf(() => fleetOf([siteEntry('alpha', { cluster: 'asia' })]))).toEqual(['sites.yaml sites[0].cluster: "asia" is not a cluster of canary.yaml']);
    expect(problemsOf(() => buildFleet([siteEntry('alpha', { cluster: 'eu' })]))).toEqual(['sites.yaml sites[0].cluster: names cluster "eu", but canary.yaml declares no clusters']);
  });

  it('refuses duplicate cluster names and servers, a server that is not https, and an empty list', () => {
    expect(problemsOf(() => buildFleet([siteEntry('a')], canaryDoc({ clusters: [CLUSTERS[0], { ...CLUSTERS[1], name: 'eu' }] })))).toEqual([
      'canary.yaml clusters[1].name: "eu" is already the name of clusters[0]',
    ]);
    expect(problemsOf(() => buildFleet([siteEntry('a')], canaryDoc({ clusters: [CLUSTERS[0], { ...CLUSTERS[0], name: 'eu2' }] })))).toEqual([
      'canary.yaml clusters[1].server: "https://eu.k8s.example.com" is already the server of clusters[0]',
    ]);
    expect(problemsOf(() => buildFleet([siteEntry('a')], canaryDoc({ clusters: [{ name: 'eu', server: 'http://eu.example.com' }] })))).toEqual([
      'canary.yaml clusters[0].server: "http://eu.example.com" is not an https URL',
    ]);
    expect(problemsOf(() => buildFleet([siteEntry('a')], canaryDoc({ clusters: [] })))).toEqual([expect.stringMatching(/^canary\.yaml clusters: must list at least one cluster/)]);
  });
});
