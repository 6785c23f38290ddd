import type { FleetSettings } from './types.js';

/**
 * Every name derived from a site id, in one place, because the charts (which
 * reference them) and the AWS hook (which creates them) must agree exactly.
 */
export interface SiteNames {
  /** The site's Ingress. */
  readonly ingress: string;
  /** The ExternalSecret, and the Kubernetes Secret it produces. */
  readonly credentials: string;
  /** Secrets Manager secret holding host, port, database, username, password. */
  readonly dbSecretId: string;
  /** Secrets Manager secret holding username, email, password of the WordPress admin. */
  readonly adminSecretId: string;
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
    credentials: `${id}-wordpress`,
    dbSecretId: `${settings.secrets.prefix}/${id}/db`,
    adminSecretId: `${settings.secrets.prefix}/${id}/admin`,
    database: sql,
    databaseUser: sql,
    s3Prefix: `sites/${id}/`,
    tlsSecret: `${id}-tls`,
    previewHostname: settings.previewDomain ? `${id}.${settings.previewDomain}` : undefined,
  };
}

/** Job names carry a content hash so a Job reruns exactly when its spec changes (see charts/site-chart.ts). */
export function jobName(id: string, job: string, hash: string): string {
  return `${id}-${job}-${hash}`;
}

/** The Argo CD Application the ApplicationSet makes for a site (its template applies this to the folder name). */
export function siteApplication(id: string): string {
  return `site-${id}`;
}
