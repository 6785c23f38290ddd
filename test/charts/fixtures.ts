// Fleets for the chart tests, built the way a user builds them: as YAML text
// parsed and validated by the real model (parseFleet), never as hand-made objects.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { renderFleet, renderSite } from '../../src/charts/render.js';
import { loadFleet, parseFleet } from '../../src/sites/load.js';
import { Source } from '../../src/sites/source.js';
import type { Fleet } from '../../src/sites/types.js';

/** A synthesized Kubernetes object, read back from YAML; tests walk it freely. */
export type K8sObject = Record<string, any>;

export type ColorName = 'blue' | 'green';

export const REPOSITORY = '123456789012.dkr.ecr.us-west-2.amazonaws.com/wp-fleet';

/** A realistic sha256 digest (64 lowercase hex), different for every label. */
export function digest(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

export const BLUE_DIGEST = digest('blue image 1');
export const GREEN_DIGEST = digest('green image 1');

/** One `sites.yaml` entry with sensible defaults; `overrides` may also delete a key by setting it to undefined. */
export function siteEntry(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    id,
    name: `Site ${id}`,
    theme: 'astra',
    hostnames: [`${id}.example.com`],
    service: 'blue',
    ...overrides,
  };
  for (const key of Object.keys(entry)) if (entry[key] === undefined) delete entry[key];
  return entry;
}

/** A minimal `canary.yaml` (every fleet setting left to its default), plus `extra` top-level keys. */
export function canaryDoc(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    repository: REPOSITORY,
    selector: 'green',
    services: {
      blue: { imageTag: BLUE_DIGEST, replicas: 2 },
      green: { imageTag: GREEN_DIGEST, replicas: 1 },
    },
    ...extra,
  };
}

/** As long as an id may be (MAX_ID_LENGTH), so every name derived from it is at its longest. */
export const LONGEST_ID = 'longest-site-id-twenty-nine-c';

/** Every optional fleet setting set to a non-default value. */
export const ALL_SETTINGS: Record<string, unknown> = {
  namespace: 'wp-prod',
  previewDomain: 'preview.example.dev',
  ingress: {
    className: 'haproxy',
    annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '64m', 'example.com/owner': 'web-team' },
    tlsClusterIssuer: 'letsencrypt-prod',
    scheme: 'http',
  },
  resources: {
    web: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } },
    job: { requests: { cpu: '0.1', memory: '64Mi' }, limits: { cpu: '1500m', memory: '512Mi' } },
  },
  secrets: { prefix: 'prod/wordpress', store: { kind: 'SecretStore', name: 'vault-aws' }, refreshInterval: '30m' },
  argocd: {
    repoURL: 'git@github.com:example/wp-fleet-manifests.git',
    targetRevision: 'release-2026',
    path: 'clusters/prod',
    namespace: 'gitops',
    project: 'wordpress',
  },
};

/** Parses and validates the two documents exactly as `aviary` reads the files. */
export function buildFleet(sites: readonly Record<string, unknown>[], canary: Record<string, unknown> = canaryDoc()): Fleet {
  return parseFleet(new Source('sites.yaml', stringify({ sites })), new Source('canary.yaml', stringify(canary)));
}

/** The example fleet committed at the root of the repository. */
export function exampleFleet(): Fleet {
  const root = (name: string) => fileURLToPath(new URL(`../../${name}`, import.meta.url));
  return loadFleet(root('sites.yaml'), root('canary.yaml'));
}

/** A fleet that exercises every optional setting: TLS, preview domain, both colors, several hostnames, longest id. */
export function fullFleet(): Fleet {
  return buildFleet(
    [
      siteEntry('shop', {
        name: 'Shop "Ünïcødé" & $(HOME) café',
        theme: 'twentytwentyfour',
        hostnames: ['shop.example.com', 'www.shop.example.com'],
        canonicalHostname: 'www.shop.example.com',
        service: 'green',
        ingress: 'blue',
      }),
      siteEntry(LONGEST_ID, { service: 'blue' }),
      siteEntry('promoted', { service: 'green', ingress: 'green' }),
    ],
    canaryDoc({ ...ALL_SETTINGS, selector: 'blue' }),
  );
}

/** Reads a multi-document YAML file back into objects; fails loudly on any YAML error. */
export function parseManifests(content: string): K8sObject[] {
  return parseAllDocuments(content).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`unreadable YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as K8sObject;
  });
}

/** The objects of one site's file. */
export function siteObjects(fleet: Fleet, id: string): K8sObject[] {
  const site = fleet.sites.find((s) => s.id === id);
  if (!site) throw new Error(`no site ${id} in the fleet`);
  return parseManifests(renderSite(site, fleet.canary).content);
}

/** The whole dist/ of a fleet as path → content. */
export function distOf(fleet: Fleet): Map<string, string> {
  return new Map(renderFleet(fleet).map((f) => [f.path, f.content]));
}

/** The paths whose content differs (or exists on one side only) between two dist/ trees. */
export function changedPaths(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((p) => before.get(p) !== after.get(p)).sort();
}

export function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0];
}

export function ofKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}
