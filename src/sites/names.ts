import { createHash } from 'node:crypto';
import { otherColor, type Color, type FleetSettings } from './types.js';

/**
 * Every name derived from a site id, in one place, because the charts (which
 * reference them) and the AWS hook (which creates them) must agree exactly.
 */
export interface SiteNames {
  /** The site's Ingress (its public hostnames). */
  readonly ingress: string;
  /** The Ingress of its preview hostname, when the fleet has a preview domain (with a Gateway: its HTTPRoute). */
  readonly previewIngress: string;
  /** The ingress-nginx canary Ingress of a weighted split. */
  readonly canaryIngress: string;
  /** The ExternalSecret, and the Kubernetes Secret it produces. */
  readonly credentials: string;
  /** Secrets Manager secret holding host, port, database, username, password. */
  readonly dbSecretId: string;
  /** Secrets Manager secret holding username, email, password of the WordPress admin. */
  readonly adminSecretId: string;
  /** Secrets Manager secret holding the site's WordPress keys and salts (see WP_KEYS). */
  readonly keysSecretId: string;
  /** MySQL database and user; `-` is not allowed unquoted in MySQL names. */
  readonly database: string;
  readonly databaseUser: string;
  /** Key prefix of the site's files in the fleet bucket, with trailing slash. */
  readonly s3Prefix: string;
  /** TLS Secret issued by cert-manager when TLS is on. */
  readonly tlsSecret: string;
  /** `<id>.<previewDomain>`, when the fleet has a preview domain. */
  readonly previewHostname?: string;
}

/** Only the settings names depend on: the secret prefix and the preview domain. */
export interface NameSettings {
  readonly secrets: Pick<FleetSettings['secrets'], 'prefix'>;
  readonly previewDomain?: string;
}

export function siteNames(id: string, settings: NameSettings): SiteNames {
  const sql = `wp_${id.replaceAll('-', '_')}`;
  return {
    ingress: id,
    previewIngress: `${id}-preview`,
    // A dot: never a site id (a DNS label), so never another site's Ingress name.
    canaryIngress: `${id}.canary`,
    credentials: `${id}-wordpress`,
    dbSecretId: `${settings.secrets.prefix}/${id}/db`,
    adminSecretId: `${settings.secrets.prefix}/${id}/admin`,
    keysSecretId: `${settings.secrets.prefix}/${id}/keys`,
    database: sql,
    databaseUser: sql,
    s3Prefix: `sites/${id}/`,
    tlsSecret: `${id}-tls`,
    previewHostname: settings.previewDomain ? `${id}.${settings.previewDomain}` : undefined,
  };
}

/** Job names end in a hash of what the Job depends on, so it reruns exactly when that changes (see charts/site-chart.ts siteJobs). */
export function jobName(id: string, job: string, hash: string): string {
  return `${id}-${job}-${hash}`;
}

/**
 * Where a fleet's manifests go and how sites map to Argo CD Applications:
 * one Application per site (`shards` unset) or grouped by a stable hash of
 * the id; and, when the fleet declares clusters, each cluster's files
 * under `clusters/<name>/`.
 */
export interface ApplicationLayout {
  readonly shards?: number;
  readonly clustered?: boolean;
}

export function layoutOf(settings: Pick<FleetSettings, 'argocd' | 'clusters'>): ApplicationLayout {
  return { shards: settings.argocd.shards, clustered: settings.clusters !== undefined };
}

/** The folder of one cluster's `services/` and `sites/`: `clusters/<name>/`, or the top when the fleet declares no clusters. */
export function clusterFolder(cluster: string, layout: ApplicationLayout): string {
  return layout.clustered ? `clusters/${cluster}/` : '';
}

/** The Argo CD Application the ApplicationSet makes for a site's own folder (its template applies this to the folder name). */
export function siteApplication(id: string): string {
  return `site-${id}`;
}

/** The Application of one shard of sites (its folder `sites/<NN>`), per cluster when there are several. */
export function shardApplication(folder: string, cluster?: string): string {
  return cluster ? `sites-${cluster}-${folder}` : `sites-${folder}`;
}

/** The Application of a cluster's blue and green services. */
export function servicesApplication(cluster: string, layout: ApplicationLayout): string {
  return layout.clustered ? `aviary-services-${cluster}` : 'aviary-services';
}

/** The Application that deploys a site's objects: its own, or its shard's. */
export function applicationOf(site: { readonly id: string; readonly cluster: string }, layout: ApplicationLayout): string {
  if (!layout.shards) return siteApplication(site.id);
  return shardApplication(shardSuffix(webShard(site.id, layout.shards), layout.shards), layout.clustered ? site.cluster : undefined);
}

/**
 * Where a site's file lives in the manifests: `sites/<id>/<id>.yaml` (a
 * folder, so an Application, of its own), or `sites/<NN>/<id>.yaml` in the
 * folder of its shard; under `clusters/<name>/` when the fleet declares
 * clusters. The file is always named after the site.
 */
export function siteFile(site: { readonly id: string; readonly cluster: string }, layout: ApplicationLayout): string {
  const folder = layout.shards ? shardSuffix(webShard(site.id, layout.shards), layout.shards) : site.id;
  return `${clusterFolder(site.cluster, layout)}sites/${folder}/${site.id}.yaml`;
}

const SITE_FILE = /^(?:clusters\/([^/]+)\/)?sites\/([^/]+)\/([^/]+)\.yaml$/;

/** The site a manifests path (relative to the published folder) belongs to, in any layout. */
export function siteOfFile(path: string): string | undefined {
  return SITE_FILE.exec(path)?.[3];
}

/**
 * The Application that deploys a site file, from its path alone: its folder
 * is the site's own (named like it) or a shard's (digits). For plans of
 * files published under another layout; applicationOf knows the layout.
 */
export function applicationOfFile(path: string): string | undefined {
  const m = SITE_FILE.exec(path);
  if (!m) return undefined;
  const [, cluster, folder, id] = m;
  return folder === id ? siteApplication(id!) : shardApplication(folder!, cluster);
}

/** Whether a manifests path is one of a cluster's services files (`services/…`, or `clusters/<name>/services/…`). */
export function isServicesFile(path: string): boolean {
  return /^(?:clusters\/[^/]+\/)?services\//.test(path);
}

/**
 * A request header that pins a weighted site to one of its colors, so a
 * check (`aviary verify`) reaches the canary share deterministically instead
 * of by chance: `always` goes to the color with the smaller share (the
 * canary), `never` to the other. It is ingress-nginx's own canary-by-header
 * contract; a Gateway route gets the same two header matches.
 */
export const CANARY_PIN_HEADER = 'X-Aviary-Canary';

/** The color with the smaller share of a split (the one the canary Ingress routes to): `ingress` is the larger. */
export function canaryColorOf(site: { readonly ingress: Color }): Color {
  return otherColor(site.ingress);
}

/** The keys and salts of wp-config.php, one Secrets Manager secret per site so every replica and both colors sign cookies alike. */
export const WP_KEYS = ['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as const;

/** The shard of a site (web tier, Argo CD): a stable hash of its id, so a site moves only when the number of shards changes. */
export function webShard(id: string, shards: number): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % shards;
}

/** `07` of 32 shards: fixed width, so the files sort in shard order. */
export function shardSuffix(shard: number, shards: number): string {
  return String(shard).padStart(String(shards - 1).length, '0');
}

/** The ConfigMap of one shard of the host map (hostname → site). */
export function hostMapName(shard: number, shards: number): string {
  return `aviary-sites-${shardSuffix(shard, shards)}`;
}

/** The ExternalSecret, and the Secret it makes, of one shard of the site secrets. */
export function siteSecretsName(shard: number, shards: number): string {
  return `aviary-site-secrets-${shardSuffix(shard, shards)}`;
}

/** The Secret of the wildcard certificate `*.<previewDomain>` that every preview Ingress uses. */
export const PREVIEW_TLS_SECRET = 'aviary-preview-tls';
