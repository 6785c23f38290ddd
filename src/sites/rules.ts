import { listSome, quote, type Problem } from './problems.js';
import { hostname } from './schema.js';
import type { Source } from './source.js';

/** The longest DNS name; Kubernetes refuses a longer Ingress host. */
const MAX_HOSTNAME_LENGTH = 253;

/**
 * What a cross-field rule sees of a site: only the string fields the rules
 * compare, read leniently from the raw file so that the rules still run (and
 * report) when some other field of the site is malformed.
 */
export interface SiteView {
  readonly id?: string;
  readonly hostnames: readonly (string | undefined)[];
  readonly canonicalHostname?: string;
  readonly cluster?: string;
  /** `ingress:` is a split between the colors (a map), not one color. */
  readonly weighted: boolean;
}

export interface RuleContext {
  readonly sites: { readonly sites: readonly SiteView[] };
  readonly canary: {
    readonly previewDomain?: string;
    readonly clusters?: readonly string[];
    /** routing.kind, ingress.className (with their defaults). */
    readonly routing: string;
    readonly ingressClass: string;
  };
  readonly sitesSource: Source;
}

/** The lenient views of the raw `sites.yaml` and `canary.yaml` data. */
export function ruleContext(sitesSource: Source, rawSites: unknown, rawCanary: unknown): RuleContext {
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const list = (v: unknown) => (Array.isArray(v) ? v : []);
  const field = (o: unknown, key: string) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined);
  return {
    sitesSource,
    sites: {
      sites: list(field(rawSites, 'sites')).map((s) => ({
        id: text(field(s, 'id')),
        hostnames: list(field(s, 'hostnames')).map(text),
        canonicalHostname: text(field(s, 'canonicalHostname')),
        cluster: text(field(s, 'cluster')),
        weighted: isMap(field(s, 'ingress')),
      })),
    },
    canary: {
      previewDomain: text(field(rawCanary, 'previewDomain')),
      clusters: Array.isArray(field(rawCanary, 'clusters')) ? list(field(rawCanary, 'clusters')).map((c) => text(field(c, 'name'))).filter((n): n is string => n !== undefined) : undefined,
      routing: text(field(field(rawCanary, 'routing'), 'kind')) ?? 'ingress',
      ingressClass: text(field(field(rawCanary, 'ingress'), 'className')) ?? 'nginx',
    },
  };
}

const isMap = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A rule reports every violation it finds; it never stops at the first. */
export type Rule = (ctx: RuleContext) => Problem[];

const uniqueIds: Rule = ({ sites, sitesSource }) => {
  const firstAt = new Map<string, number>();
  const problems: Problem[] = [];
  sites.sites.forEach((site, i) => {
    if (site.id === undefined) return;
    const first = firstAt.get(site.id);
    if (first === undefined) firstAt.set(site.id, i);
    else problems.push(sitesSource.problem(['sites', i, 'id'], `duplicate id ${quote(site.id)}, already used by sites[${first}]`, 'every site needs its own id'));
  });
  return problems;
};

/**
 * A hostname routes to one site only; a preview hostname counts as one of its
 * site's hostnames. A hostname repeated within a site is one problem however
 * often it repeats, so a file with 100,000 copies stays readable.
 */
const uniqueHostnames: Rule = ({ sites, canary, sitesSource }) => {
  const owner = new Map<string, string>();
  const problems: Problem[] = [];
  sites.sites.forEach((site, i) => {
    const repeats = new Map<string, { at: number; count: number }>();
    site.hostnames.forEach((host, j) => {
      if (host === undefined) return;
      const other = owner.get(host);
      if (other === undefined) owner.set(host, `sites[${i}] (${site.id?.slice(0, 64)})`);
      else {
        const seen = repeats.get(host);
        if (seen) seen.count++;
        else repeats.set(host, { at: j, count: 1 });
      }
    });
    for (const [host, { at, count }] of repeats) {
      const times = count > 1 ? ` (${count} times here)` : '';
      problems.push(sitesSource.problem(['sites', i, 'hostnames', at], `hostname ${quote(host)} is already used by ${owner.get(host)}${times}`, 'a hostname can route to one site only; remove one of them'));
    }
  });
  if (canary.previewDomain) {
    sites.sites.forEach((site, i) => {
      if (site.id === undefined) return;
      const preview = `${site.id}.${canary.previewDomain}`;
      const other = owner.get(preview);
      if (other !== undefined) {
        problems.push(sitesSource.problem(['sites', i, 'id'], `the preview hostname ${quote(preview)} of this site is already used by ${other}`, 'rename the site or remove that hostname'));
      }
    });
  }
  return problems;
};

/** `<id>.<previewDomain>` must itself be a hostname Kubernetes accepts. */
const previewHostnamesFit: Rule = ({ sites, canary, sitesSource }) => {
  const domain = canary.previewDomain;
  if (domain === undefined || !hostname.safeParse(domain).success) return [];
  const longest = MAX_HOSTNAME_LENGTH - domain.length - 1;
  return sites.sites.flatMap((site, i) =>
    site.id !== undefined && site.id.length > longest
      ? [
          sitesSource.problem(
            ['sites', i, 'id'],
            `the preview hostname of this site, ${quote(`${site.id}.${domain}`)}, is longer than ${MAX_HOSTNAME_LENGTH} characters`,
            longest > 0 ? `with this previewDomain an id may have at most ${longest} characters; shorten the id or previewDomain` : 'shorten previewDomain in canary.yaml',
          ),
        ]
      : [],
  );
};

const canonicalAmongHostnames: Rule = ({ sites, sitesSource }) =>
  sites.sites.flatMap((site, i) =>
    site.canonicalHostname === undefined || site.hostnames.length === 0 || site.hostnames.includes(site.canonicalHostname)
      ? []
      : [sitesSource.problem(['sites', i, 'canonicalHostname'], `${quote(site.canonicalHostname)} is not one of the site's hostnames`, `use one of: ${listSome(site.hostnames.filter((h): h is string => Boolean(h)))}`)],
  );

/** A site's `cluster:` names one of the clusters canary.yaml declares. */
const knownClusters: Rule = ({ sites, canary, sitesSource }) =>
  sites.sites.flatMap((site, i) => {
    if (site.cluster === undefined) return [];
    if (canary.clusters === undefined) {
      return [sitesSource.problem(['sites', i, 'cluster'], `names cluster ${quote(site.cluster)}, but canary.yaml declares no clusters`, 'list the clusters under clusters: in canary.yaml ({ name, server } each), or remove this line')];
    }
    return canary.clusters.includes(site.cluster)
      ? []
      : [sitesSource.problem(['sites', i, 'cluster'], `${quote(site.cluster)} is not a cluster of canary.yaml`, `use one of: ${listSome(canary.clusters)}`)];
  });

/**
 * Ingress controllers known to route by ingress-nginx's annotations only, or
 * not at all by canary annotations: a weighted split through them would send
 * all traffic to one color while the plan said otherwise.
 */
export const NO_CANARY_INGRESS_CLASSES: readonly string[] = ['traefik', 'haproxy', 'alb', 'gce', 'gce-internal', 'kong', 'contour', 'istio', 'cilium', 'azure-application-gateway', 'nginx-plus', 'nginx-inc'];

/** A weighted split is an ingress-nginx canary Ingress pair, or HTTPRoute weights. */
const weightsRoutable: Rule = ({ sites, canary, sitesSource }) =>
  canary.routing !== 'ingress' || !NO_CANARY_INGRESS_CLASSES.includes(canary.ingressClass)
    ? []
    : sites.sites.flatMap((site, i) =>
        site.weighted
          ? [
              sitesSource.problem(
                ['sites', i, 'ingress'],
                `splits traffic between the colors, but ingress class ${quote(canary.ingressClass)} does not route by ingress-nginx's canary annotations`,
                'use routing.kind: gateway in canary.yaml (HTTPRoute weights), an ingress-nginx class, or one color here',
              ),
            ]
          : [],
      );

/** An HTTPRoute holds at most 16 hostnames. */
const MAX_ROUTE_HOSTNAMES = 16;

const routeHostnamesFit: Rule = ({ sites, canary, sitesSource }) =>
  canary.routing !== 'gateway'
    ? []
    : sites.sites.flatMap((site, i) =>
        site.hostnames.length > MAX_ROUTE_HOSTNAMES
          ? [sitesSource.problem(['sites', i, 'hostnames'], `lists ${site.hostnames.length} hostnames; an HTTPRoute holds at most ${MAX_ROUTE_HOSTNAMES}`, 'split the site, or use routing.kind: ingress')]
          : [],
      );

/**
 * Site `x`'s preview Ingress (or HTTPRoute) is named `x-preview`: a site with
 * that id would have its own under the same name, and the two sites would
 * fight over one object.
 */
const previewNamesFree: Rule = ({ sites, canary, sitesSource }) => {
  if (canary.previewDomain === undefined) return [];
  const ids = new Set(sites.sites.map((site) => site.id).filter((id): id is string => id !== undefined));
  return sites.sites.flatMap((site, i) => {
    const owner = site.id?.endsWith('-preview') ? site.id.slice(0, -'-preview'.length) : undefined;
    return owner !== undefined && ids.has(owner)
      ? [sitesSource.problem(['sites', i, 'id'], `${quote(site.id!)} is the name of site ${quote(owner)}'s preview Ingress`, `choose another id: the two sites would share one object`)]
      : [];
  });
};

export const RULES: readonly Rule[] = [uniqueIds, uniqueHostnames, previewHostnamesFit, canonicalAmongHostnames, knownClusters, weightsRoutable, routeHostnamesFit, previewNamesFree];
