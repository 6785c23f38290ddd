import { isMap, isPair, isScalar, isSeq, type Node, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { scalarSource, YamlText } from './edit-text.js';
import { Source } from './source.js';
import { parseFleet } from './load.js';
import { clustersOf, JOB_KINDS, otherColor, trafficOf, type Color, type Fleet, type JobKind, type Site } from './types.js';

/**
 * The operations of the old deployment manager as edits of `sites.yaml` and
 * `canary.yaml`: text in, text out, no I/O. Each edit touches only the nodes it
 * changes (see edit-text.ts) and works in one pass over the documents, so a
 * bulk edit of thousands of sites costs about as much as one.
 *
 * The inputs must be valid (the caller checked them with `parseFleet`); the
 * outputs are not yet checked: the caller validates them before writing.
 */

/** Both files, parsed and validated. */
export interface EditInput {
  readonly fleet: Fleet;
  readonly sites: Source;
  readonly canary: Source;
}

/** The new text of both files; a file that did not change has its old text. */
export interface EditedTexts {
  readonly sites: string;
  readonly canary: string;
}

/** Where a site's traffic and Jobs were, and where they are after an edit. */
export interface SiteMove {
  readonly id: string;
  readonly from: { readonly service: Color; readonly ingress: Color };
  readonly to: { readonly service: Color; readonly ingress: Color };
}

/** The sites an upgrade or promote went through: moved, or already where they should be. */
export interface MoveOutcome {
  readonly texts: EditedTexts;
  /** The active canary they were moved to. */
  readonly color: Color;
  readonly moved: readonly SiteMove[];
  readonly unchanged: readonly string[];
}

/** What `aviary site create` asks for; the optional fields take the documented defaults. */
export interface NewSite {
  readonly id: string;
  readonly name: string;
  readonly theme: string;
  readonly hostnames: readonly string[];
  /** @default the first hostname */
  readonly canonicalHostname?: string;
  /** @default the active canary */
  readonly service?: Color;
}

/**
 * Which sites a bulk command means: the ids given, or every site (`all`),
 * narrowed to those whose `service` is `from`. Ids not in the fleet are
 * returned apart so the caller can refuse them.
 */
export function pickSites(fleet: Fleet, pick: { ids: readonly string[]; all?: boolean; from?: Color }): { ids: string[]; unknown: string[] } {
  const known = new Set(fleet.sites.map((s) => s.id));
  const unknown = pick.ids.filter((id) => !known.has(id));
  const wanted = pick.ids.length > 0 ? new Set(pick.ids) : undefined;
  const ids = fleet.sites.filter((s) => (wanted ? wanted.has(s.id) : pick.all || pick.from) && (!pick.from || s.service === pick.from)).map((s) => s.id);
  return { ids, unknown: [...new Set(unknown)] };
}

/** Appends a site entry at the end of `sites:`, in the file's own indentation and spacing. */
export function createSite(input: EditInput, site: NewSite): { texts: EditedTexts; site: Site } {
  const created: Site = {
    id: site.id,
    name: site.name,
    theme: site.theme,
    hostnames: [...site.hostnames],
    canonicalHostname: site.canonicalHostname ?? site.hostnames[0] ?? '',
    service: site.service ?? input.fleet.canary.selector,
    ingress: site.service ?? input.fleet.canary.selector,
    rerun: Object.fromEntries(JOB_KINDS.map((job) => [job, 0])) as Site['rerun'],
    cluster: clustersOf(input.fleet.canary)[0]!.name,
  };
  const fields: Array<[string, string]> = [
    ['id', scalarSource(created.id)],
    // Titles are free text; always quoted, as in the examples.
    ['name', JSON.stringify(created.name)],
    ['theme', scalarSource(created.theme)],
    ['hostnames', `[${created.hostnames.map((h) => scalarSource(h)).join(', ')}]`],
    ['canonicalHostname', scalarSource(created.canonicalHostname)],
    ['service', created.service],
  ];
  const block = fields.map(([k, v], i) => `${i === 0 ? '- ' : '  '}${k}: ${v}`);
  const flow = `{ ${fields.map(([k, v]) => `${k}: ${v}`).join(', ')} }`;
  const sites = sitesText(input);
  sites.text.appendItem(sites.seq, block, flow);
  return { texts: { sites: sites.text.result(), canary: input.canary.text }, site: created };
}

/**
 * Upgrade: `service` := the active canary; public traffic stays where it was.
 * A site without an `ingress:` key routed to its service, so the old service
 * is written as its `ingress:` to keep that traffic in place.
 */
export function upgradeSites(input: EditInput, ids: readonly string[]): MoveOutcome {
  return moveSites(input, ids, 'upgrade');
}

/**
 * Promote: `service` and `ingress` := the active canary, so traffic switches.
 * An `ingress:` line is removed rather than rewritten: `ingress` defaults to
 * `service`, so a promoted site reads like a freshly created one and the next
 * upgrade shows up as a clear two-line change. Where the key cannot be removed
 * as a line of its own (flow style), it is set to the canary instead.
 */
export function promoteSites(input: EditInput, ids: readonly string[]): MoveOutcome {
  return moveSites(input, ids, 'promote');
}

function moveSites(input: EditInput, ids: readonly string[], how: 'upgrade' | 'promote', sites = sitesText(input)): MoveOutcome {
  const color = input.fleet.canary.selector;
  const index = indexOf(input.fleet);
  const moved: SiteMove[] = [];
  const unchanged: string[] = [];
  for (const id of new Set(ids)) {
    const i = index.get(id);
    if (i === undefined) throw new Error(`unknown site "${id}" (pickSites reports these)`);
    const site = input.fleet.sites[i];
    const to = how === 'upgrade' ? { service: color, ingress: site.ingress } : { service: color, ingress: color };
    // A promoted site takes all of its traffic: a weighted split goes too.
    if (to.service === site.service && to.ingress === site.ingress && !(how === 'promote' && site.weights)) {
      unchanged.push(id);
      continue;
    }
    const map = sites.seq.items[i] as YAMLMap;
    const service = sites.text.pair(map, 'service');
    const ingress = sites.text.pair(map, 'ingress');
    if (!service?.value) throw new Error(`site "${id}" has no service node`);
    if (site.service !== color) sites.text.setScalar(service.value, color);
    if (how === 'upgrade' && !ingress) sites.text.insertPairAfter(map, service, 'ingress', site.service);
    if (how === 'promote' && ingress?.value && (site.ingress !== color || site.weights) && !sites.text.removePairLine(map, ingress)) {
      sites.text.setScalar(ingress.value, color);
    }
    moved.push({ id, from: { service: site.service, ingress: site.ingress }, to });
  }
  return { texts: { sites: sites.text.result(), canary: input.canary.text }, color, moved, unchanged };
}

/**
 * `rerun:` of each site counted up, for one Job or for all of them: its Jobs
 * get new names and run again. Absent, it is added after the site's last
 * key (`rerun: 1`, or `rerun: { theme: 1 }` for one Job); `rerun: N` becomes
 * a map when one Job is counted.
 */
export function rerunSites(input: EditInput, ids: readonly string[], job?: JobKind): { texts: EditedTexts; reran: { id: string; rerun: Site['rerun'] }[] } {
  const index = indexOf(input.fleet);
  const sites = sitesText(input);
  const reran: { id: string; rerun: Site['rerun'] }[] = [];
  for (const id of new Set(ids)) {
    const i = index.get(id);
    if (i === undefined) throw new Error(`unknown site "${id}" (pickSites reports these)`);
    const before = input.fleet.sites[i].rerun;
    const after = Object.fromEntries(JOB_KINDS.map((k) => [k, before[k] + (job === undefined || job === k ? 1 : 0)])) as Site['rerun'];
    const same = JOB_KINDS.every((k) => after[k] === after.install);
    // One number while every Job has the same count; a map once they differ.
    const source = same ? String(after.install) : `{ ${JOB_KINDS.filter((k) => after[k] > 0).map((k) => `${k}: ${after[k]}`).join(', ')} }`;
    sites.text.setOrAddSource(sites.seq.items[i] as YAMLMap, 'rerun', source);
    reran.push({ id, rerun: after });
  }
  return { texts: { sites: sites.text.result(), canary: input.canary.text }, reran };
}

/**
 * `cluster:` of each site set to `cluster` (added after the site's last key
 * when absent): its manifests move to that cluster; its data, in AWS, stays.
 * Sites already there are left as they are.
 */
export function rehomeSites(input: EditInput, ids: readonly string[], cluster: string): { texts: EditedTexts; moved: { id: string; from: string }[]; unchanged: string[] } {
  const index = indexOf(input.fleet);
  const sites = sitesText(input);
  const moved: { id: string; from: string }[] = [];
  const unchanged: string[] = [];
  for (const id of new Set(ids)) {
    const i = index.get(id);
    if (i === undefined) throw new Error(`unknown site "${id}" (pickSites reports these)`);
    const from = input.fleet.sites[i]!.cluster;
    if (from === cluster) {
      unchanged.push(id);
      continue;
    }
    sites.text.setOrAddSource(sites.seq.items[i] as YAMLMap, 'cluster', cluster);
    moved.push({ id, from });
  }
  return { texts: { sites: sites.text.result(), canary: input.canary.text }, moved, unchanged };
}

/**
 * `ingress:` of each site set so that `to` gets `weight` percent of its
 * public traffic and the other color the rest: a split `{blue: 90, green:
 * 10}`, or one color when the weight is 0 or 100. Sites already so are left
 * as they are.
 */
export function shiftSites(
  input: EditInput,
  ids: readonly string[],
  to: Color,
  weight: number,
): { texts: EditedTexts; shifted: { id: string; from: string; to: string }[]; unchanged: string[] } {
  const index = indexOf(input.fleet);
  const sites = sitesText(input);
  const other = otherColor(to);
  const shares: Record<Color, number> = { [to]: weight, [other]: 100 - weight } as Record<Color, number>;
  const wanted = weight === 100 ? to : weight === 0 ? other : `{ blue: ${shares.blue}, green: ${shares.green} }`;
  const now = weight === 100 ? to : weight === 0 ? other : `blue ${shares.blue}%, green ${shares.green}%`;
  const shifted: { id: string; from: string; to: string }[] = [];
  const unchanged: string[] = [];
  for (const id of new Set(ids)) {
    const i = index.get(id);
    if (i === undefined) throw new Error(`unknown site "${id}" (pickSites reports these)`);
    const site = input.fleet.sites[i]!;
    const from = trafficWords(site);
    if (from === now) {
      unchanged.push(id);
      continue;
    }
    sites.text.setOrAddSource(sites.seq.items[i] as YAMLMap, 'ingress', wanted);
    shifted.push({ id, from, to: now });
  }
  return { texts: { sites: sites.text.result(), canary: input.canary.text }, shifted, unchanged };
}

/**
 * A canary step: each site runs on the active canary `to` (its database
 * updated for it, as upgrade does) and `weight` % of its public traffic goes
 * to it (as shift does), in one edit. A site that already sends that much
 * or more to `to` keeps its traffic: a canary step never moves it back.
 */
export function canarySites(
  input: EditInput,
  ids: readonly string[],
  to: Color,
  weight: number,
): { texts: EditedTexts; moved: readonly SiteMove[]; shifted: { id: string; from: string; to: string }[] } {
  if (input.fleet.canary.selector !== to) throw new Error(`a canary step goes to the active canary, not ${to} (the caller checks it)`);
  const upgraded = upgradeSites(input, ids);
  const sites = upgraded.texts.sites === input.sites.text ? input.sites : new Source(input.sites.file, upgraded.texts.sites);
  const next: EditInput = { fleet: sites === input.sites ? input.fleet : parseFleet(sites, input.canary), sites, canary: input.canary };
  const below = new Set(input.fleet.sites.filter((site) => trafficOf(site)[to] < weight).map((site) => site.id));
  const shifted = shiftSites(next, ids.filter((id) => below.has(id)), to, weight);
  return { texts: shifted.texts, moved: upgraded.moved, shifted: shifted.shifted };
}

/** Where a site's public traffic goes, in words: `green`, or `blue 90%, green 10%`. */
export function trafficWords(site: Site): string {
  return site.weights ? `blue ${site.weights.blue}%, green ${site.weights.green}%` : site.ingress;
}

/** Removes the sites' entries (with the comment lines that belong to them). */
export function terminateSites(input: EditInput, ids: readonly string[]): { texts: EditedTexts; removed: Site[] } {
  const index = indexOf(input.fleet);
  const positions = new Set<number>();
  for (const id of ids) {
    const i = index.get(id);
    if (i === undefined) throw new Error(`unknown site "${id}" (pickSites reports these)`);
    positions.add(i);
  }
  const sites = sitesText(input);
  sites.text.removeItems(sites.seq, positions, sites.pair);
  const removed = [...positions].sort((a, b) => a - b).map((i) => input.fleet.sites[i]);
  return { texts: { sites: sites.text.result(), canary: input.canary.text }, removed };
}

/** `selector:` := color. Sites do not move: that is what upgrade and promote are for. */
export function selectCanary(input: EditInput, color: Color): { texts: EditedTexts; previous: Color } {
  const canary = new YamlText(input.canary.text, input.canary.doc);
  const previous = input.fleet.canary.selector;
  if (previous !== color) canary.setScalar(nodeAt(canary, ['selector']), color);
  return { texts: { sites: input.sites.text, canary: canary.result() }, previous };
}

export interface ImageOutcome {
  readonly texts: EditedTexts;
  /** The active canary, whose image changed. */
  readonly color: Color;
  readonly previous: string;
  readonly imageTag: string;
  /** Sites on that color: their Jobs get a new image, so they rerun (caches flushed). */
  readonly rerun: readonly string[];
  /** With `promote`: the sites on that color whose traffic now switches to it. */
  readonly promoted: readonly SiteMove[];
}

/**
 * `imageTag` of the active canary := digest. The sites whose `service` is that
 * color are re-upgraded by the new image itself (their Job names hash the
 * image); with `promote`, those whose traffic is elsewhere are also promoted.
 */
export function setCanaryImage(input: EditInput, imageTag: string, options: { promote?: boolean } = {}): ImageOutcome {
  const color = input.fleet.canary.selector;
  const previous = input.fleet.canary.services[color].imageTag;
  const canary = new YamlText(input.canary.text, input.canary.doc);
  if (imageTag !== previous) canary.setScalar(nodeAt(canary, ['services', color, 'imageTag']), imageTag);
  const onColor = input.fleet.sites.filter((s) => s.service === color).map((s) => s.id);
  const promotion = options.promote ? moveSites(input, onColor, 'promote') : undefined;
  return {
    texts: { sites: promotion?.texts.sites ?? input.sites.text, canary: canary.result() },
    color,
    previous,
    imageTag,
    rerun: imageTag !== previous ? onColor : [],
    promoted: promotion?.moved ?? [],
  };
}

function sitesText(input: EditInput): { text: YamlText; seq: YAMLSeq; pair: Pair<Scalar, Node> } {
  const text = new YamlText(input.sites.text, input.sites.doc);
  const root = input.sites.doc.contents;
  const pair = isMap(root) ? text.pair(root, 'sites') : undefined;
  if (!pair || !isSeq(pair.value)) throw new Error('sites.yaml has no "sites:" list (parseFleet should have refused it)');
  return { text, seq: pair.value, pair };
}

function nodeAt(text: YamlText, path: readonly string[]): Node {
  let node: unknown = text.doc.contents;
  for (const key of path) {
    const pair = isMap(node) ? text.pair(node, key) : undefined;
    node = isPair(pair) ? pair.value : undefined;
  }
  if (!isScalar(node)) throw new Error(`no scalar at ${path.join('.')} (parseFleet should have refused it)`);
  return node;
}

function indexOf(fleet: Fleet): Map<string, number> {
  return new Map(fleet.sites.map((s, i) => [s.id, i]));
}
