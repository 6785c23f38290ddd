import { z } from 'zod';
import { COLORS } from './types.js';

/**
 * The shape of `sites.yaml` and `canary.yaml`, field by field. Cross-field and
 * cross-file rules (duplicates, canonical host, …) live in `rules.ts`.
 *
 * A message may carry a hint after `\nhint: `; `validate.ts` splits it off.
 */

/** The longest id whose derived names all fit: the MySQL user `wp_<id>` must stay within MySQL's 32 characters. */
export const MAX_ID_LENGTH = 29;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;
const DIGEST = /^[0-9a-f]{64}$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*$/;
const CPU = /^([0-9]+m|[0-9]+(\.[0-9]+)?)$/;
const MEMORY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const DURATION = /^([0-9]+(s|m|h))+$/;

const str = (what: string) => z.string({ error: `expected ${what} (a string)` });

const id = str('a site id')
  .regex(DNS_LABEL, {
    error: 'is not a DNS-1123 label\nhint: use lowercase letters, digits and "-", starting and ending with a letter or digit',
  })
  .max(MAX_ID_LENGTH, {
    error: `is longer than ${MAX_ID_LENGTH} characters\nhint: the database user wp_<id> must fit MySQL's 32-character limit; shorten the id`,
  });

export const hostname = str('a hostname').regex(HOSTNAME, {
  error: 'is not a valid hostname\nhint: use a lowercase fully-qualified name such as shop.example.com (no scheme, port or path)',
});

const label = (what: string) =>
  str(what).regex(DNS_LABEL, { error: 'is not a DNS-1123 label\nhint: use lowercase letters, digits and "-"' }).max(63, { error: 'is longer than 63 characters' });

const color = z.enum(COLORS, { error: `is not a color\nhint: use one of ${COLORS.join(', ')}` });

export const imageTag = str('a sha256 digest').regex(DIGEST, {
  error: 'is not a sha256 digest\nhint: write the image digest as 64 lowercase hex characters (no "sha256:" prefix); mutable tags such as "latest" are not allowed',
});

const siteSchema = z.strictObject({
  id,
  name: str('the site title').min(1, { error: 'must not be empty' }),
  theme: str('a theme slug').regex(/^[a-z0-9][a-z0-9_-]*$/, {
    error: 'is not a theme slug\nhint: use the slug from wordpress.org, e.g. astra or twentytwentyfour',
  }),
  hostnames: z
    .array(hostname, { error: 'expected a list of hostnames' })
    .min(1, { error: 'must list at least one hostname' }),
  canonicalHostname: hostname.optional(),
  service: color,
  ingress: color.optional(),
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

export const canaryFileSchema = z.strictObject({
  repository: str('an image repository').regex(REPOSITORY, {
    error: 'is not an image repository\nhint: write it without tag or digest, e.g. 123456789012.dkr.ecr.us-west-2.amazonaws.com/wp-fleet',
  }),
  selector: color,
  services: z.strictObject(
    {
      blue: z.strictObject({ imageTag, replicas: z.int({ error: 'expected a whole number' }).min(0).default(1) }),
      green: z.strictObject({ imageTag, replicas: z.int({ error: 'expected a whole number' }).min(0).default(1) }),
    },
    { error: 'expected the two colors blue and green' },
  ),
  namespace: label('a namespace').default('wp-platform'),
  previewDomain: hostname.optional(),
  ingress: z
    .strictObject({
      className: label('an IngressClass name').default('nginx'),
      annotations: z.record(z.string(), z.string({ error: 'annotation values must be strings\nhint: quote numbers and booleans' })).default({}),
      tlsClusterIssuer: label('a ClusterIssuer name').optional(),
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
        .regex(/^[A-Za-z0-9/_+=.@-]+[^/]$/, { error: 'is not a Secrets Manager name prefix\nhint: e.g. aviary/sites (no trailing slash)' })
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
  argocd: z
    .strictObject({
      repoURL: str('a git URL').min(1).default('https://git.example.com/wp-fleet-manifests.git'),
      targetRevision: str('a branch, tag or commit').min(1).default('main'),
      path: str('a folder in the manifests repo')
        .regex(/^(\.|[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*)$/, { error: 'is not a relative folder\nhint: e.g. "." or clusters/prod' })
        .default('.'),
      namespace: label('a namespace').default('argocd'),
      project: str('an Argo CD project').min(1).default('default'),
    })
    .prefault({}),
});

export type SitesFile = z.output<typeof sitesFileSchema>;
export type CanaryFile = z.output<typeof canaryFileSchema>;
