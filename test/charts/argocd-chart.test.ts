// The Argo CD bootstrap, read back from the synthesized YAML: the services
// Application and the ApplicationSet making one Application per site folder.
import { describe, expect, it } from 'vitest';
import { renderShared } from '../../src/charts/render.js';
import type { Fleet } from '../../src/sites/types.js';
import { buildFleet, canaryDoc, DIGEST_BLUE, DIGEST_GREEN, exampleFleet, fullFleet, siteEntry } from '../support/fixtures.js';
import { changedPaths, distOf, only, parseManifests, type K8sObject } from '../support/manifests.js';

const PART_OF = { 'app.kubernetes.io/part-of': 'aviary', 'app.kubernetes.io/managed-by': 'aviary' };
const FINALIZER = 'resources-finalizer.argocd.argoproj.io';
const IN_CLUSTER = 'https://kubernetes.default.svc';
const GENERATE_PATHS = { 'argocd.argoproj.io/manifest-generate-paths': '.' };

function argo(fleet: Fleet): { project: K8sObject; application: K8sObject; applicationSet: K8sObject } {
  const files = renderShared(fleet).filter((f) => f.path.startsWith('argocd/'));
  expect(files.map((f) => f.path)).toEqual(['argocd/project.yaml', 'argocd/services.yaml', 'argocd/sites.yaml']);
  return {
    project: only(parseManifests(files[0].content), 'AppProject'),
    application: only(parseManifests(files[1].content), 'Application'),
    applicationSet: only(parseManifests(files[2].content), 'ApplicationSet'),
  };
}

describe('argocd chart: the AppProject', () => {
  it('allows the manifests repository, the fleet namespace of this cluster, and the kinds Aviary generates, nothing else', () => {
    const { project } = argo(exampleFleet());
    expect(project.metadata).toEqual({ name: 'aviary', namespace: 'argocd', labels: PART_OF });
    expect(project.spec.sourceRepos).toEqual(['https://github.com/example/wp-fleet-manifests.git']);
    expect(project.spec.destinations).toEqual([{ server: IN_CLUSTER, namespace: 'wp-platform' }]);
    // CreateNamespace=true needs the Namespace; no other cluster-scoped object.
    expect(project.spec.clusterResourceWhitelist).toEqual([{ group: '', kind: 'Namespace' }]);
    expect(project.spec).not.toHaveProperty('namespaceResourceBlacklist');
  });

  it('whitelists every kind a fleet using every setting generates, and no kind it does not', () => {
    const generated = new Set<string>();
    for (const fleet of [exampleFleet(), fullFleet(), buildFleet([siteEntry('a')], canaryDoc({ services: { blue: { imageTag: DIGEST_BLUE, replicas: 1, autoscale: { maxReplicas: 3 } }, green: { imageTag: DIGEST_GREEN, replicas: 1 } } }))]) {
      for (const [path, content] of distOf(fleet)) {
        if (path.startsWith('argocd/')) continue;
        for (const o of parseManifests(content)) generated.add(`${String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/')[0] : ''}/${o.kind}`);
      }
    }
    const allowed = argo(fullFleet()).project.spec.namespaceResourceWhitelist.map((k: { group: string; kind: string }) => `${k.group}/${k.kind}`);
    expect([...generated].sort()).toEqual([...allowed].sort());
  });

  it('follows argocd.project, repoURL and the namespace; refuses Argo CD\'s own default project', () => {
    const { project } = argo(fullFleet());
    expect(project.metadata.name).toBe('wordpress');
    expect(project.spec.sourceRepos).toEqual(['git@github.com:example/wp-fleet-manifests.git']);
    expect(project.spec.destinations).toEqual([{ server: IN_CLUSTER, namespace: 'wp-prod' }]);
    expect(() => buildFleet([siteEntry('a')], canaryDoc({ argocd: { project: 'default' } }))).toThrow(/argocd\.project.*Argo CD's own project/s);
  });
});

describe('argocd chart: nothing cascades', () => {
  it('no Application carries the resources finalizer: deleting one leaves what it deployed running', () => {
    const { application, applicationSet } = argo(exampleFleet());
    expect(application.metadata).not.toHaveProperty('finalizers');
    expect(applicationSet.spec.template.metadata).not.toHaveProperty('finalizers');
  });

  it('the ApplicationSet never deletes an Application, and orphans them when it is deleted or renamed', () => {
    const { applicationSet } = argo(exampleFleet());
    expect(applicationSet.spec.syncPolicy).toEqual({ applicationsSync: 'create-update', preserveResourcesOnDeletion: true });
    // Its own finalizer gives its controller the time to remove the owner references before Kubernetes' garbage collector acts.
    expect(applicationSet.metadata.finalizers).toEqual([FINALIZER]);
  });
});

describe('argocd chart: the services Application', () => {
  it('syncs services/ of the manifests repo into the fleet namespace, pruning and self-healing (example fleet)', () => {
    const { application } = argo(exampleFleet());
    expect(application.apiVersion).toBe('argoproj.io/v1alpha1');
    expect(application.kind).toBe('Application');
    expect(application.metadata).toEqual({ name: 'aviary-services', namespace: 'argocd', labels: PART_OF, annotations: GENERATE_PATHS });
    expect(application.spec.project).toBe('aviary');
    expect(application.spec.source).toEqual({
      repoURL: 'https://github.com/example/wp-fleet-manifests.git',
      targetRevision: 'main',
      path: 'services',
    });
    expect(application.spec.destination).toEqual({ server: IN_CLUSTER, namespace: 'wp-platform' });
    expect(application.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
    expect(application.spec.syncPolicy.syncOptions).toEqual(['CreateNamespace=true', 'ApplyOutOfSyncOnly=true']);
    expect(application.spec.syncPolicy.retry).toEqual({ limit: 5, backoff: { duration: '30s', factor: 2, maxDuration: '10m' } });
  });

  it('uses <argocd.path>/services, the repo, revision, project and namespaces of the settings', () => {
    const { application } = argo(fullFleet());
    expect(application.metadata.namespace).toBe('gitops');
    expect(application.spec.project).toBe('wordpress');
    expect(application.spec.source).toEqual({
      repoURL: 'git@github.com:example/wp-fleet-manifests.git',
      targetRevision: 'release-2026',
      path: 'clusters/prod/services',
    });
    expect(application.spec.destination).toEqual({ server: IN_CLUSTER, namespace: 'wp-prod' });
  });

  it('defaults: the placeholder repo URL, main, path services, project aviary, namespace argocd', () => {
    const { application } = argo(buildFleet([siteEntry('a')]));
    expect(application.metadata.namespace).toBe('argocd');
    expect(application.spec.source).toEqual({ repoURL: 'https://git.example.com/wp-fleet-manifests.git', targetRevision: 'main', path: 'services' });
    expect(application.spec.project).toBe('aviary');
    expect(application.spec.destination.namespace).toBe('wp-platform');
  });
});

describe('argocd chart: the sites ApplicationSet', () => {
  it('generates one Application site-<folder> per directory under sites/* (example fleet)', () => {
    const { applicationSet } = argo(exampleFleet());
    expect(applicationSet.apiVersion).toBe('argoproj.io/v1alpha1');
    expect(applicationSet.metadata).toEqual({ name: 'aviary-sites', namespace: 'argocd', labels: PART_OF, finalizers: [FINALIZER] });
    expect(applicationSet.spec.generators).toEqual([
      {
        git: {
          repoURL: 'https://github.com/example/wp-fleet-manifests.git',
          revision: 'main',
          directories: [{ path: 'sites/*' }],
        },
      },
    ]);
    const { metadata, spec } = applicationSet.spec.template;
    expect(metadata.name).toBe('site-{{path.basename}}');
    expect(metadata.labels).toEqual({ ...PART_OF, 'aviary.io/site': '{{path.basename}}' });
    // Only a commit touching the site's own folder refreshes its manifests.
    expect(metadata.annotations).toEqual(GENERATE_PATHS);
    expect(spec.project).toBe('aviary');
    expect(spec.source).toEqual({ repoURL: 'https://github.com/example/wp-fleet-manifests.git', targetRevision: 'main', path: '{{path}}' });
    expect(spec.destination).toEqual({ server: IN_CLUSTER, namespace: 'wp-platform' });
    // prune: a Job whose name changed is replaced, the old one removed.
    expect(spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
    expect(spec.syncPolicy.syncOptions).toEqual(['CreateNamespace=true', 'ApplyOutOfSyncOnly=true', 'RespectIgnoreDifferences=true']);
    expect(spec.syncPolicy.retry).toEqual({ limit: 5, backoff: { duration: '30s', factor: 2, maxDuration: '10m' } });
    // A Job keeps what it was created with (site-chart.ts): its template and its Kueue queue.
    expect(spec.ignoreDifferences).toEqual([{ group: 'batch', kind: 'Job', jsonPointers: ['/spec/template', '/metadata/labels/kueue.x-k8s.io~1queue-name'] }]);
  });

  it('generates from <argocd.path>/sites/* with the settings', () => {
    const { applicationSet } = argo(fullFleet());
    expect(applicationSet.metadata.namespace).toBe('gitops');
    expect(applicationSet.spec.generators[0].git).toEqual({
      repoURL: 'git@github.com:example/wp-fleet-manifests.git',
      revision: 'release-2026',
      directories: [{ path: 'clusters/prod/sites/*' }],
    });
    expect(applicationSet.spec.template.spec.project).toBe('wordpress');
    expect(applicationSet.spec.template.spec.source.targetRevision).toBe('release-2026');
    expect(applicationSet.spec.template.spec.destination.namespace).toBe('wp-prod');
  });

  it('its directory pattern matches the folders synth writes the sites into', () => {
    const fleet = exampleFleet();
    const pattern: string = argo(fleet).applicationSet.spec.generators[0].git.directories[0].path;
    const folders = new Set([...distOf(fleet).keys()].filter((p) => p.startsWith('sites/')).map((p) => p.split('/').slice(0, 2).join('/')));
    expect(folders.size).toBe(fleet.sites.length);
    const glob = new RegExp(`^${pattern.replace('*', '[^/]+')}$`);
    for (const folder of folders) expect(folder).toMatch(glob);
  });
});

describe('argocd chart: stability', () => {
  const sites = [siteEntry('one'), siteEntry('two', { service: 'green' })];

  it('adding, changing or removing sites leaves both files byte-identical', () => {
    const before = distOf(buildFleet(sites));
    const variants = [
      buildFleet([...sites, siteEntry('three')]),
      buildFleet([sites[0]]),
      buildFleet([{ ...sites[0], theme: 'kadence', service: 'green' }, sites[1]]),
    ];
    for (const fleet of variants) {
      const after = distOf(fleet);
      expect(after.get('argocd/services.yaml')).toBe(before.get('argocd/services.yaml'));
      expect(after.get('argocd/sites.yaml')).toBe(before.get('argocd/sites.yaml'));
      expect(after.get('argocd/project.yaml')).toBe(before.get('argocd/project.yaml'));
      expect(changedPaths(before, after).filter((p) => p.startsWith('argocd/'))).toEqual([]);
    }
  });

  it('an image or selector change leaves both files byte-identical', () => {
    const before = distOf(buildFleet(sites));
    const after = distOf(buildFleet(sites, canaryDoc({ selector: 'blue' })));
    expect(changedPaths(before, after).filter((p) => p.startsWith('argocd/'))).toEqual([]);
  });

  it('the revision changes the Applications; the repository changes the project too', () => {
    const before = distOf(buildFleet(sites));
    const revision = distOf(buildFleet(sites, canaryDoc({ argocd: { targetRevision: 'prod' } })));
    expect(changedPaths(before, revision).filter((p) => p.startsWith('argocd/'))).toEqual(['argocd/services.yaml', 'argocd/sites.yaml']);
    const repo = distOf(buildFleet(sites, canaryDoc({ argocd: { repoURL: 'https://git.example.com/other.git' } })));
    expect(changedPaths(before, repo).filter((p) => p.startsWith('argocd/'))).toEqual(['argocd/project.yaml', 'argocd/services.yaml', 'argocd/sites.yaml']);
  });
});
