import { COLORS } from '../../sites/types.js';
import type { FleetStatus, SiteStatus } from '../stages/status.js';
import { shortImage } from '../publish/history.js';
import { listIds, plural } from '../shared/words.js';

/** `aviary status` for a terminal: what runs where, one line a site, then what is published and running. */
export function statusText(status: FleetStatus): string {
  const argo = status.argocd?.reachable === true;
  const header = ['SITE', 'TRAFFIC', 'SERVICE', 'IMAGE', 'LAST DEPLOY', ...(argo ? ['ARGO CD'] : [])];
  const rows = status.sites.map((site) => [
    site.id,
    trafficText(site),
    site.service,
    shortImage(site.image),
    site.lastDeploy ? `${minuteOf(site.lastDeploy.date)} ${site.lastDeploy.commit.slice(0, 12)}` : status.manifests?.reachable ? 'never' : '-',
    ...(argo ? [`${site.argocd!.sync} ${site.argocd!.health}`] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const images = COLORS.map((c) => `${c}${c === status.canary.selector ? '*' : ''} ${shortImage(status.canary.images[c])}`).join(', ');
  const m = status.manifests;
  const published = !m
    ? 'Last deploys unknown: no manifests repository named (pass --repo, or set argocd.repoURL in canary.yaml).'
    : `Published: ${!m.reachable ? 'unknown (not read)' : m.head ? m.head.slice(0, 12) : 'never'} on ${m.branch} of ${m.repo}${m.path === '.' ? '' : `, folder ${m.path}/`}.`;
  const unhealthy = status.sites.filter((s) => s.argocd && !(s.argocd.sync === 'Synced' && s.argocd.health === 'Healthy'));
  return [
    ...(status.sites.length ? [line(header), ...rows.map(line), ''] : ['No sites.', '']),
    `${plural(status.sites.length, 'site')}; images ${images} (* the active canary).`,
    published,
    ...status.unavailable.map((problem) => `Not read: ${problem}`),
    ...(argo ? [`Argo CD: ${unhealthy.length === 0 ? 'every site Synced and Healthy' : `${unhealthy.length} not Synced and Healthy: ${unhealthy.map((s) => s.id).join(', ')}`}.`] : []),
    ...(argo && status.argocd!.strays.length ? [straysText(status.argocd!.strays)] : []),
  ].join('\n');
}

/** `blue`, or `blue 90% green 10%`. */
export function trafficText(site: Pick<SiteStatus, 'traffic'>): string {
  const shares = COLORS.filter((c) => site.traffic[c] > 0);
  return shares.length === 1 ? shares[0]! : shares.map((c) => `${c} ${site.traffic[c]}%`).join(' ');
}

/** What to do about Applications the fleet no longer generates. */
export function straysText(strays: readonly string[]): string {
  return (
    `Argo CD has ${strays.length === 1 ? 'an Application' : `${strays.length} Applications`} in the project that this fleet no longer generates: ${listIds(strays)}. ` +
    'After a change of argocd.shards or clusters, delete each with `argocd app delete NAME --cascade=false` once the new Applications are Synced; a removed site\'s goes when the pipeline has deleted it.'
  );
}

/** `2026-11-30T07:10:48+00:00` → `2026-11-30 07:10`: minutes are enough to find a deploy. */
export function minuteOf(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}
