import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { hostMapName, siteNames, siteSecretsName, webShard } from '../sites/names.js';
import type { Canary, Color, Site } from '../sites/types.js';

/**
 * The web image contract (docs/generated.md, "The web image contract"): what a pod of
 * a color finds for a request's Host. Every site's hostnames map to its id,
 * URL and S3 prefix (ConfigMaps `aviary-sites-NN`), and its database
 * credentials and keys and salts come from Secrets Manager as files
 * (ExternalSecrets `aviary-site-secrets-NN`), both split into shards by a
 * stable hash of the id so each object stays far below 1 MiB and a one-site
 * change rewrites one shard.
 */

/** Where the contract's files are mounted in a web pod. */
export const CONTRACT_PATHS = {
  sites: '/etc/aviary/sites',
  secrets: '/etc/aviary/secrets',
  canary: '/etc/aviary/canary',
} as const;

/** The file of a site's credentials (the `<prefix>/<id>/db` secret, verbatim) in the secrets folder. */
export const dbFile = (id: string) => `${id}.db`;
/** The file of a site's keys and salts (the `<prefix>/<id>/keys` secret, verbatim). */
export const keysFile = (id: string) => `${id}.keys`;

/** What a web pod learns about a site from the host map: the value under each of its hostnames. */
export interface HostEntry {
  readonly id: string;
  /** The URL WordPress is installed at: `<ingress.scheme>://<canonical hostname>`. */
  readonly url: string;
  /** The site's files in the fleet bucket. */
  readonly s3Prefix: string;
}

export function hostEntry(site: Site, canary: Canary): HostEntry {
  const names = siteNames(site.id, canary.settings);
  return { id: site.id, url: `${canary.settings.ingress.scheme}://${site.canonicalHostname}`, s3Prefix: names.s3Prefix };
}

export interface WebShardProps {
  readonly shard: number;
  /** The sites of this shard, in a stable order. */
  readonly sites: readonly Site[];
  readonly canary: Canary;
}

/** One shard: its part of the host map and the ExternalSecret that brings its sites' secrets. */
export class WebShard extends Construct {
  constructor(scope: Construct, id: string, props: WebShardProps) {
    super(scope, id);
    const { shard, sites, canary } = props;
    const { settings } = canary;
    const shards = settings.web.shards;
    const data: Record<string, string> = {};
    for (const site of sites) {
      const entry = hostEntry(site, canary);
      for (const host of site.hostnames) data[host] = JSON.stringify(entry);
      // The preview is served at its own URL: with the public URL its links, redirects and logins
      // would leave the preview (and the color it previews) for the public hostname.
      const preview = siteNames(site.id, settings).previewHostname;
      if (preview) data[preview] = JSON.stringify({ ...entry, url: `${settings.ingress.scheme}://${preview}` });
    }
    new k8s.KubeConfigMap(this, 'hosts', { metadata: { name: hostMapName(shard, shards) }, data });

    const name = siteSecretsName(shard, shards);
    new ApiObject(this, 'secrets', {
      apiVersion: settings.secrets.apiVersion,
      kind: 'ExternalSecret',
      metadata: { name },
      spec: {
        refreshInterval: settings.secrets.refreshInterval,
        secretStoreRef: { kind: settings.secrets.store.kind, name: settings.secrets.store.name },
        target: { name, creationPolicy: 'Owner' },
        // No `property`: each file is the whole secret, the JSON the hook wrote.
        data: sites.flatMap((site) => {
          const names = siteNames(site.id, settings);
          return [
            { secretKey: dbFile(site.id), remoteRef: { key: names.dbSecretId } },
            { secretKey: keysFile(site.id), remoteRef: { key: names.keysSecretId } },
          ];
        }),
      },
    });
  }
}

/** The sites of each shard that has any, by shard number; sites in id order so a shard's bytes do not depend on sites.yaml's order. */
export function shardsOf(sites: readonly Site[], shards: number): Map<number, Site[]> {
  const by = new Map<number, Site[]>();
  for (const site of [...sites].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const shard = webShard(site.id, shards);
    const members = by.get(shard);
    if (members) members.push(site);
    else by.set(shard, [site]);
  }
  return new Map([...by].sort(([a], [b]) => a - b));
}

/**
 * The pod-spec part of the contract for a color's Deployment: the ServiceAccount,
 * the volumes (every shard, optional, so a shard that has no sites yet or
 * whose Secret External Secrets has not made yet does not stop a pod), and
 * the environment naming the folders.
 */
export function contractPodSpec(color: Color, canary: Canary) {
  const shards = canary.settings.web.shards;
  const all = Array.from({ length: shards }, (_, i) => i);
  return {
    serviceAccountName: canary.settings.web.serviceAccount.name,
    volumes: [
      { name: 'aviary-sites', projected: { sources: all.map((i) => ({ configMap: { name: hostMapName(i, shards), optional: true } })) } },
      // 0440 with fsGroup www-data: readable by the web server's workers, by no one else.
      { name: 'aviary-secrets', projected: { defaultMode: 0o440, sources: all.map((i) => ({ secret: { name: siteSecretsName(i, shards), optional: true } })) } },
      { name: 'aviary-canary', configMap: { name: 'canary-env' } },
    ],
    volumeMounts: [
      { name: 'aviary-sites', mountPath: CONTRACT_PATHS.sites, readOnly: true },
      { name: 'aviary-secrets', mountPath: CONTRACT_PATHS.secrets, readOnly: true },
      { name: 'aviary-canary', mountPath: CONTRACT_PATHS.canary, readOnly: true },
    ],
    env: [
      { name: 'AVIARY_COLOR', value: color },
      { name: 'AVIARY_SITES_DIR', value: CONTRACT_PATHS.sites },
      { name: 'AVIARY_SECRETS_DIR', value: CONTRACT_PATHS.secrets },
      { name: 'AVIARY_CANARY_FILE', value: `${CONTRACT_PATHS.canary}/canaryEnv` },
    ],
  };
}

/** The path of the health endpoint the contract's image serves, for any Host. */
export const HEALTH_PATH = '/aviary-health';

/**
 * The part of the contract a site's WP-CLI Job needs, and no more: its
 * canonical host's entry and its own two secret files, from its shard, at
 * the same paths as in the web pods, so the image's wp-config.php finds
 * them for `--url`. Items name the exact keys: the pod waits (the kubelet
 * retries the mount) until External Secrets has written them.
 */
export function siteJobContract(site: Site, canary: Canary) {
  const shards = canary.settings.web.shards;
  const shard = webShard(site.id, shards);
  return {
    volumes: [
      { name: 'aviary-sites', configMap: { name: hostMapName(shard, shards), items: [{ key: site.canonicalHostname, path: site.canonicalHostname }] } },
      {
        name: 'aviary-secrets',
        secret: {
          secretName: siteSecretsName(shard, shards),
          defaultMode: 0o440,
          items: [dbFile(site.id), keysFile(site.id)].map((key) => ({ key, path: key })),
        },
      },
    ],
    volumeMounts: [
      { name: 'aviary-sites', mountPath: CONTRACT_PATHS.sites, readOnly: true },
      { name: 'aviary-secrets', mountPath: CONTRACT_PATHS.secrets, readOnly: true },
    ],
    env: [
      { name: 'AVIARY_COLOR', value: site.service },
      { name: 'AVIARY_SITES_DIR', value: CONTRACT_PATHS.sites },
      { name: 'AVIARY_SECRETS_DIR', value: CONTRACT_PATHS.secrets },
    ],
  };
}
