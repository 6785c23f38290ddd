// The inputs tests are made of: sites.yaml and canary.yaml as text (written
// by hand, or generated a block per site) and as objects parsed by the real
// model, parsed Site objects, and scratch folders to write them in.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';
import { stringify } from 'yaml';
import { loadFleet, parseFleet } from '../../src/sites/load.js';
import { Source } from '../../src/sites/source.js';
import type { Fleet, Site } from '../../src/sites/types.js';

/** The repository's root: the example sites.yaml / canary.yaml, dist/ and lib/ are there. */
export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** A new empty folder under the system's temporary folder. */
export function tempDir(prefix = 'aviary-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A tempDir for the tests of a file (or describe block), removed after them: call it while the tests are collected. */
export function scratchDir(prefix?: string): string {
  const dir = tempDir(prefix);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---- images ----

export const REPOSITORY = '123456789012.dkr.ecr.us-west-2.amazonaws.com/wp-fleet';

/** A realistic sha256 digest (64 lowercase hex), different for every label. */
export function digest(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

/** The images of the two colors in every fixture below, and one to move a color to. */
export const DIGEST_BLUE = '1274e8bc5c4d1d6b0f3a52e1b4f0e7d2a9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a';
export const DIGEST_GREEN = '216c0204a7f3e9d8c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4';
export const DIGEST_NEW = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

// ---- hand-written texts, for the editing commands ----

/**
 * A sites.yaml with what people write by hand: comments above, beside and
 * below entries, blank lines, both quote styles, a flow-style entry, a block
 * and a flow hostname list, an upgraded-not-promoted site (explicit ingress).
 */
export const SITES_FIXTURE = `# The fleet: one entry per site.
sites:
  - id: alpha                     # the first site
    name: "Alpha | one"
    theme: astra
    hostnames: [alpha.example.com]
    canonicalHostname: alpha.example.com
    service: blue                 # on blue for now

  # beta was upgraded, not promoted
  - id: beta
    name: 'Beta'
    theme: kadence
    hostnames:
      - beta.example.com
      - www.beta.example.com
    canonicalHostname: www.beta.example.com
    service: green
    ingress: blue   # traffic stays on blue

  - { id: gamma, name: Gamma, theme: astra, hostnames: [gamma.example.com], service: blue }

  - id: delta
    name: Delta
    theme: twentytwentyfour
    hostnames: [delta.example.com, www.delta.example.com]
    service: green
# end of the fleet
`;

/** green is the active canary; green's digest is double-quoted on purpose (quoting must survive an edit). */
export const CANARY_FIXTURE = `# The two colors.
repository: ${REPOSITORY}
selector: green        # the active canary
services:
  blue:  { imageTag: ${DIGEST_BLUE}, replicas: 2 }
  green:
    imageTag: "${DIGEST_GREEN}"   # pushed by CI
    replicas: 1

previewDomain: preview.example.com
`;

/** `text` with its one occurrence of `from` replaced by `to`; throws unless `from` occurs exactly once. */
export function swap(text: string, from: string, to: string): string {
  if (text.split(from).length !== 2) throw new Error(`expected exactly one ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

// ---- generated texts ----

/** A sites.yaml of `n` generated sites, `color` for all, with a comment and a blank line per entry. */
export function fleetOf(n: number, color: ColorName = 'blue'): string {
  const entries = Array.from({ length: n }, (_, i) => {
    const id = `site-${String(i).padStart(5, '0')}`;
    return `  # site number ${i}\n  - id: ${id}\n    name: "Site ${i}"\n    theme: astra\n    hostnames: [${id}.example.com]\n    service: ${color}\n`;
  });
  return `# generated\nsites:\n${entries.join('\n')}`;
}

export type ColorName = 'blue' | 'green';

export interface SiteSpec {
  id: string;
  service?: ColorName;
  ingress?: ColorName;
  theme?: string;
}

/**
 * One block per site, blank lines between and a comment closing each, far
 * enough apart that edits (and merges, and reverts) of different sites never
 * touch the same lines.
 */
export function sitesYaml(sites: readonly SiteSpec[]): string {
  if (sites.length === 0) return 'sites: []\n';
  const blocks = sites.map((s) =>
    [
      `  - id: ${s.id}`,
      `    name: "Site ${s.id}"`,
      `    service: ${s.service ?? 'blue'}`,
      ...(s.ingress ? [`    ingress: ${s.ingress}`] : []),
      `    theme: ${s.theme ?? 'astra'}`,
      `    hostnames: [${s.id}.example.com]`,
      `    # end of ${s.id}`,
    ].join('\n'),
  );
  return `sites:\n${blocks.join('\n\n')}\n`;
}

/** A minimal canary.yaml: green is the canary, every fleet setting left to its default; `extra` is YAML text appended. */
export function canaryYaml({ selector = 'green', blue = DIGEST_BLUE, green = DIGEST_GREEN, extra = '' } = {}): string {
  return stringify(canaryDoc({ selector, services: { blue: { imageTag: blue, replicas: 2 }, green: { imageTag: green, replicas: 1 } } })) + extra;
}

// ---- the same documents as objects, for the chart tests ----

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
      blue: { imageTag: DIGEST_BLUE, replicas: 2 },
      green: { imageTag: DIGEST_GREEN, replicas: 1 },
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
  web: { serviceAccount: { name: 'wp-web', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/wp-web' } }, shards: 8 },
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
  return loadFleet(join(REPO_ROOT, 'sites.yaml'), join(REPO_ROOT, 'canary.yaml'));
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
    canaryDoc({
      ...ALL_SETTINGS,
      selector: 'blue',
      services: { blue: { imageTag: DIGEST_BLUE, replicas: 2, autoscale: { maxReplicas: 10, targetCPUUtilization: 60 } }, green: { imageTag: DIGEST_GREEN, replicas: 1 } },
    }),
  );
}

/** A site as the model holds it once parsed, for the hook's functions. */
export function site(id: string, extra: Partial<Site> = {}): Site {
  const host = `${id}.example.com`;
  return { id, name: `Site ${id}`, theme: 'astra', hostnames: [host], canonicalHostname: host, service: 'blue', ingress: 'blue', rerun: { install: 0, theme: 0, flush: 0 }, ...extra };
}
