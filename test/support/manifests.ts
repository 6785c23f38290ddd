import { createHash } from 'node:crypto';
// Rendered manifests and reading them back: the render of inputs given as
// text, a dist/ tree as path → content, and the Kubernetes objects of a file.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { renderFleet, renderSite, type ManifestFile } from '../../src/charts/render.js';
import { parseFleet } from '../../src/sites/load.js';
import { Source } from '../../src/sites/source.js';
import type { Fleet } from '../../src/sites/types.js';
import { GIT_ENV } from './git.js';

/** A synthesized Kubernetes object, read back from YAML; tests walk it freely. */
export type K8sObject = Record<string, any>;

/** The manifests of inputs given as text (no salt: tests compare renders with renders). */
export function render(sites: string, canary: string): ManifestFile[] {
  return renderFleet(parseFleet(new Source('sites.yaml', sites), new Source('canary.yaml', canary)));
}

/** Rendered files as path → content. */
export function asMap(files: readonly ManifestFile[]): Map<string, string> {
  return new Map(files.map((f) => [f.path, f.content]));
}

/** The whole dist/ of a fleet as path → content. */
export function distOf(fleet: Fleet): Map<string, string> {
  return asMap(renderFleet(fleet));
}

/** Every file under `dir` (a dist/ folder on disk), by path relative to it. */
export function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

/** The paths whose content differs (or exists on one side only) between two dist/ trees. */
export function changedPaths(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((p) => before.get(p) !== after.get(p)).sort();
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

export function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0];
}

export function ofKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

/**
 * The web-tier shard of a site as its file name suffix (`07` of 32), written
 * out from the contract rather than taken from the charts: the first 4
 * bytes of sha256(id), mod the shard count, padded to the width of the largest.
 */
export function shardSuffixOf(id: string, shards = 32): string {
  return String(createHash('sha256').update(id).digest().readUInt32BE(0) % shards).padStart(String(shards - 1).length, '0');
}

/** The web-tier shard file of a site. */
export function shardFile(id: string, shards = 32): string {
  return `services/shard-${shardSuffixOf(id, shards)}.yaml`;
}

/** The color a site file's Jobs run on (AVIARY_COLOR of the web contract): the site's `service`. */
export function serviceColorIn(siteFile: string | undefined): string | undefined {
  const job = parseManifests(siteFile ?? '').find((o) => o.kind === 'Job');
  return job?.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'AVIARY_COLOR')?.value;
}

/**
 * The color the manifests on `main` of a manifests repo route site `id`'s
 * public hostnames to (its Ingress), as a cluster synced to them would serve
 * it; undefined when the site is not published. Test web servers play the
 * cluster with it.
 */
export function routedColor(manifestsRepo: string, id: string): string | undefined {
  return servedColor(manifestsRepo, id);
}

/**
 * The color that serves one request for site `id`, as ingress-nginx would
 * with the manifests on `main`: with `X-Aviary-Canary: always` (`pin`) a
 * weighted site's canary Ingress, with `never` or no header its main
 * Ingress (a test stands in for the weighted draw with the heavier color).
 */
export function servedColor(manifestsRepo: string, id: string, pin?: string): string | undefined {
  let file: string;
  try {
    file = execFileSync('git', ['show', `main:sites/${id}/${id}.yaml`], { cwd: manifestsRepo, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  const ingresses = parseManifests(file).filter((o) => o.kind === 'Ingress');
  const canary = ingresses.find((o) => o.metadata.name === `${id}.canary`);
  const chosen = pin === 'always' && canary ? canary : ingresses.find((o) => o.metadata.name === id);
  return chosen?.spec.rules[0].http.paths[0].backend.service.name;
}
