import type { Problem } from './problems.js';
import type { Source } from './source.js';

/**
 * What a cross-field rule sees of a site: only the string fields the rules
 * compare, read leniently from the raw file so that the rules still run (and
 * report) when some other field of the site is malformed.
 */
export interface SiteView {
  readonly id?: string;
  readonly hostnames: readonly (string | undefined)[];
  readonly canonicalHostname?: string;
}

export interface RuleContext {
  readonly sites: { readonly sites: readonly SiteView[] };
  readonly canary: { readonly previewDomain?: string };
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
      })),
    },
    canary: { previewDomain: text(field(rawCanary, 'previewDomain')) },
  };
}

/** A rule reports every violation it finds; it never stops at the first. */
export type Rule = (ctx: RuleContext) => Problem[];

const uniqueIds: Rule = ({ sites, sitesSource }) => {
  const firstAt = new Map<string, number>();
  const problems: Problem[] = [];
  sites.sites.forEach((site, i) => {
    if (site.id === undefined) return;
    const first = firstAt.get(site.id);
    if (first === undefined) firstAt.set(site.id, i);
    else problems.push(sitesSource.problem(['sites', i, 'id'], `duplicate id "${site.id}", already used by sites[${first}]`, 'every site needs its own id'));
  });
  return problems;
};

/** A hostname routes to one site only; a preview hostname counts as one of its site's hostnames. */
const uniqueHostnames: Rule = ({ sites, canary, sitesSource }) => {
  const owner = new Map<string, string>();
  const problems: Problem[] = [];
  sites.sites.forEach((site, i) => {
    site.hostnames.forEach((host, j) => {
      if (host === undefined) return;
      const other = owner.get(host);
      if (other === undefined) owner.set(host, `sites[${i}] (${site.id})`);
      else problems.push(sitesSource.problem(['sites', i, 'hostnames', j], `hostname "${host}" is already used by ${other}`, 'a hostname can route to one site only; remove one of them'));
    });
  });
  if (canary.previewDomain) {
    sites.sites.forEach((site, i) => {
      if (site.id === undefined) return;
      const preview = `${site.id}.${canary.previewDomain}`;
      const other = owner.get(preview);
      if (other !== undefined) {
        problems.push(sitesSource.problem(['sites', i, 'id'], `the preview hostname "${preview}" of this site is already used by ${other}`, 'rename the site or remove that hostname'));
      }
    });
  }
  return problems;
};

const canonicalAmongHostnames: Rule = ({ sites, sitesSource }) =>
  sites.sites.flatMap((site, i) =>
    site.canonicalHostname === undefined || site.hostnames.length === 0 || site.hostnames.includes(site.canonicalHostname)
      ? []
      : [sitesSource.problem(['sites', i, 'canonicalHostname'], `"${site.canonicalHostname}" is not one of the site's hostnames`, `use one of: ${site.hostnames.filter(Boolean).join(', ')}`)],
  );

export const RULES: readonly Rule[] = [uniqueIds, uniqueHostnames, canonicalAmongHostnames];
