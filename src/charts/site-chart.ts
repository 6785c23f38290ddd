import { createHash } from 'node:crypto';
import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { CANARY_PIN_HEADER, canaryColorOf, jobName, PREVIEW_TLS_SECRET, siteNames, type SiteNames } from '../sites/names.js';
import { COLORS, imageOf, JOB_KINDS, type Canary, type Color, type JobKind, type Site } from '../sites/types.js';
import { KUEUE_QUEUE, SYNC_WAVE, siteLabels } from './labels.js';
import { resourceRequirements } from './quantities.js';
import { siteJobContract } from './web-tier.js';

export interface SiteChartProps {
  /** Its id names every object; its `service` color picks the Jobs' image and the preview route. */
  readonly site: Site;
  /**
   * The image of the site's `service` color and the fleet settings: the
   * namespace, ingress, preview domain, secrets and the Jobs' resources.
   * render.ts hashes exactly these into a site file's header to decide
   * whether the file can be reused: a setting newly read here must be
   * hashed there too.
   */
  readonly canary: Canary;
}

/**
 * Everything of one site: its Ingress, the ExternalSecret that brings its
 * admin credentials from AWS Secrets Manager, and its WP-CLI Jobs (see
 * siteJobs for when each runs).
 */
export class SiteChart extends Chart {
  constructor(scope: Construct, id: string, props: SiteChartProps) {
    const { site, canary } = props;
    const { settings } = canary;
    super(scope, id, { namespace: settings.namespace, labels: siteLabels(site.id), disableResourceNameHashes: true });
    const names = siteNames(site.id, settings);

    new ApiObject(this, 'credentials', externalSecret(names, settings));
    if (settings.routing.kind === 'gateway') {
      new ApiObject(this, 'route', httpRoute(names.ingress, site.hostnames, backends(site), canary, pinnedRules(site)));
      if (names.previewHostname) new ApiObject(this, 'preview', httpRoute(names.previewIngress, [names.previewHostname], [{ color: site.service }], canary));
    } else {
      new k8s.KubeIngress(this, 'ingress', ingress(site, names, canary));
      const split = canaryIngress(site, names, canary);
      if (split) new k8s.KubeIngress(this, 'canary', split);
      const preview = previewIngress(site, names, canary);
      if (preview) new k8s.KubeIngress(this, 'preview', preview);
    }

    const jobs = siteJobs(site, names, canary);
    for (const kind of JOB_KINDS) new k8s.KubeJob(this, kind, jobs[kind]);
  }
}

function externalSecret(names: SiteNames, settings: Canary['settings']) {
  const fromAdmin = (key: string, property: string) => ({ secretKey: key, remoteRef: { key: names.adminSecretId, property } });
  return {
    apiVersion: settings.secrets.apiVersion,
    kind: 'ExternalSecret',
    metadata: { name: names.credentials, annotations: { [SYNC_WAVE]: '0' } },
    spec: {
      refreshInterval: settings.secrets.refreshInterval,
      secretStoreRef: { kind: settings.secrets.store.kind, name: settings.secrets.store.name },
      target: {
        name: names.credentials,
        creationPolicy: 'Owner',
        // Only the admin, for the install Job's `$(…)` references: the database and keys come from the web contract's files.
        template: {
          engineVersion: 'v2',
          data: {
            WP_ADMIN_USER: '{{ .admin_user }}',
            WP_ADMIN_EMAIL: '{{ .admin_email }}',
            WP_ADMIN_PASSWORD: '{{ .admin_password }}',
          },
        },
      },
      data: [fromAdmin('admin_user', 'username'), fromAdmin('admin_email', 'email'), fromAdmin('admin_password', 'password')],
    },
  };
}

/** An Ingress rule sending every path of `host` to the Service of `color`. */
function rule(host: string, color: string): k8s.IngressRule {
  return { host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: color, port: { name: 'http' } } } }] } };
}

/**
 * Last wave: a site is publicly routable (and its certificate requested)
 * only once it is installed, and no Job waits on the Ingress's health
 * (controllers that publish no load-balancer status never report it).
 */
const INGRESS_WAVE = '5';

/** Public hostnames go to the `ingress` color, in a certificate of the site's own. */
function ingress(site: Site, names: SiteNames, canary: Canary): k8s.KubeIngressProps {
  const { settings } = canary;
  const annotations: Record<string, string> = { ...settings.ingress.annotations, [SYNC_WAVE]: INGRESS_WAVE };
  if (settings.ingress.tlsClusterIssuer) annotations['cert-manager.io/cluster-issuer'] = settings.ingress.tlsClusterIssuer;
  return {
    metadata: { name: names.ingress, annotations },
    spec: {
      ingressClassName: settings.ingress.className,
      rules: site.hostnames.map((host) => rule(host, site.ingress)),
      tls: settings.ingress.tlsClusterIssuer ? [{ hosts: [...site.hostnames], secretName: names.tlsSecret }] : undefined,
    },
  };
}

/** ingress-nginx reads a canary Ingress's share from these (strings: "true", "10"). */
export const NGINX_CANARY = 'nginx.ingress.kubernetes.io/canary';
export const NGINX_CANARY_WEIGHT = 'nginx.ingress.kubernetes.io/canary-weight';
export const NGINX_CANARY_BY_HEADER = 'nginx.ingress.kubernetes.io/canary-by-header';

/**
 * A weighted split on ingress-nginx: a second Ingress for the same hosts,
 * paths and path types, to the other color, marked canary with its share.
 * ingress-nginx merges it into the main Ingress's upstreams; TLS and the
 * other annotations stay the main Ingress's. CANARY_PIN_HEADER (`always` /
 * `never`) overrides the weight for one request, for verification.
 */
function canaryIngress(site: Site, names: SiteNames, canary: Canary): k8s.KubeIngressProps | undefined {
  if (!site.weights) return undefined;
  const { settings } = canary;
  const other = canaryColorOf(site);
  return {
    metadata: {
      name: names.canaryIngress,
      annotations: { [SYNC_WAVE]: INGRESS_WAVE, [NGINX_CANARY]: 'true', [NGINX_CANARY_WEIGHT]: String(site.weights[other]), [NGINX_CANARY_BY_HEADER]: CANARY_PIN_HEADER },
    },
    spec: { ingressClassName: settings.ingress.className, rules: site.hostnames.map((host) => rule(host, other)) },
  };
}

/** The colors public traffic goes to, with their shares when split. */
function backends(site: Site): { color: Color; weight?: number }[] {
  return site.weights ? COLORS.map((color) => ({ color, weight: site.weights![color] })) : [{ color: site.ingress }];
}

/**
 * A split site's pinned routes, as ingress-nginx's canary-by-header reads
 * CANARY_PIN_HEADER: `always` to the canary color, `never` to the other. A
 * rule with a header match takes precedence over the weighted rule.
 */
function pinnedRules(site: Site): { matches: unknown[]; backendRefs: { name: Color; port: number }[] }[] {
  if (!site.weights) return [];
  const pinned = (value: 'always' | 'never', color: Color) => ({
    matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ type: 'Exact', name: CANARY_PIN_HEADER, value }] }],
    backendRefs: [{ name: color, port: 80 }],
  });
  return [pinned('always', canaryColorOf(site)), pinned('never', site.ingress)];
}

/**
 * Routing through the platform's Gateway: one HTTPRoute for `hostnames`,
 * attached to routing.gateway, to the colors' Services (weights are
 * proportional, here percentages). TLS is the Gateway's listeners'.
 */
function httpRoute(name: string, hostnames: readonly string[], to: readonly { color: Color; weight?: number }[], canary: Canary, pins: readonly unknown[] = []) {
  const gateway = canary.settings.routing.gateway!;
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, annotations: { [SYNC_WAVE]: INGRESS_WAVE } },
    spec: {
      parentRefs: [{ name: gateway.name, ...(gateway.namespace ? { namespace: gateway.namespace } : {}), ...(gateway.sectionName ? { sectionName: gateway.sectionName } : {}) }],
      hostnames: [...hostnames],
      rules: [...pins, { backendRefs: to.map(({ color, weight }) => ({ name: color, port: 80, ...(weight === undefined ? {} : { weight }) })) }],
    },
  };
}

/**
 * The preview hostname goes to the `service` color, in an Ingress of its own
 * that cert-manager does not watch: its TLS is the fleet's one wildcard
 * certificate (services/preview-certificate.yaml), not a name in every
 * site's certificate, so onboarding is not capped by the CA's rate limits.
 */
function previewIngress(site: Site, names: SiteNames, canary: Canary): k8s.KubeIngressProps | undefined {
  const { settings } = canary;
  if (!names.previewHostname) return undefined;
  const tls = previewIssuerOf(canary) !== undefined;
  return {
    metadata: { name: names.previewIngress, annotations: { ...settings.ingress.annotations, [SYNC_WAVE]: INGRESS_WAVE } },
    spec: {
      ingressClassName: settings.ingress.className,
      rules: [rule(names.previewHostname, site.service)],
      tls: tls ? [{ hosts: [names.previewHostname], secretName: PREVIEW_TLS_SECRET }] : undefined,
    },
  };
}

/** The issuer of the wildcard preview certificate, when the fleet has previews over TLS. */
export function previewIssuerOf(canary: Canary): string | undefined {
  const { previewDomain, ingress } = canary.settings;
  return previewDomain ? (ingress.previewIssuer ?? ingress.tlsClusterIssuer) : undefined;
}

/**
 * The site's WP-CLI Jobs, in the order they run (sync waves 1–4).
 *
 * A Job runs again only under a new name, and its name ends in a hash of
 * exactly what it depends on (its `dependsOn`, recorded in the annotation
 * `aviary.io/depends-on`): install once per site, update-db per image,
 * theme per theme, flush after any of them and whenever the site's colors
 * or URL move. Everything else in a Job's spec (the image of install and
 * theme, the URL, resources, the contract's shard) is what it was created
 * with: a Job's pod template is immutable in Kubernetes, and the Argo CD
 * Applications ignore `spec.template` of Jobs (RespectIgnoreDifferences,
 * argocd-chart.ts), so such a change neither fails the sync nor reruns
 * the Job. No `ttlSecondsAfterFinished`: a Job the cluster deleted would
 * look missing to Argo CD, which would then recreate and rerun it.
 */
function siteJobs(site: Site, names: SiteNames, canary: Canary): Record<JobKind, k8s.KubeJobProps> {
  const { settings } = canary;
  const url = `${settings.ingress.scheme}://${site.canonicalHostname}`;
  // Kubernetes expands `$(VAR)` in args and reduces `$$` to `$`: doubling every `$` passes the title through as written.
  const title = site.name.replace(/\$/g, () => '$$');
  const image = imageOf(canary, site.service);
  // The same pod for every Job of the site: only the command and the name differ.
  const pod = { site, canary, image, credentials: names.credentials, contract: siteJobContract(site, canary) };
  const job = (kind: JobKind, dependsOn: Record<string, unknown>, command: string[]) =>
    wpCliJob(pod, kind, { ...dependsOn, ...(site.rerun[kind] > 0 ? { rerun: site.rerun[kind] } : {}) }, command);

  // Once per site: an installed site stays installed (`wp core install` does nothing then).
  const install = job('install', {}, [
    'wp', 'core', 'install', `--url=${url}`, `--title=${title}`,
    '--admin_user=$(WP_ADMIN_USER)', '--admin_password=$(WP_ADMIN_PASSWORD)', '--admin_email=$(WP_ADMIN_EMAIL)', '--skip-email',
  ]);
  // The database follows the code: once per image the site runs on.
  const updateDb = job('update-db', { image }, ['wp', 'core', 'update-db', `--url=${url}`]);
  const theme = job('theme', { theme: site.theme, install: settings.jobs.installThemes }, [
    'wp', 'theme', ...(settings.jobs.installThemes ? ['install', site.theme, '--activate'] : ['activate', site.theme]), `--url=${url}`,
  ]);
  // What WordPress caches outside the pods: the persistent object cache the contract names
  // (WP_CACHE_KEY_SALT keeps sites apart in it) and, without one, transients in the database.
  // After anything that changes pages (the Jobs before it), an upgrade, a promote or a new URL.
  const after = [install, updateDb, theme].map((j) => j.metadata?.name);
  const flush = job('flush', { after, service: site.service, ingress: site.ingress, url }, [
    'sh', '-c', 'wp cache flush --url="$1" && wp transient delete --all --url="$1"', 'flush', url,
  ]);
  return { install, 'update-db': updateDb, theme, flush };
}

/** Where a WP-CLI Job runs in the order of a site's sync waves: after its admin secret (0), before its Ingress. */
const JOB_WAVES: Readonly<Record<JobKind, number>> = { install: 1, 'update-db': 2, theme: 3, flush: 4 };

interface JobPod {
  readonly site: Site;
  readonly canary: Canary;
  /** The image of the site's `service` color. */
  readonly image: string;
  /** The Secret with WP_ADMIN_*. */
  readonly credentials: string;
  readonly contract: ReturnType<typeof siteJobContract>;
}

function wpCliJob({ site, canary, image, credentials, contract }: JobPod, kind: JobKind, dependsOn: Record<string, unknown>, command: string[]): k8s.KubeJobProps {
  const labels = { ...siteLabels(site.id), 'aviary.io/job': kind };
  const queue = canary.settings.jobs.queue;
  const inputs = JSON.stringify(dependsOn);
  const hash = createHash('sha256').update(`${kind}\n${inputs}`).digest('hex').slice(0, 10);
  return {
    metadata: {
      name: jobName(site.id, kind, hash),
      labels: queue ? { ...labels, [KUEUE_QUEUE]: queue } : labels,
      annotations: { [SYNC_WAVE]: String(JOB_WAVES[kind]), 'aviary.io/depends-on': inputs },
    },
    spec: {
      backoffLimit: 3,
      activeDeadlineSeconds: 900,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          // WP-CLI refuses to run as root; www-data is uid/gid 33 in the WordPress images, and fsGroup
          // lets it read the contract's secret files (0440).
          securityContext: { runAsUser: 33, runAsGroup: 33, runAsNonRoot: true, fsGroup: 33, seccompProfile: { type: 'RuntimeDefault' } },
          volumes: contract.volumes,
          containers: [
            {
              name: 'wp-cli',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: [command[0]],
              args: command.slice(1),
              env: contract.env,
              // WP_ADMIN_* for the `$(…)` references in the install Job's args.
              envFrom: [{ secretRef: { name: credentials } }],
              volumeMounts: contract.volumeMounts,
              resources: resourceRequirements(canary.settings.resources.job),
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}
