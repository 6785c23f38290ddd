/**
 * The vocabulary of Aviary: what `sites.yaml` and `canary.yaml` mean once they
 * are loaded and validated. Everything downstream (charts, CLI edits, the
 * pipeline) speaks in these types, never in raw YAML.
 */

/** The two long-lived colors. One of them is the active canary. */
export const COLORS = ['blue', 'green'] as const;
export type Color = (typeof COLORS)[number];

/**
 * The WP-CLI Jobs of a site, in the order they run: install once, update the
 * database after an image change, activate the theme, flush the caches.
 */
export const JOB_KINDS = ['install', 'update-db', 'theme', 'flush'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** One WordPress site, as declared in `sites.yaml`. */
export interface Site {
  /** DNS-1123 label; names every resource of the site. */
  readonly id: string;
  /** WordPress site title. */
  readonly name: string;
  /** Theme slug activated after install. */
  readonly theme: string;
  /** Public hostnames, in the order written. */
  readonly hostnames: readonly string[];
  /** The URL WordPress is installed at; one of `hostnames`. */
  readonly canonicalHostname: string;
  /** The color the site runs on: its Jobs' image and its preview hostname. */
  readonly service: Color;
  /**
   * The cluster it runs in, one of `clusters` in canary.yaml.
   * @default the first cluster
   */
  readonly cluster: string;
  /**
   * The color its public hostnames route to; with `weights`, the color with
   * the larger share (the site's, on a tie).
   * @default service
   */
  readonly ingress: Color;
  /**
   * A weighted canary: each color's percentage of the public traffic, from
   * `ingress: {blue: 90, green: 10}`. Absent when one color takes it all
   * (a split of 100 and 0 is that color).
   * @default none
   */
  readonly weights?: Readonly<Record<Color, number>>;
  /**
   * Counted up by `aviary site rerun [--job NAME]`: part of the site's Job
   * names, so its Jobs (a failed one included: a Job cannot be re-run in
   * place) run again. `rerun: N` in sites.yaml counts for every Job.
   * @default 0 for each Job
   */
  readonly rerun: Readonly<Record<JobKind, number>>;
}

/** A Kubernetes cluster the fleet runs in, as registered in Argo CD. */
export interface Cluster {
  /** DNS label; names its folder `clusters/<name>/` and its services Application. */
  readonly name: string;
  /** The API server URL exactly as registered in Argo CD (`argocd cluster list`). */
  readonly server: string;
}

/** The cluster of a fleet that declares none: the one Argo CD runs in. */
export const IN_CLUSTER: Cluster = { name: 'in-cluster', server: 'https://kubernetes.default.svc' };

/** One color's workload, from `canary.yaml` `services.<color>`. */
export interface ColorService {
  /** sha256 digest (64 hex) of the image; the image is `repository@sha256:<imageTag>`. */
  readonly imageTag: string;
  /** The number of pods; with `autoscale`, the autoscaler's minimum. */
  readonly replicas: number;
  /** A HorizontalPodAutoscaler on CPU. @default none (a fixed `replicas`) */
  readonly autoscale?: {
    readonly maxReplicas: number;
    /** Percent of the CPU request. @default 70 */
    readonly targetCPUUtilization: number;
  };
}

/** CPU and memory of one container, Kubernetes quantities. */
export interface Resources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu?: string; readonly memory: string };
}

/** Fleet-wide settings, beside the colors in `canary.yaml`; all optional there. */
export interface FleetSettings {
  /**
   * The clusters the sites run in, each with its own blue and green
   * services; their manifests go under `clusters/<name>/`.
   * @default none: one cluster, the one Argo CD runs in, manifests at the top
   */
  readonly clusters?: readonly Cluster[];
  /** @default 'wp-platform' */
  readonly namespace: string;
  readonly ingress: {
    /** @default 'nginx' */
    readonly className: string;
    /** Extra annotations on every site Ingress. @default {} */
    readonly annotations: Readonly<Record<string, string>>;
    /** cert-manager ClusterIssuer; when set, each site gets TLS in Secret `<id>-tls`. @default none */
    readonly tlsClusterIssuer?: string;
    /**
     * cert-manager ClusterIssuer of the one wildcard certificate
     * `*.<previewDomain>` every preview hostname shares (it must solve DNS-01).
     * @default tlsClusterIssuer
     */
    readonly previewIssuer?: string;
    /**
     * The scheme of the URL WordPress is installed with (its site URL). Keep
     * `https` when TLS ends in front of the ingress (a cloud load balancer),
     * not only with `tlsClusterIssuer`. @default 'https'
     */
    readonly scheme: 'https' | 'http';
  };
  /**
   * How public and preview hostnames reach the colors: an Ingress per site
   * (any class; a weighted split needs ingress-nginx's canary annotations),
   * or an HTTPRoute per site attached to the platform's Gateway, which also
   * holds TLS.
   */
  readonly routing: {
    /** @default 'ingress' */
    readonly kind: 'ingress' | 'gateway';
    /** The Gateway every HTTPRoute attaches to; required with `gateway`. */
    readonly gateway?: { readonly name: string; readonly namespace?: string; readonly sectionName?: string };
  };
  /** A site is previewed at `<id>.<previewDomain>` on its `service` color. @default none (no preview host) */
  readonly previewDomain?: string;
  readonly resources: {
    /** The blue/green WordPress containers. */
    readonly web: Resources;
    /** The WP-CLI Job containers. */
    readonly job: Resources;
  };
  readonly secrets: {
    /** Secrets Manager names are `<prefix>/<id>/db` and `<prefix>/<id>/admin`. @default 'aviary/sites' */
    readonly prefix: string;
    /** The External Secrets store that reads Secrets Manager. @default ClusterSecretStore 'aws-secrets-manager' */
    readonly store: { readonly kind: 'ClusterSecretStore' | 'SecretStore'; readonly name: string };
    /** How often External Secrets re-reads them. @default '1h' */
    readonly refreshInterval: string;
    /** The ExternalSecret API your External Secrets Operator serves. @default 'external-secrets.io/v1' (ESO 0.16+) */
    readonly apiVersion: 'external-secrets.io/v1' | 'external-secrets.io/v1beta1';
  };
  readonly jobs: {
    /**
     * Themes ship in the image, pinned, and the theme Job only activates the
     * site's theme. `true` makes it `wp theme install --activate` instead,
     * for fleets whose `wp-content` is a shared writable volume (it fetches
     * the current version from wordpress.org, so a revert does not restore
     * the same bytes). @default false
     */
    readonly installThemes: boolean;
    /**
     * A Kueue LocalQueue in the fleet namespace: every Job is created under
     * it (label `kueue.x-k8s.io/queue-name`), so a cluster-wide quota bounds
     * how many run at once (an image change gives every site on that color
     * an update-db Job). @default none (Jobs start at once)
     */
    readonly queue?: string;
  };
  /** The shared web tier (see docs/generated.md, "The web image contract"). */
  readonly web: {
    readonly serviceAccount: {
      /** @default 'aviary-web' */
      readonly name: string;
      /** e.g. `eks.amazonaws.com/role-arn` for IRSA. @default {} */
      readonly annotations: Readonly<Record<string, string>>;
    };
    /**
     * The host map and the site secrets are split into this many ConfigMaps
     * and ExternalSecrets by a stable hash of the site id, so each stays far
     * below Kubernetes' 1 MiB per object and a one-site change rewrites one
     * shard. Changing it moves sites between shards and restarts the web
     * pods (their volumes list every shard). @default 32
     */
    readonly shards: number;
  };
  readonly argocd: {
    /** The manifests repository Argo CD syncs from. */
    readonly repoURL: string;
    /** @default 'main' */
    readonly targetRevision: string;
    /** Folder of the manifests repo holding `services/` and `sites/`. @default '.' */
    readonly path: string;
    /** Namespace Argo CD runs in. @default 'argocd' */
    readonly namespace: string;
    /**
     * Group the sites into this many Applications by a stable hash of the id
     * (`sites/<NN>/<id>.yaml`, Application `sites-<NN>`), for fleets of
     * thousands of sites. Changing it moves sites between Applications.
     * @default none: one Application per site (`sites/<id>/`, `site-<id>`)
     */
    readonly shards?: number;
    /**
     * The AppProject Aviary generates for the fleet (least privilege: the
     * manifests repository, the fleet namespace, the kinds Aviary makes);
     * never Argo CD's `default`. @default 'aviary'
     */
    readonly project: string;
  };
}

/** `canary.yaml`: the two colors, which one is the active canary, and the fleet settings. */
export interface Canary {
  /** Image repository without tag or digest. */
  readonly repository: string;
  /** The active canary color. */
  readonly selector: Color;
  readonly services: Readonly<Record<Color, ColorService>>;
  readonly settings: FleetSettings;
}

/** Both input files, validated and cross-checked. */
export interface Fleet {
  readonly sites: readonly Site[];
  readonly canary: Canary;
}

/** The image a color runs: pinned by digest so a revert restores the exact bytes. */
export function imageOf(canary: Canary, color: Color): string {
  return `${canary.repository}@sha256:${canary.services[color].imageTag}`;
}

/** The color that is not `color`. */
export function otherColor(color: Color): Color {
  return color === 'blue' ? 'green' : 'blue';
}

/** Each color's percentage of the site's public traffic. */
export function trafficOf(site: Pick<Site, 'ingress' | 'weights'>): Record<Color, number> {
  if (site.weights) return { ...site.weights };
  return Object.fromEntries(COLORS.map((color) => [color, color === site.ingress ? 100 : 0])) as Record<Color, number>;
}

/** The clusters of the fleet: those canary.yaml declares, or the one Argo CD runs in. */
export function clustersOf(canary: Canary): readonly Cluster[] {
  return canary.settings.clusters ?? [IN_CLUSTER];
}
