import { isIP } from 'node:net';
import { z } from 'zod';
import { COLORS, JOB_KINDS, type JobKind } from './types.js';

/**
 * The shape of `sites.yaml` and `canary.yaml`, field by field. Cross-field and
 * cross-file rules (duplicates, canonical host, …) live in `rules.ts`.
 *
 * A message may carry a hint after `\nhint: `; `validate.ts` splits it off.
 */

/** The longest id whose derived names all fit: the MySQL user `wp_<id>` must stay within MySQL's 32 characters. */
export const MAX_ID_LENGTH = 29;
/**
 * Bounds on what a site carries into its registry item (DynamoDB: 400 KB per
 * item), its Job arguments and its Ingress. A Let's Encrypt certificate holds
 * at most 100 names, and the preview hostname may take one of them.
 */
export const MAX_TITLE_LENGTH = 255;
export const MAX_THEME_LENGTH = 100;
export const MAX_HOSTNAMES = 99;
/** Kubernetes stores replicas as an int32. */
export const MAX_REPLICAS = 2 ** 31 - 1;
/** How many shards the web tier's host map and site secrets may be split into. */
export const MAX_WEB_SHARDS = 256;
/**
 * The most sites one shard may hold: a shard's Secret holds each site's two
 * secrets (about 1.2 KB once base64-encoded), and a Kubernetes object must
 * stay under 1 MiB. 600 leaves room for long hostnames and larger secrets.
 */
export const MAX_SITES_PER_SHARD = 600;
/** How many Applications the sites may be grouped into (`argocd.shards`). */
export const MAX_ARGOCD_SHARDS = 1000;
/**
 * The most sites one Application may hold: about 7 objects each, and an
 * Application of some 3,000 resources failed to sync when its status hit
 * the object size limit (argo-cd #14486).
 */
export const MAX_SITES_PER_APPLICATION = 300;
/** Kubernetes refuses an object whose annotations (keys and values, in bytes) exceed 256 KiB; some room is left for Aviary's own. */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024 - 4096;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;
const DIGEST = /^[0-9a-f]{64}$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*$/;
const CPU = /^([0-9]+m|[0-9]+(\.[0-9]+)?)$/;
const MEMORY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const DURATION = /^([0-9]+(s|m|h))+$/;
/** A Kubernetes qualified name (label and annotation keys): an optional DNS-subdomain prefix and `/`, then the name. */
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Control characters and Unicode line breaks: a title is one line of text. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
/** Annotation values may be multi-line (e.g. nginx snippets), but hold no other control character. */
const CONTROL_BUT_NEWLINE_TAB = /(?![\n\t])\p{Cc}/u;
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u;
/** A folder inside the manifests repo: relative, without `.` or `..` segments, or `.` itself. */
const REPO_FOLDER = /^(\.|(?!\.\.?(\/|$))[A-Za-z0-9_.-]+(\/(?!\.\.?(\/|$))[A-Za-z0-9_.-]+)*)$/;
/** scp-like git address, as Argo CD accepts it: `git@github.com:org/repo.git`. */
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*$/;

const str = (what: string) => z.string({ error: `expected ${what} (a string)` });

const id = str('a site id')
  .regex(DNS_LABEL, {
    error: 'is not a DNS-1123 label\nhint: use lowercase letters, digits and "-", starting and ending with a letter or digit',
  })
  .max(MAX_ID_LENGTH, {
    error: `is longer than ${MAX_ID_LENGTH} characters\nhint: the database user wp_<id> must fit MySQL's 32-character limit; shorten the id`,
  });

export const hostname = str('a hostname')
  .regex(HOSTNAME, {
    error: 'is not a valid hostname\nhint: use a lowercase fully-qualified name such as shop.example.com (no scheme, port or path)',
    abort: true,
  })
  // An Ingress routes by name; Kubernetes refuses an IP address as a rule's host.
  .refine((h) => isIP(h) === 0, { error: 'is an IP address, not a DNS name\nhint: an Ingress routes by name; use a hostname such as shop.example.com', abort: true })
  .refine((h) => !/\.[0-9]+$/.test(h), { error: 'ends in an all-numeric label\nhint: a top-level domain has letters (RFC 3696); use a name such as shop.example.com' });

const label = (what: string) =>
  str(what).regex(DNS_LABEL, { error: 'is not a DNS-1123 label\nhint: use lowercase letters, digits and "-"' }).max(63, { error: 'is longer than 63 characters' });

const color = z.enum(COLORS, { error: `is not a color\nhint: use one of ${COLORS.join(', ')}` });

const weight = z.int({ error: 'expected a whole number from 0 to 100' }).min(0, { error: 'must be at least 0' }).max(100, { error: 'must be at most 100' });

/** A site's public traffic split between the colors, in percent: `{blue: 90, green: 10}`. */
const weights = z
  .strictObject({ blue: weight, green: weight })
  .refine((w) => w.blue + w.green === 100, {
    error: 'the weights do not add up to 100\nhint: give each color its percentage of the public traffic, e.g. {blue: 90, green: 10}',
  });

export const imageTag = str('a sha256 digest').regex(DIGEST, {
  error: 'is not a sha256 digest\nhint: write the image digest as 64 lowercase hex characters (no "sha256:" prefix); mutable tags such as "latest" are not allowed',
});

/** A rerun counter of `aviary site rerun`. */
const counter = z.int({ error: 'expected a whole number' }).min(0, { error: 'must not be negative' }).max(1_000_000, { error: 'is more than 1000000' });

const siteSchema = z.strictObject({
  id,
  name: str('the site title')
    .min(1, { error: 'must not be empty' })
    .max(MAX_TITLE_LENGTH, { error: `is longer than ${MAX_TITLE_LENGTH} characters\nhint: shorten the site title (it is stored in the site registry and passed to the install Job)` })
    .refine((s) => !CONTROL.test(s), { error: 'holds a line break or another control character\nhint: a site title is one line of text' }),
  theme: str('a theme slug')
    .regex(/^[a-z0-9][a-z0-9_-]*$/, {
      error: 'is not a theme slug\nhint: use the slug from wordpress.org, e.g. astra or twentytwentyfour',
    })
    .max(MAX_THEME_LENGTH, { error: `is longer than ${MAX_THEME_LENGTH} characters` }),
  // The length is checked before the hostnames themselves: 100,000 of them are one problem, not 100,000.
  hostnames: z
    .array(z.unknown(), { error: 'expected a list of hostnames' })
    .min(1, { error: 'must list at least one hostname' })
    .max(MAX_HOSTNAMES, { error: `lists more than ${MAX_HOSTNAMES} hostnames\nhint: a certificate holds at most 100 names, one of them the preview hostname; split the site` })
    .pipe(z.array(hostname)),
  canonicalHostname: hostname.optional(),
  service: color,
  ingress: z
    .union([color, weights], {
      error: "is neither a color nor the two colors' weights\nhint: blue or green, or a split such as {blue: 90, green: 10} (aviary site shift writes it)",
    })
    .optional(),
  cluster: label('a cluster name').optional(),
  rerun: z
    .union([counter, z.strictObject(Object.fromEntries(JOB_KINDS.map((job) => [job, counter.optional()])) as Record<JobKind, z.ZodOptional<typeof counter>>)], {
      error: `expected a whole number, or a map of Job (${JOB_KINDS.join(', ')}) to a whole number\nhint: aviary site rerun ID [--job NAME] counts it up`,
    })
    .optional(),
});

export const sitesFileSchema = z.strictObject({
  sites: z.array(siteSchema, { error: 'expected a list of sites' }),
});

const resources = (cpu: string, memory: string, memoryLimit: string) =>
  z
    .strictObject({
      requests: z
        .strictObject({
          cpu: str('a CPU quantity').regex(CPU, { error: 'is not a CPU quantity\nhint: e.g. 100m or 0.5' }).default(cpu),
          memory: str('a memory quantity').regex(MEMORY, { error: 'is not a memory quantity\nhint: e.g. 256Mi' }).default(memory),
        })
        .prefault({}),
      limits: z
        .strictObject({
          cpu: str('a CPU quantity').regex(CPU, { error: 'is not a CPU quantity\nhint: e.g. 1 or 1500m' }).optional(),
          memory: str('a memory quantity').regex(MEMORY, { error: 'is not a memory quantity\nhint: e.g. 512Mi' }).default(memoryLimit),
        })
        .prefault({}),
    })
    .prefault({});

const replicas = z
  .int({ error: 'expected a whole number' })
  .min(0, { error: 'must not be negative' })
  .max(MAX_REPLICAS, { error: `is more than ${MAX_REPLICAS}\nhint: Kubernetes stores replicas as a 32-bit integer` })
  .default(1);

const annotations = z
  .record(
    str('an annotation key')
      .regex(QUALIFIED_NAME, {
        error: 'is not a Kubernetes annotation key\nhint: an optional DNS prefix and "/", then a name of letters, digits, "-", "_" and ".", e.g. nginx.ingress.kubernetes.io/proxy-body-size',
        abort: true,
      })
      .refine((k) => k.length - k.lastIndexOf('/') - 1 <= 63, { error: 'has a name (after the "/") longer than 63 characters' })
      .refine((k) => !k.includes('/') || DNS_SUBDOMAIN.test(k.slice(0, k.lastIndexOf('/'))), { error: 'has a prefix (before the "/") longer than 253 characters' }),
    z
      .string({ error: 'annotation values must be strings\nhint: quote numbers and booleans' })
      .refine((v) => !CONTROL_BUT_NEWLINE_TAB.test(v), { error: 'holds a control character\nhint: annotation values are text; only line breaks and tabs are allowed' }),
  )
  .refine((a) => Object.entries(a).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0) <= MAX_ANNOTATIONS_BYTES, {
    error: `are larger than ${MAX_ANNOTATIONS_BYTES} bytes in all\nhint: Kubernetes allows 256 KiB of annotations per object`,
  });

/** A git repository Argo CD can clone: an http(s), ssh or git URL without credentials, or an scp-like address. */
/** argocd.repoURL when canary.yaml sets none: a placeholder, never a place to publish to. */
export const PLACEHOLDER_REPO_URL = 'https://git.example.com/wp-fleet-manifests.git';

const repoURL = str('a git URL')
  .min(1, { error: 'must not be empty', abort: true })
  .refine((u) => !WHITESPACE_OR_CONTROL.test(u), { error: 'holds a space, line break or control character\nhint: a URL is one word', abort: true })
  .refine((u) => SCP_LIKE.test(u) || ['https:', 'http:', 'ssh:', 'git:'].includes(parseUrl(u)?.protocol ?? ''), {
    error: 'is not a git repository URL\nhint: e.g. https://github.com/org/manifests.git or git@github.com:org/manifests.git',
    abort: true,
  })
  .refine((u) => SCP_LIKE.test(u) || !parseUrl(u)?.password, {
    error: 'holds a password or token\nhint: the manifests are committed; give Argo CD the credentials in a repository Secret instead',
  });

function parseUrl(u: string): URL | undefined {
  return URL.canParse(u) ? new URL(u) : undefined;
}

/** A HorizontalPodAutoscaler for a color: from `replicas` up to `maxReplicas` on CPU. */
const autoscale = z.strictObject({
  maxReplicas: z
    .int({ error: 'expected a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(MAX_REPLICAS, { error: `is more than ${MAX_REPLICAS}` }),
  targetCPUUtilization: z
    .int({ error: 'expected a whole number' })
    .min(1, { error: 'must be at least 1 (percent of the CPU request)' })
    .max(100, { error: 'must be at most 100 (percent of the CPU request)' })
    .default(70),
});

const colorService = z
  .strictObject({ imageTag, replicas, autoscale: autoscale.optional() })
  .refine((c) => !c.autoscale || c.autoscale.maxReplicas >= Math.max(1, c.replicas), {
    error: 'autoscale.maxReplicas is below replicas\nhint: replicas is the autoscaler\'s minimum; maxReplicas must be at least that',
    path: ['autoscale', 'maxReplicas'],
  });

export const canaryFileSchema = z.strictObject({
  clusters: z
    .array(
      z.strictObject({
        name: label('a cluster name'),
        server: str('an API server URL').regex(/^https:\/\/[^\s/]+(\/[^\s]*)?$/, {
          error: 'is not an https URL\nhint: the API server URL exactly as Argo CD lists it (argocd cluster list), e.g. https://kubernetes.default.svc',
        }),
      }),
      { error: 'expected a list of clusters, each { name, server }' },
    )
    .min(1, { error: 'must list at least one cluster\nhint: remove clusters: for one cluster, the one Argo CD runs in' })
    .superRefine((clusters, ctx) => {
      const seen = { name: new Map<string, number>(), server: new Map<string, number>() };
      clusters.forEach((cluster, i) => {
        for (const key of ['name', 'server'] as const) {
          const first = seen[key].get(cluster[key]);
          if (first === undefined) seen[key].set(cluster[key], i);
          else
            ctx.addIssue({
              code: 'custom',
              path: [i, key],
              message:
                key === 'name'
                  ? `is already the name of clusters[${first}]\nhint: every cluster needs its own name`
                  : `is already the server of clusters[${first}]\nhint: list each cluster once; Argo CD shards by cluster, so one server under two names only doubles its watches`,
            });
        }
      });
    })
    .optional(),
  repository: str('an image repository').regex(REPOSITORY, {
    error: 'is not an image repository\nhint: write it without tag or digest, e.g. 123456789012.dkr.ecr.us-west-2.amazonaws.com/wp-fleet',
  }),
  selector: color,
  services: z.strictObject(
    {
      blue: colorService,
      green: colorService,
    },
    { error: 'expected the two colors blue and green' },
  ),
  namespace: label('a namespace').default('wp-platform'),
  previewDomain: hostname.optional(),
  routing: z
    .strictObject({
      kind: z.enum(['ingress', 'gateway'], { error: 'is not a routing kind\nhint: ingress (an Ingress per site, any class) or gateway (an HTTPRoute per site on routing.gateway)' }).default('ingress'),
      gateway: z
        .strictObject({
          name: label('a Gateway name'),
          namespace: label('a namespace').optional(),
          sectionName: label('a listener name').optional(),
        })
        .optional(),
    })
    .refine((r) => r.kind !== 'gateway' || r.gateway !== undefined, {
      error: 'names no Gateway\nhint: with routing.kind gateway, set routing.gateway: {name: …, namespace: …, sectionName: …} (the platform Gateway the HTTPRoutes attach to)',
    })
    .prefault({}),
  ingress: z
    .strictObject({
      className: label('an IngressClass name').default('nginx'),
      annotations: annotations.default({}),
      tlsClusterIssuer: label('a ClusterIssuer name').optional(),
      previewIssuer: label('a ClusterIssuer name').optional(),
      scheme: z
        .enum(['https', 'http'], { error: 'is not a URL scheme\nhint: https (the default, also when TLS ends at a load balancer) or http' })
        .default('https'),
    })
    .prefault({}),
  resources: z
    .strictObject({
      web: resources('250m', '256Mi', '512Mi'),
      job: resources('50m', '128Mi', '256Mi'),
    })
    .prefault({}),
  secrets: z
    .strictObject({
      prefix: str('a Secrets Manager name prefix')
        .regex(/^[A-Za-z0-9/_+=.@-]*[A-Za-z0-9_+=.@-]$/, { error: 'is not a Secrets Manager name prefix\nhint: e.g. aviary/sites (no trailing slash)' })
        .default('aviary/sites'),
      store: z
        .strictObject({
          kind: z.enum(['ClusterSecretStore', 'SecretStore']).default('ClusterSecretStore'),
          name: label('a secret store name').default('aws-secrets-manager'),
        })
        .prefault({}),
      refreshInterval: str('a duration').regex(DURATION, { error: 'is not a duration\nhint: e.g. 1h or 30m' }).default('1h'),
      apiVersion: z
        .enum(['external-secrets.io/v1', 'external-secrets.io/v1beta1'], {
          error: 'is not an External Secrets API version\nhint: external-secrets.io/v1 (ESO 0.16 and newer) or external-secrets.io/v1beta1',
        })
        .default('external-secrets.io/v1'),
    })
    .prefault({}),
  jobs: z
    .strictObject({
      installThemes: z.boolean({ error: 'expected true or false' }).default(false),
      queue: str('a Kueue LocalQueue name')
        .regex(DNS_LABEL, { error: 'is not a LocalQueue name\nhint: a lowercase DNS label of at most 63 characters, e.g. aviary-jobs' })
        .max(63, { error: 'is longer than 63 characters (it is a label value)' })
        .optional(),
    })
    .prefault({}),
  web: z
    .strictObject({
      serviceAccount: z
        .strictObject({
          name: str('a ServiceAccount name')
            .regex(DNS_SUBDOMAIN, { error: 'is not a ServiceAccount name\nhint: a lowercase DNS name, e.g. aviary-web' })
            .default('aviary-web'),
          annotations: annotations.default({}),
        })
        .prefault({}),
      shards: z
        .int({ error: 'expected a whole number' })
        .min(1, { error: 'must be at least 1' })
        .max(MAX_WEB_SHARDS, { error: `is more than ${MAX_WEB_SHARDS}\nhint: each shard is a volume source of every web pod` })
        .default(32),
    })
    .prefault({}),
  argocd: z
    .strictObject({
      repoURL: repoURL.default(PLACEHOLDER_REPO_URL),
      targetRevision: str('a branch, tag or commit')
        .min(1, { error: 'must not be empty' })
        .refine((r) => !WHITESPACE_OR_CONTROL.test(r), { error: 'holds a space, line break or control character\nhint: a branch, tag or commit is one word' })
        .default('main'),
      path: str('a folder in the manifests repo')
        .regex(REPO_FOLDER, { error: 'is not a folder inside the manifests repo\nhint: a relative path without "." or ".." segments, e.g. "." or clusters/prod' })
        .default('.'),
      namespace: label('a namespace').default('argocd'),
      shards: z
        .int({ error: 'expected a whole number' })
        .min(1, { error: 'must be at least 1' })
        .max(MAX_ARGOCD_SHARDS, { error: `is more than ${MAX_ARGOCD_SHARDS}\nhint: ${MAX_ARGOCD_SHARDS} Applications of ${MAX_SITES_PER_APPLICATION} sites hold ${MAX_ARGOCD_SHARDS * MAX_SITES_PER_APPLICATION} sites; beyond that, add a cluster` })
        .optional(),
      project: str('an Argo CD project')
        .regex(DNS_SUBDOMAIN, { error: 'is not an Argo CD project name\nhint: AppProject names are lowercase DNS names, e.g. aviary' })
        .refine((name) => name !== 'default', {
          error:
            "is Argo CD's own project, which may deploy anything anywhere, and Aviary generates the AppProject it names\nhint: remove the line (Aviary's least-privilege project is called aviary) or name a project of the fleet's own",
        })
        .default('aviary'),
    })
    .prefault({}),
}).superRefine((canary, ctx) => {
  // With a Gateway, TLS is the platform's: its listeners hold the certificates, and an HTTPRoute has none.
  if (canary.routing.kind !== 'gateway') return;
  for (const key of ['tlsClusterIssuer', 'previewIssuer'] as const) {
    if (canary.ingress[key] === undefined) continue;
    ctx.addIssue({
      code: 'custom',
      path: ['ingress', key],
      message: `is set, but with routing.kind gateway TLS is the Gateway's (its listeners hold the certificates)\nhint: remove ingress.${key}, and give the Gateway's HTTPS listener a certificate for the sites' hostnames`,
    });
  }
});

export type SitesFile = z.output<typeof sitesFileSchema>;
export type CanaryFile = z.output<typeof canaryFileSchema>;
