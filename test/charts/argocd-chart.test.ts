// The Argo CD bootstrap, read back from the synthesized YAML: the services
// Application and the ApplicationSet making one Application per site folder.
import { describe, expect, it } from 'vitest';
import { renderShared } from '../../src/charts/render.js';
import type { Fleet } from '../../src/sites/types.js';
import { buildFleet, canaryDoc, exampleFleet, fullFleet, siteEntry } from '../support/fixtures.js';
import { changedPaths, distOf, only, parseManifests, type K8sObject } from '../support/manifests.js';

const PART_OF = { 'app.kubernetes.io/part-of': 'aviary', 'app.kubernetes.io/managed-by': 'aviary' };
const FINALIZER = 'resources-finalizer.argocd.argoproj.io';
const IN_CLUSTER = 'https://kubernetes.default.svc';

function argo(fleet: Fleet): { application: K8sObject; applicationSet: K8sObject } {
  const files = renderShared(fleet).filter((f) => f.path.startsWith('argocd/'));
  expect(files.map((f) => f.path)).toEqual(['argocd/services.yaml', 'argocd/sites.yaml']);
  return {
    application: only(parseManifests(files[0].content), 'Application'),
    applicationSet: only(parseManifests(files[1].content), 'ApplicationSet'),
  };
}

describe('argocd chart: the services Application', () => {
  it('syncs services/ of the manifests repo into the fleet namespace, pruning and self-healing (example fleet)', () => {
    const { application } = argo(exampleFleet());
    expect(application.apiVersion).toBe('argoproj.io/v1alpha1');
    expect(application.kind).toBe('Application');
    expect(application.metadata).toEqual({ name: 'aviary-services', namespace: 'argocd', labels: PART_OF, finalizers: [FINALIZER] });
    expect(application.spec.project).toBe('default');
    expect(application.spec.source).toEqual({
      repoURL: 'https://github.com/example/wp-fleet-manifests.git',
      targetRevision: 'main',
      path: 'services',
    });
    expect(application.spec.destination).toEqual({ server: IN_CLUSTER, namespace: 'wp-platform' });
    expect(application.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
    expect(application.spec.syncPolicy.syncOptions).toContain('CreateNamespace=true');
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

  it('defaults: the placeholder repo URL, main, path services, project default, namespace argocd', () => {
    const { application } = argo(buildFleet([siteEntry('a')]));
    expect(application.metadata.namespace).toBe('argocd');
    expect(application.spec.source).toEqual({ repoURL: 'https://git.example.com/wp-fleet-manifests.git', targetRevision: 'main', path: 'services' });
    expect(application.spec.project).toBe('default');
    expect(application.spec.destination.namespace).toBe('wp-platform');
  });
});

describe('argocd chart: the sites ApplicationSet', () => {
  it('generates one Application site-<folder> per directory under sites/* (example fleet)', () => {
    const { applicationSet } = argo(exampleFleet());
    expect(applicationSet.apiVersion).toBe('argoproj.io/v1alpha1');
    expect(applicationSet.metadata).toEqual({ name: 'aviary-sites', namespace: 'argocd', labels: PART_OF });
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
    // Deleting a site's Application (its folder is gone) deletes what it deployed.
    expect(metadata.finalizers).toEqual([FINALIZER]);
    expect(spec.project).toBe('default');
    expect(spec.source).toEqual({ repoURL: 'https://github.com/example/wp-fleet-manifests.git', targetRevision: 'main', path: '{{path}}' });
    expect(spec.destination).toEqual({ server: IN_CLUSTER, namespace: 'wp-platform' });
    // prune: a Job whose name changed is replaced, the old one removed.
    expect(spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
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
      expect(changedPaths(before, after).filter((p) => p.startsWith('argocd/'))).toEqual([]);
    }
  });

  it('an image or selector change leaves both files byte-identical', () => {
    const before = distOf(buildFleet(sites));
    const after = distOf(buildFleet(sites, canaryDoc({ selector: 'blue' })));
    expect(changedPaths(before, after).filter((p) => p.startsWith('argocd/'))).toEqual([]);
  });

  it('an Argo CD setting changes both files', () => {
    const before = distOf(buildFleet(sites));
    const after = distOf(buildFleet(sites, canaryDoc({ argocd: { targetRevision: 'prod' } })));
    expect(changedPaths(before, after).filter((p) => p.startsWith('argocd/'))).toEqual(['argocd/services.yaml', 'argocd/sites.yaml']);
  });
});
