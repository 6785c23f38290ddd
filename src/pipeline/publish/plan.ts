import { parseAllDocuments } from 'yaml';
import type { FileChange } from '../git/sync.js';
import { plural } from '../shared/words.js';
import { JOB_FIXED_AT_CREATION } from '../../charts/argocd-chart.js';
import { NGINX_CANARY, NGINX_CANARY_WEIGHT } from '../../charts/site-chart.js';
import { applicationOfFile, isServicesFile, siteOfFile } from '../../sites/names.js';

/**
 * What publishing would change, in the terms of the fleet: per site and for
 * the services, which objects appear, change or go, which sites move color
 * or traffic, which Jobs will run and which sites will be torn down.
 * Only the files that differ are parsed, so a plan over a big fleet costs
 * what the change costs.
 */

export type Change = 'added' | 'changed' | 'removed';

export interface ObjectChange {
  readonly kind: string;
  readonly name: string;
  readonly change: Change;
  /** For a changed object: which fields change, from what to what (the first few; see MAX_FIELDS). */
  readonly fields?: readonly FieldChange[];
}

/**
 * One field of an object that changes: `spec.rules[*].http.paths[*].backend.service.name`,
 * `blue` → `green`. A change made alike at every index of a list is one
 * entry with `[*]`. A side is absent where the field is new or gone.
 */
export interface FieldChange {
  readonly path: string;
  readonly from?: string;
  readonly to?: string;
}

/** A value before and after; either side is absent when the object is new or gone. */
export interface Move {
  readonly from?: string;
  readonly to?: string;
}

export interface SitePlan {
  readonly id: string;
  /** added: a new site; removed: the site is torn down. */
  readonly change: Change;
  readonly objects: readonly ObjectChange[];
  /** The color the site runs on, when it changes. */
  readonly service?: Move;
  /** The color its public hostnames route to, when it changes. */
  readonly traffic?: Move;
  /** The Argo CD Application that deploys it, when it changes (argocd.shards changed). */
  readonly application?: Move;
  /** Jobs that will run: Job names that were not there before. */
  readonly jobs: readonly string[];
}

export interface ServicesPlan {
  readonly objects: readonly ObjectChange[];
  /** Image per color, when it changes. */
  readonly images: readonly ({ readonly color: string } & Move)[];
  /** The active canary, when it changes. */
  readonly selector?: Move;
}

export interface Plan {
  readonly sites: readonly SitePlan[];
  readonly services: ServicesPlan;
  /**
   * Web-tier shard files (`services/shard-NN.yaml`: host map and site
   * secrets) that change: they follow from the site changes, so they are
   * listed by file, not as a change of the services.
   */
  readonly shards: readonly string[];
  /** Objects outside services/ and sites/ (the Argo CD bootstrap). */
  readonly other: readonly ObjectChange[];
  /** All Jobs that will run, across sites. */
  readonly jobs: readonly string[];
  /** Ids of the sites whose manifests disappear. */
  readonly teardown: readonly string[];
  readonly files: { readonly added: number; readonly changed: number; readonly removed: number };
  /** Files under `--path` that Aviary did not write: published around, never changed or deleted. */
  readonly unmanaged: readonly string[];
}

interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

export function planOf(changes: readonly FileChange[], unmanaged: readonly string[] = []): Plan {
  const bySite = new Map<string, FileChange[]>();
  const services: FileChange[] = [];
  const shards: string[] = [];
  const other: FileChange[] = [];
  for (const change of changes) {
    const site = siteOfFile(change.path);
    if (site) bySite.set(site, [...(bySite.get(site) ?? []), change]);
    else if (/(^|\/)services\/shard-[^/]+$/.test(change.path)) shards.push(change.path);
    else if (isServicesFile(change.path)) services.push(change);
    else other.push(change);
  }
  const sites = [...bySite.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, files]) => sitePlan(id, files));
  return {
    sites,
    services: servicesPlan(services),
    shards: shards.sort(),
    other: objectChanges(objectsOf(other, 'before'), objectsOf(other, 'after')),
    jobs: sites.flatMap((s) => s.jobs),
    teardown: sites.filter((s) => s.change === 'removed').map((s) => s.id),
    files: {
      added: changes.filter((c) => c.before === undefined).length,
      changed: changes.filter((c) => c.before !== undefined && c.after !== undefined).length,
      removed: changes.filter((c) => c.after === undefined).length,
    },
    unmanaged,
  };
}

export function isEmptyPlan(plan: Plan): boolean {
  return plan.files.added + plan.files.changed + plan.files.removed === 0;
}

function objectsOf(files: readonly FileChange[], side: 'before' | 'after'): K8sObject[] {
  return files.flatMap((f) => {
    const text = f[side];
    if (text === undefined) return [];
    if (side === 'after' && f.afterObjects) return f.afterObjects as K8sObject[];
    return parseAllDocuments(text).flatMap((doc) => ('toJS' in doc ? [doc.toJS() as K8sObject] : [])).filter((o) => o && typeof o === 'object');
  });
}

/**
 * The object without what Argo CD leaves as it was created (a Job's
 * template: JOB_FIXED_AT_CREATION), so the plan does not announce a change
 * the sync will not make.
 */
function asArgoCdApplies(o: K8sObject): K8sObject {
  const rules = JOB_FIXED_AT_CREATION.filter((r) => r.kind === o.kind && o.apiVersion?.split('/')[0] === r.group);
  if (rules.length === 0) return o;
  const copy = structuredClone(o);
  for (const pointer of rules.flatMap((r) => r.jsonPointers)) {
    const keys = pointer.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const parent = keys.slice(0, -1).reduce<Record<string, any> | undefined>((at, k) => at?.[k], copy as Record<string, any>);
    if (parent) delete parent[keys[keys.length - 1]!];
  }
  return copy;
}

const keyOf = (o: K8sObject) => `${o.kind ?? '?'}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? '?'}`;

function objectChanges(before: readonly K8sObject[], after: readonly K8sObject[]): ObjectChange[] {
  const old = new Map(before.map((o) => [keyOf(o), o]));
  const now = new Map(after.map((o) => [keyOf(o), o]));
  const out: ObjectChange[] = [];
  const describe = (o: K8sObject, change: Change): ObjectChange => ({ kind: o.kind ?? '?', name: o.metadata?.name ?? '?', change });
  for (const [key, o] of now) {
    const was = old.get(key);
    if (!was) {
      out.push(describe(o, 'added'));
      continue;
    }
    const [from, to] = [asArgoCdApplies(was), asArgoCdApplies(o)];
    if (JSON.stringify(from) !== JSON.stringify(to)) out.push({ ...describe(o, 'changed'), fields: fieldChanges(from, to) });
  }
  for (const [key, o] of old) if (!now.has(key)) out.push(describe(o, 'removed'));
  const order: Record<Change, number> = { removed: 0, changed: 1, added: 2 };
  return out.sort((a, b) => a.kind.localeCompare(b.kind) || order[a.change] - order[b.change] || a.name.localeCompare(b.name));
}

/** Field changes listed per object at most; the rest are counted in a last entry. */
const MAX_FIELDS = 6;

/** The leaf fields that differ between two versions of an object, in order, collapsing a change made alike at every list index. */
function fieldChanges(before: unknown, after: unknown): FieldChange[] {
  const leaves: { path: string; from?: string; to?: string }[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    // A JSON document in a string (canary-env's canaryEnv) is compared field by field too.
    const [ja, jb] = [jsonObject(a), jsonObject(b)];
    if (ja && jb) return walk(ja, jb, path);
    if (isRecord(a) && isRecord(b)) {
      for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])]) walk(a[key], b[key], fieldPath(path, key));
    } else if (Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], `${path}[${i}]`);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      leaves.push({ path, ...(a === undefined ? {} : { from: shown(a) }), ...(b === undefined ? {} : { to: shown(b) }) });
    }
  };
  walk(before, after, '');
  const groups = new Map<string, { path: string; from?: string; to?: string; count: number }>();
  for (const leaf of leaves) {
    const key = JSON.stringify([leaf.path.replace(/\[\d+\]/g, '[*]'), leaf.from, leaf.to]);
    const group = groups.get(key);
    if (group) group.count++;
    else groups.set(key, { ...leaf, count: 1 });
  }
  const fields = [...groups.values()].map(({ count, ...f }) => (count > 1 ? { ...f, path: f.path.replace(/\[\d+\]/g, '[*]') } : f));
  if (fields.length <= MAX_FIELDS) return fields;
  return [...fields.slice(0, MAX_FIELDS - 1), { path: `… and ${fields.length - MAX_FIELDS + 1} more fields` }];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function jsonObject(v: unknown): Record<string, unknown> | undefined {
  if (typeof v !== 'string' || !v.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(v);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** `metadata.annotations["aviary.io/color"]`: a key that is not a plain name is quoted. */
const fieldPath = (path: string, key: string) => (/^[A-Za-z_][\w-]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}["${key}"]`);

/** A value in a line of the plan: digests by their first 12 hex, long text cut in the middle (the ends tell most). */
function shown(value: unknown): string {
  const text = (typeof value === 'string' ? value : JSON.stringify(value)).replace(/@sha256:([0-9a-f]{12})[0-9a-f]{52}/g, '@sha256:$1…');
  return text.length > 100 ? `${text.slice(0, 49)}…${text.slice(-50)}` : text;
}

/** The color a site runs on (its Jobs' color) and where its public hostnames route to. */
function colorsOf(objects: readonly K8sObject[]): { service?: string; traffic?: string } {
  const job = objects.find((o) => o.kind === 'Job');
  return {
    // AVIARY_COLOR of the web contract; manifests of Aviary 0.1 kept it in an annotation.
    service:
      job?.spec?.template?.spec?.containers?.[0]?.env?.find((e: { name?: string }) => e.name === 'AVIARY_COLOR')?.value ??
      job?.spec?.template?.metadata?.annotations?.['aviary.io/color'],
    traffic: trafficOf(objects),
  };
}

/** `green`, or a split as `blue 90%, green 10%`: from the site's HTTPRoute, or its Ingress and ingress-nginx canary Ingress. */
function trafficOf(objects: readonly K8sObject[]): string | undefined {
  const split = (shares: Map<string, number>) =>
    [...shares].filter(([, w]) => w > 0).length === 1 ? [...shares].find(([, w]) => w > 0)![0] : [...shares].sort().map(([c, w]) => `${c} ${w}%`).join(', ');
  const route = objects.find((o) => o.kind === 'HTTPRoute');
  if (route) {
    const refs: { name: string; weight?: number }[] = route.spec?.rules?.[0]?.backendRefs ?? [];
    return refs.length === 1 ? refs[0]!.name : split(new Map(refs.map((r) => [r.name, r.weight ?? 1])));
  }
  const ingresses = objects.filter((o) => o.kind === 'Ingress');
  const main = ingresses[0]?.spec?.rules?.[0]?.http?.paths?.[0]?.backend?.service?.name as string | undefined;
  const canary = ingresses.find((o) => o.metadata?.annotations?.[NGINX_CANARY] === 'true');
  if (!main || !canary) return main;
  const weight = Number(canary.metadata?.annotations?.[NGINX_CANARY_WEIGHT] ?? 0);
  const other = canary.spec?.rules?.[0]?.http?.paths?.[0]?.backend?.service?.name as string;
  return split(new Map([[main, 100 - weight], [other, weight]]));
}

const moved = (from?: string, to?: string): Move | undefined => (from && to && from !== to ? { from, to } : undefined);

function sitePlan(id: string, files: readonly FileChange[]): SitePlan {
  const before = objectsOf(files, 'before');
  const after = objectsOf(files, 'after');
  const change: Change = before.length === 0 ? 'added' : after.length === 0 ? 'removed' : 'changed';
  const was = colorsOf(before);
  const now = colorsOf(after);
  const oldJobs = new Set(before.filter((o) => o.kind === 'Job').map((o) => o.metadata?.name));
  const service = moved(was.service, now.service);
  const traffic = moved(was.traffic, now.traffic);
  const application = moved(
    applicationOfFile(files.find((f) => f.before !== undefined)?.path ?? ''),
    applicationOfFile(files.find((f) => f.after !== undefined)?.path ?? ''),
  );
  return {
    id,
    change,
    objects: objectChanges(before, after),
    ...(service ? { service } : {}),
    ...(traffic ? { traffic } : {}),
    ...(application ? { application } : {}),
    jobs: after.filter((o) => o.kind === 'Job' && !oldJobs.has(o.metadata?.name)).map((o) => o.metadata?.name ?? '?'),
  };
}

function servicesPlan(files: readonly FileChange[]): ServicesPlan {
  const before = objectsOf(files, 'before');
  const after = objectsOf(files, 'after');
  const images = (objects: readonly K8sObject[]) =>
    new Map(
      objects
        .filter((o) => o.kind === 'Deployment')
        .map((o) => [o.spec?.template?.metadata?.labels?.app ?? o.metadata?.name ?? '?', o.spec?.template?.spec?.containers?.[0]?.image as string | undefined]),
    );
  const oldImages = images(before);
  const newImages = images(after);
  const colors = [...new Set([...oldImages.keys(), ...newImages.keys()])].sort();
  const selector = moved(selectorOf(before), selectorOf(after));
  return {
    objects: objectChanges(before, after),
    images: colors.filter((c) => oldImages.get(c) !== newImages.get(c)).map((color) => ({ color, from: oldImages.get(color), to: newImages.get(color) })),
    ...(selector ? { selector } : {}),
  };
}

function selectorOf(objects: readonly K8sObject[]): string | undefined {
  const env = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'canary-env')?.data?.canaryEnv;
  try {
    return env ? (JSON.parse(env) as { selector?: string }).selector : undefined;
  } catch {
    return undefined;
  }
}

// ---- rendering ----

/** `services/shard-07.yaml` → `shard-07`; `clusters/eu/services/shard-07.yaml` → `eu/shard-07`. */
const shardName = (path: string) => path.replace(/^clusters\/([^/]+)\/services\//, '$1/').replace(/^services\/|\.yaml$/g, '');

export type PlanFormat = 'text' | 'markdown' | 'json';

const SIGN: Record<Change, string> = { added: '+', changed: '~', removed: '-' };
/** `repo@sha256:<64 hex>` is unreadable in a summary; the first 12 hex identify it. */
export const shortImage = (image?: string) => (image ? image.replace(/@sha256:([0-9a-f]{12})[0-9a-f]{52}$/, '@sha256:$1…') : 'none');

/** One line: what the plan does, in a person's words. */
export function planHeadline(plan: Plan): string {
  if (isEmptyPlan(plan)) return 'No changes: the manifests already match the inputs.';
  const by = (c: Change) => plan.sites.filter((s) => s.change === c).length;
  const parts = [
    by('added') && `${plural(by('added'), 'site')} added`,
    by('changed') && `${plural(by('changed'), 'site')} changed`,
    by('removed') && `${plural(by('removed'), 'site')} torn down`,
    plan.services.objects.length > 0 && 'services changed',
    plan.other.length > 0 && 'Argo CD bootstrap changed',
    plan.jobs.length > 0 && `${plural(plan.jobs.length, 'Job')} will run`,
  ].filter(Boolean);
  return `Plan: ${parts.join(', ') || `${plural(plan.files.added + plan.files.changed + plan.files.removed, 'file')} changed`}.`;
}

export interface FormatOptions {
  /** Text only: + green, ~ yellow, - red, as on a terminal that shows colour. @default false */
  readonly colour?: boolean;
}

export function formatPlan(plan: Plan, format: PlanFormat, options: FormatOptions = {}): string {
  if (format === 'json') return JSON.stringify(plan, null, 2);
  return format === 'markdown' ? markdown(plan) : text(plan, options.colour === true);
}

const COLOUR: Record<Change, string> = { added: '\x1b[32m', changed: '\x1b[33m', removed: '\x1b[31m' };
const RESET = '\x1b[0m';

/** `    from → to` of a field, as a line under its object. */
const fieldLine = (f: FieldChange) => (f.from === undefined && f.to === undefined ? f.path : `${f.path}: ${f.from ?? '(none)'} → ${f.to ?? '(none)'}`);

function siteNotes(site: SitePlan): string[] {
  return [
    site.service && `runs on ${site.service.to} (was ${site.service.from})`,
    site.traffic && `traffic to ${site.traffic.to} (was ${site.traffic.from})`,
    site.application && `deployed by Application ${site.application.to} (was ${site.application.from})`,
  ].filter((x): x is string => Boolean(x));
}

/** `README.md, other-app/ (12 files)`: a folder of someone else's files is one entry. */
function unmanagedSummary(paths: readonly string[]): string {
  const top = new Map<string, number>();
  for (const path of paths) {
    const slash = path.indexOf('/');
    const key = slash < 0 ? path : path.slice(0, slash + 1);
    top.set(key, (top.get(key) ?? 0) + 1);
  }
  return [...top].map(([key, n]) => (key.endsWith('/') ? `${key} (${plural(n, 'file')})` : key)).join(', ');
}

const unmanagedNote = (plan: Plan) => `not managed by Aviary, left as they are: ${unmanagedSummary(plan.unmanaged)}`;

function text(plan: Plan, colour: boolean): string {
  const lines = [planHeadline(plan)];
  const unmanaged = plan.unmanaged.length > 0 ? ['', unmanagedNote(plan)] : [];
  if (isEmptyPlan(plan)) return [...lines, ...unmanaged].join('\n');
  const paint = (change: Change, line: string) => (colour ? `${COLOUR[change]}${line}${RESET}` : line);
  const objects = (list: readonly ObjectChange[]) =>
    list.flatMap((o) => [paint(o.change, `    ${SIGN[o.change]} ${o.kind} ${o.name}`), ...(o.fields ?? []).map((f) => `        ${fieldLine(f)}`)]);
  if (plan.services.objects.length > 0) {
    lines.push('', 'services:');
    if (plan.services.selector) lines.push(`    active canary: ${plan.services.selector.from} → ${plan.services.selector.to}`);
    for (const i of plan.services.images) lines.push(`    image ${i.color}: ${shortImage(i.from)} → ${shortImage(i.to)}`);
    lines.push(...objects(plan.services.objects));
  }
  for (const site of plan.sites) {
    const label = site.change === 'added' ? ' (new)' : site.change === 'removed' ? ' (torn down)' : '';
    lines.push('', `site ${site.id}${label}:`);
    for (const note of siteNotes(site)) lines.push(`    ${note}`);
    lines.push(...objects(site.objects));
    if (site.jobs.length > 0) lines.push(`    Jobs that will run: ${site.jobs.join(', ')}`);
  }
  if (plan.shards.length > 0) lines.push('', `web tier: host map and site secrets in ${plan.shards.map(shardName).join(', ')}`);
  if (plan.other.length > 0) lines.push('', 'Argo CD bootstrap:', ...objects(plan.other));
  return [...lines, ...unmanaged].join('\n');
}

/**
 * GitHub refuses a pull-request body or comment over 65,536 characters; the
 * Markdown plan stays under this, leaving room for what a caller adds.
 */
export const MARKDOWN_MAX = 64_000;
/** More sites than this and the table is folded under a summary line. */
const UNFOLDED_SITES = 10;

/** The summary first (what changes, what is torn down), then the sites, folded and cut to stay under MARKDOWN_MAX. */
function markdown(plan: Plan): string {
  const lines = ['### Aviary plan', '', planHeadline(plan)];
  const unmanaged = plan.unmanaged.length > 0 ? ['', `_${unmanagedNote(plan).replace(/^n/, 'N')}._`] : [];
  if (isEmptyPlan(plan)) return [...lines, ...unmanaged].join('\n');
  const code = (s: string) => `\`${s.replaceAll('`', "'")}\``;
  const fields = (o: ObjectChange) => (o.fields ?? []).map((f) => `<br>&nbsp;&nbsp;${f.from === undefined && f.to === undefined ? f.path : `${code(f.path)}: ${code(f.from ?? '(none)')} → ${code(f.to ?? '(none)')}`}`);
  const objects = (list: readonly ObjectChange[]) => list.map((o) => `${SIGN[o.change]} ${o.kind} ${code(o.name)}${fields(o).join('')}`).join('<br>');
  if (plan.teardown.length > 0) lines.push('', `> **Teardown:** ${plan.teardown.map(code).join(', ')} will be removed from the cluster, and the teardown hook will delete their data.`);
  if (plan.services.objects.length > 0) {
    lines.push('', '#### Services', '');
    if (plan.services.selector) lines.push(`- Active canary: **${plan.services.selector.from}** → **${plan.services.selector.to}**`);
    for (const i of plan.services.images) lines.push(`- Image of **${i.color}**: ${code(shortImage(i.from))} → ${code(shortImage(i.to))}`);
    for (const o of plan.services.objects) lines.push(`- ${SIGN[o.change]} ${o.kind} ${code(o.name)}${fields(o).join('')}`);
  }
  if (plan.shards.length > 0) lines.push('', `Web tier: host map and site secrets in ${plan.shards.map((p) => code(shardName(p))).join(', ')}.`);
  if (plan.other.length > 0) lines.push('', '#### Argo CD bootstrap', '', ...plan.other.map((o) => `- ${SIGN[o.change]} ${o.kind} ${code(o.name)}`));
  lines.push(...unmanaged);
  if (plan.sites.length === 0) return lines.join('\n');

  const folded = plan.sites.length > UNFOLDED_SITES;
  const head = ['', '#### Sites', '', ...(folded ? [`<details><summary>${plural(plan.sites.length, 'site')}</summary>`, ''] : []), '| site | change | colors | objects | Jobs that will run |', '|---|---|---|---|---|'];
  const tail = folded ? ['', '</details>'] : [];
  const row = (site: SitePlan) => {
    const change = site.change === 'added' ? 'new' : site.change === 'removed' ? '**torn down**' : 'changed';
    return `| ${code(site.id)} | ${change} | ${siteNotes(site).join('<br>') || '—'} | ${objects(site.objects) || '—'} | ${site.jobs.map(code).join('<br>') || '—'} |`;
  };
  // Room for the cut note, which names a count of up to six digits.
  let size = [...lines, ...head, ...tail].join('\n').length + 200;
  const rows: string[] = [];
  for (const site of plan.sites) {
    const next = row(site);
    if (size + next.length + 1 > MARKDOWN_MAX) break;
    rows.push(next);
    size += next.length + 1;
  }
  const cut = plan.sites.length - rows.length;
  const note = cut > 0 ? ['', `_… and ${plural(cut, 'more site')} not shown: the plan is longer than a GitHub comment allows. \`aviary plan\` shows all of it._`] : [];
  return [...lines, ...head, ...rows, ...note, ...tail].join('\n');
}
