import { applicationOf, layoutOf, servicesApplication, siteNames, type ApplicationLayout } from '../../sites/names.js';
import { clustersOf, COLORS, imageOf, trafficOf, type Color, type Fleet } from '../../sites/types.js';
import { listApplications, type ApplicationStatus, type ArgoCdTarget } from '../publish/argocd.js';
import { fleetHistory, type DeployRecord, type Deployment, type HistoryOptions } from '../publish/history.js';
import { OutsideSystemError } from '../shared/errors.js';
import { mask, maskedMessage } from '../shared/mask.js';

/**
 * `aviary status`: the fleet as configured (sites.yaml, canary.yaml), as
 * published (the manifests branch: each site's last deploy, the deploy
 * history) and, with Argo CD, as running (each Application's sync and
 * health). Read-only: three reads, whatever the fleet's size.
 */

export interface SiteStatus {
  readonly id: string;
  readonly name: string;
  readonly cluster: string;
  /** The Argo CD Application that deploys it (its shard's, in a sharded layout). */
  readonly application: string;
  readonly hostnames: readonly string[];
  /** Its public URL (the canonical hostname). */
  readonly url: string;
  /** Its preview URL, on its service color. @default none (no previewDomain) */
  readonly preview?: string;
  /** The color its Jobs and preview host run on. */
  readonly service: Color;
  /** Each color's percentage of its public traffic. */
  readonly traffic: Readonly<Record<Color, number>>;
  /** The image its service color runs, as canary.yaml says. */
  readonly image: string;
  /** The newest manifests commit that changed its files. @default none (never published, or no manifests repository read) */
  readonly lastDeploy?: DeployRecord;
  /** What Argo CD says of its Application; sync and health `Missing` when Argo CD has no such Application. */
  readonly argocd?: ApplicationStatus;
}

export interface FleetStatus {
  /** ISO 8601. */
  readonly generatedAt: string;
  /** The active canary and each color's image, as canary.yaml says. */
  readonly canary: { readonly selector: Color; readonly images: Readonly<Record<Color, string>> };
  /**
   * Where the manifests are published, whether that could be read, and the
   * branch's head (absent: never published, or not read).
   * @default none (no manifests repository named)
   */
  readonly manifests?: { readonly repo: string; readonly branch: string; readonly path: string; readonly reachable: boolean; readonly head?: string };
  /**
   * Argo CD, and the Applications of the fleet's project that the fleet no
   * longer generates (left by a change of argocd.shards or clusters, which
   * the ApplicationSet never deletes, or a removed site's still being deleted).
   * @default none (no Argo CD URL and token)
   */
  readonly argocd?: { readonly url: string; readonly reachable: boolean; readonly strays: readonly string[] };
  /** What could not be read (the manifests repository, Argo CD), each failure in words; the rest is still shown. */
  readonly unavailable: readonly string[];
  readonly sites: readonly SiteStatus[];
  /** The newest deployments, newest first (empty without a manifests repository). */
  readonly history: readonly Deployment[];
}

export interface StatusOptions {
  /** The manifests branch to read; without it, no last deploys and no history. */
  readonly manifests?: HistoryOptions & { readonly branch: string; readonly path: string };
  readonly argocd?: ArgoCdTarget;
}

export async function fleetStatus(fleet: Fleet, options: StatusOptions): Promise<FleetStatus> {
  // A source that cannot be read leaves its columns empty, not the whole status: a page showing the rest is still worth having.
  const unavailable: string[] = [];
  const tolerate = <T>(read: Promise<T>): Promise<T | undefined> =>
    read.catch((error: unknown) => {
      if (!(error instanceof OutsideSystemError)) throw error;
      unavailable.push(maskedMessage(error));
      return undefined;
    });
  const [published, applications] = await Promise.all([
    options.manifests ? tolerate(fleetHistory(options.manifests)) : undefined,
    options.argocd ? tolerate(listApplications(options.argocd)) : undefined,
  ]);
  const layout = layoutOf(fleet.canary.settings);
  const scheme = fleet.canary.settings.ingress.scheme;
  const images = Object.fromEntries(COLORS.map((color) => [color, imageOf(fleet.canary, color)])) as Record<Color, string>;
  const sites = fleet.sites.map((site): SiteStatus => {
    const application = applicationOf(site, layout);
    const lastDeploy = published?.lastBySite.get(site.id);
    const preview = siteNames(site.id, fleet.canary.settings).previewHostname;
    return {
      id: site.id,
      name: site.name,
      cluster: site.cluster,
      application,
      hostnames: site.hostnames,
      url: `${scheme}://${site.canonicalHostname}/`,
      ...(preview ? { preview: `${scheme}://${preview}/` } : {}),
      service: site.service,
      traffic: trafficOf(site),
      image: images[site.service],
      ...(lastDeploy ? { lastDeploy } : {}),
      ...(applications ? { argocd: applications.get(application) ?? { sync: 'Missing', health: 'Missing' } } : {}),
    };
  });
  return {
    generatedAt: new Date().toISOString(),
    canary: { selector: fleet.canary.selector, images },
    ...(options.manifests
      ? {
          manifests: {
            repo: mask(options.manifests.repo),
            branch: options.manifests.branch,
            path: options.manifests.path,
            reachable: published !== undefined,
            ...(published?.head ? { head: published.head } : {}),
          },
        }
      : {}),
    ...(options.argocd ? { argocd: { url: options.argocd.url, reachable: applications !== undefined, strays: straysOf(applications, fleet, layout, sites) } } : {}),
    unavailable,
    sites,
    history: published?.deployments ?? [],
  };
}

/** Applications Argo CD has in the project that neither a site nor a cluster's services of this fleet would make. */
function straysOf(applications: ReadonlyMap<string, ApplicationStatus> | undefined, fleet: Fleet, layout: ApplicationLayout, sites: readonly SiteStatus[]): string[] {
  if (!applications) return [];
  const ours = new Set([...sites.map((s) => s.application), ...clustersOf(fleet.canary).map((c) => servicesApplication(c.name, layout))]);
  return [...applications.keys()].filter((name) => !ours.has(name)).sort();
}
