import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InvalidInputError, quote, type Problem } from './problems.js';
import { RULES, ruleContext } from './rules.js';
import { canaryFileSchema, MAX_ARGOCD_SHARDS, MAX_SITES_PER_APPLICATION, MAX_SITES_PER_SHARD, MAX_WEB_SHARDS, sitesFileSchema, type CanaryFile, type SitesFile } from './schema.js';
import { webShard } from './names.js';
import { Source } from './source.js';
import { IN_CLUSTER, JOB_KINDS, type Canary, type Color, type Fleet, type Site } from './types.js';

/** Reads, validates and cross-checks both input files; throws InvalidInputError listing every problem. */
export function loadFleet(sitesPath: string, canaryPath: string): Fleet {
  const sites = readSource(sitesPath);
  const canary = readSource(canaryPath);
  const unreadable = [sites, canary].filter((s): s is Problem => !(s instanceof Source));
  if (unreadable.length > 0) throw new InvalidInputError(unreadable);
  return parseFleet(sites as Source, canary as Source);
}

/**
 * Reads and validates `canary.yaml` alone, for what needs only the fleet's
 * settings (where the manifests go) before the sites are loaded.
 */
export function loadCanary(canaryPath: string): Canary {
  const source = readSource(canaryPath);
  if (!(source instanceof Source)) throw new InvalidInputError([source]);
  const { data, problems } = check(source, canaryFileSchema, 'repository, selector and services');
  if (!data) throw new InvalidInputError(atMost(problems), problems.length);
  return toCanary(data);
}

export function readSource(path: string): Source | Problem {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message;
    return { file: path, line: 0, column: 0, path: '', message: reason, hint: 'pass the right path with --sites / --canary' };
  }
  const text = bytes.toString('utf8');
  return isUtf8(bytes) ? new Source(path, text) : invalidUtf8(path, bytes, text);
}

/**
 * Decoding replaces invalid bytes with U+FFFD, which would then pass for a
 * title or land in a manifest; the first byte where re-encoding differs is
 * the first invalid one, and the text before it gives the line and column.
 */
function invalidUtf8(path: string, bytes: Buffer, text: string): Problem {
  const valid = Buffer.from(text, 'utf8');
  let at = 0;
  while (at < bytes.length && bytes[at] === valid[at]) at++;
  const before = bytes.subarray(0, at).toString('utf8');
  const lineStart = before.lastIndexOf('\n') + 1;
  return {
    file: path,
    line: before.split('\n').length,
    column: before.length - lineStart + 1,
    path: '',
    message: `the file is not valid UTF-8 (byte 0x${bytes[at].toString(16).padStart(2, '0')} at offset ${at})`,
    hint: 'save it as UTF-8',
  };
}

/** Problems listed at most; a file of 100,000 bad entries would otherwise print a line for each. */
export const MAX_PROBLEMS = 100;

/** Validates two parsed files together. Both are always checked, so the user sees every problem at once. */
export function parseFleet(sitesSource: Source, canarySource: Source): Fleet {
  const sites = check(sitesSource, sitesFileSchema, 'a list of sites under "sites:"');
  const canary = check(canarySource, canaryFileSchema, 'repository, selector and services');
  const problems = [...sites.problems, ...canary.problems];
  if (sitesSource.syntaxProblems().length === 0) {
    const ctx = ruleContext(sitesSource, sitesSource.toJS(), canarySource.syntaxProblems().length === 0 ? canarySource.toJS() : {});
    for (const rule of RULES) problems.push(...rule(ctx));
  }
  if (problems.length > 0 || !sites.data || !canary.data) {
    const order = (p: Problem) => (p.file === sitesSource.file ? 0 : 1);
    throw new InvalidInputError(atMost(problems.sort((a, b) => order(a) - order(b) || a.line - b.line || a.column - b.column)), problems.length);
  }
  const fleet = toFleet(sites.data, canary.data);
  const crowded = crowdedShard(fleet);
  if (crowded) throw new InvalidInputError([canarySource.problem(canarySource.has(['web', 'shards']) ? ['web', 'shards'] : [], crowded.message, crowded.hint)]);
  const crowdedApp = crowdedApplication(fleet);
  if (crowdedApp) throw new InvalidInputError([canarySource.problem(['argocd', 'shards'], crowdedApp.message, crowdedApp.hint)]);
  return fleet;
}

/** With `argocd.shards`, each shard's Application must stay small enough for Argo CD to sync it. */
function crowdedApplication(fleet: Fleet): { message: string; hint: string } | undefined {
  const { shards } = fleet.canary.settings.argocd;
  if (!shards) return undefined;
  const sites = new Map<string, number>();
  for (const site of fleet.sites) {
    const shard = `${site.cluster}/${webShard(site.id, shards)}`;
    sites.set(shard, (sites.get(shard) ?? 0) + 1);
  }
  const most = Math.max(0, ...sites.values());
  if (most <= MAX_SITES_PER_APPLICATION) return undefined;
  const enough = Math.min(Math.ceil((shards * most) / MAX_SITES_PER_APPLICATION / 0.75), MAX_ARGOCD_SHARDS);
  return {
    message: `argocd.shards ${shards} puts ${most} sites in one Application, more than ${MAX_SITES_PER_APPLICATION} (Argo CD fails to sync an Application of a few thousand objects)`,
    hint: `set argocd.shards to ${enough} or more in canary.yaml (sites move between Applications once: aviary plan shows which)`,
  };
}

/**
 * The web tier's shards must each stay far below Kubernetes' 1 MiB per
 * object: a shard's Secret holds two secrets per site, its ConfigMap one
 * entry (about the site's id, URL and prefix) per hostname.
 */
function crowdedShard(fleet: Fleet): { message: string; hint: string } | undefined {
  const { shards } = fleet.canary.settings.web;
  const sites = new Map<string, number>();
  const bytes = new Map<string, number>();
  for (const site of fleet.sites) {
    // Each cluster has shards of its own, holding its sites only.
    const shard = `${site.cluster}/${webShard(site.id, shards)}`;
    const hosts = site.hostnames.length + (fleet.canary.settings.previewDomain ? 1 : 0);
    const entry = 2 * site.id.length + site.canonicalHostname.length + HOST_ENTRY_OVERHEAD;
    sites.set(shard, (sites.get(shard) ?? 0) + 1);
    bytes.set(shard, (bytes.get(shard) ?? 0) + hosts * entry + site.hostnames.join('').length);
  }
  const most = Math.max(0, ...sites.values());
  const largest = Math.max(0, ...bytes.values());
  if (most <= MAX_SITES_PER_SHARD && largest <= MAX_HOST_MAP_BYTES) return undefined;
  const factor = Math.max(most / MAX_SITES_PER_SHARD, largest / MAX_HOST_MAP_BYTES) / 0.75;
  const enough = Math.min(2 ** Math.ceil(Math.log2(shards * factor)), MAX_WEB_SHARDS);
  const what = most > MAX_SITES_PER_SHARD ? `${most} sites in one shard, more than ${MAX_SITES_PER_SHARD}` : `a host map shard of about ${Math.round(largest / 1024)} KiB`;
  return {
    message: `web.shards ${shards} puts ${what} (each shard's ConfigMap and Secret must stay under Kubernetes' 1 MiB)`,
    hint: `set web.shards to ${enough} or more in canary.yaml (the web pods restart once, as their volumes list every shard)`,
  };
}

/** The JSON around a host map entry's id, URL and prefix, and YAML quoting. */
const HOST_ENTRY_OVERHEAD = 80;
/** A shard's host map, leaving room under 1 MiB for YAML escaping and metadata. */
const MAX_HOST_MAP_BYTES = 700 * 1024;

function atMost(problems: Problem[]): Problem[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  const rest = problems.length - MAX_PROBLEMS;
  const more: Problem = { file: problems[MAX_PROBLEMS].file, line: 0, column: 0, path: '', message: `… and ${rest} more problem${rest === 1 ? '' : 's'}, not listed`, hint: 'fix the ones above and validate again' };
  return [...problems.slice(0, MAX_PROBLEMS), more];
}

function check<T>(source: Source, schema: z.ZodType<T>, expected: string): { data?: T; problems: Problem[] } {
  const syntax = source.syntaxProblems();
  if (syntax.length > 0) return { problems: syntax };
  if (source.isEmpty()) return { problems: [source.problem([], 'the file is empty', `it must hold ${expected}`)] };
  const result = schema.safeParse(source.toJS());
  if (result.success) return { data: result.data, problems: [] };
  return { problems: result.error.issues.flatMap((issue) => toProblems(source, schema, issue)) };
}

/** Turns a schema issue into located problems, in words a person editing YAML understands. */
function toProblems(source: Source, schema: z.ZodType, issue: z.core.$ZodIssue): Problem[] {
  const path = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') {
    const allowed = keysAt(schema, path);
    return issue.keys.map((key) =>
      source.keyProblem([...path, key], `unknown key "${key}"`, allowed.length ? `allowed keys here: ${allowed.join(', ')}` : 'remove it'),
    );
  }
  if (issue.code === 'invalid_key') {
    const [message, hint] = (issue.issues[0]?.message ?? issue.message).split('\nhint: ');
    return [source.keyProblem(path, `key ${quote(String(path[path.length - 1]))} ${message}`, hint)];
  }
  if (path.length > 0 && !source.has(path)) {
    const field = String(path[path.length - 1]);
    return [source.keyProblem(path, `missing required field "${field}"`, `add "${field}:" to this entry`)];
  }
  const [message, hint] = issue.message.split('\nhint: ');
  const value = valueAt(source, path);
  const shown = typeof value === 'string' ? `${quote(value)} ` : typeof value === 'number' ? `${value} ` : '';
  return [source.problem(path, `${shown}${message}`, hint)];
}

function valueAt(source: Source, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key], source.toJS());
}

/** The keys an object schema accepts at `path`, for "did you mean" hints. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.ZodType | undefined = schema;
  for (const key of [...path, null]) {
    while (node instanceof z.ZodOptional || node instanceof z.ZodDefault || node instanceof z.ZodPrefault) node = node.unwrap() as z.ZodType;
    if (key === null) break;
    if (node instanceof z.ZodObject) node = node.shape[key as string];
    else if (node instanceof z.ZodArray) node = node.element as z.ZodType;
    else return [];
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** `rerun: N` counts for every Job; a map counts per Job. */
function reruns(rerun: SitesFile['sites'][number]['rerun']): Site['rerun'] {
  return Object.fromEntries(JOB_KINDS.map((job) => [job, typeof rerun === 'number' ? rerun : (rerun?.[job] ?? 0)])) as Site['rerun'];
}

/** `ingress:` as the model holds it: the color with the larger share, and the split when both colors have one. */
function traffic(ingress: SitesFile['sites'][number]['ingress'], service: Color): { ingress: Color; weights?: Record<Color, number> } {
  if (ingress === undefined) return { ingress: service };
  if (typeof ingress === 'string') return { ingress };
  const heavier: Color = ingress.blue === ingress.green ? service : ingress.blue > ingress.green ? 'blue' : 'green';
  return ingress.blue === 0 || ingress.green === 0 ? { ingress: heavier } : { ingress: heavier, weights: { blue: ingress.blue, green: ingress.green } };
}

function toCanary(canary: CanaryFile): Canary {
  const { repository, selector, services, ...settings } = canary;
  return { repository, selector, services, settings };
}

function toFleet(sites: SitesFile, canary: CanaryFile): Fleet {
  const fleetCanary = toCanary(canary);
  return {
    sites: sites.sites.map(
      (s): Site => ({
        ...s,
        canonicalHostname: s.canonicalHostname ?? s.hostnames[0],
        ...traffic(s.ingress, s.service),
        cluster: s.cluster ?? (canary.clusters ?? [IN_CLUSTER])[0]!.name,
        rerun: reruns(s.rerun),
      }),
    ),
    canary: fleetCanary,
  };
}
