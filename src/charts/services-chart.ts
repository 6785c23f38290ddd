import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { COLORS, imageOf, type Canary, type Color, type Site } from '../sites/types.js';
import { webShard } from '../sites/names.js';
import { contractPodSpec, HEALTH_PATH, shardsOf, WebShard } from './web-tier.js';
import { PART_OF } from './labels.js';
import { resourceRequirements } from './quantities.js';

export interface ServicesChartProps {
  /** Each color's image and replicas, the active canary, the namespace, the web tier's settings and the web containers' resources. */
  readonly canary: Canary;
  /** The sites the web tier serves: the host map and the site secrets are built from them. */
  readonly sites: readonly Site[];
}

/**
 * The shared runtime: per color a Deployment `<color>-deployment` and a
 * Service `<color>` selecting `app: <color>`, the `canary-env` ConfigMap
 * naming the active canary, the web pods' ServiceAccount, and the shards of
 * the host map and site secrets (web-tier.ts). One construct scope per color
 * and per shard, so a change to one color's image leaves the other color's
 * objects byte-identical, and a change to one site rewrites one shard.
 */
export class ServicesChart extends Chart {
  constructor(scope: Construct, id: string, props: ServicesChartProps) {
    const { canary, sites } = props;
    super(scope, id, { namespace: canary.settings.namespace, labels: PART_OF, disableResourceNameHashes: true });
    // The id names the color's file under `services/` (see renderShared).
    for (const color of COLORS) new ColorService(this, color, { color, canary });

    new kplus.ConfigMap(this, 'canary-env', {
      metadata: { name: 'canary-env' },
      data: { canaryEnv: JSON.stringify({ selector: canary.selector, image: imageOf(canary, canary.selector) }) },
    });

    const account = canary.settings.web.serviceAccount;
    new k8s.KubeServiceAccount(this, 'web-account', {
      metadata: { name: account.name, ...(Object.keys(account.annotations).length ? { annotations: { ...account.annotations } } : {}) },
      // IRSA and EKS Pod Identity inject their own token; the Kubernetes API token is not needed.
      automountServiceAccountToken: false,
    });
    const shards = canary.settings.web.shards;
    for (const [shard, members] of shardsOf(sites, shards)) new WebShard(this, shardFile(shard, shards), { shard, sites: members, canary });
  }
}

/** `shard-07`: the file `services/shard-07.yaml` holds that shard's host map and ExternalSecret. */
function shardFile(shard: number, shards: number): string {
  return `shard-${String(shard).padStart(String(shards - 1).length, '0')}`;
}

/** The file of the shard a site's host map entry and secrets are in (a one-site change rewrites it and its own file). */
export function shardFileOf(siteId: string, canary: Canary): string {
  const shards = canary.settings.web.shards;
  return `services/${shardFile(webShard(siteId, shards), shards)}.yaml`;
}

interface ColorServiceProps {
  /** Names the Deployment and the Service: site Ingresses route to the Service by this name. */
  readonly color: Color;
  /** The color's image and replicas, and the web containers' resources. */
  readonly canary: Canary;
}

class ColorService extends Construct {
  constructor(scope: Construct, id: string, props: ColorServiceProps) {
    super(scope, id);
    const { color, canary } = props;
    const labels = { app: color };

    const deployment = new kplus.Deployment(this, 'deployment', {
      metadata: { name: `${color}-deployment`, labels },
      replicas: canary.services[color].replicas,
      select: false,
      podMetadata: { labels },
      // Apache in the WordPress image starts as root to bind :80 and writes
      // /var/www/html: cdk8s-plus's non-root, read-only defaults would stop it.
      securityContext: { ensureNonRoot: false },
      automountServiceAccountToken: false,
      strategy: kplus.DeploymentStrategy.rollingUpdate({
        maxSurge: kplus.PercentOrAbsolute.absolute(1),
        maxUnavailable: kplus.PercentOrAbsolute.absolute(0),
      }),
      containers: [
        {
          name: 'wordpress',
          image: imageOf(canary, color),
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          // `ports`, not `portNumber`: the latter adds a startup probe that kills slow first boots.
          ports: [{ number: 80, name: 'http' }],
          readiness: kplus.Probe.fromHttpGet(HEALTH_PATH, { port: 80 }),
          securityContext: { ensureNonRoot: false, readOnlyRootFilesystem: false, allowPrivilegeEscalation: false },
          resources: {},
        },
      ],
    });
    deployment.select(kplus.LabelSelector.of({ labels }));
    const contract = contractPodSpec(color, canary);
    ApiObject.of(deployment).addJsonPatch(
      JsonPatch.add('/spec/template/spec/serviceAccountName', contract.serviceAccountName),
      JsonPatch.add('/spec/template/spec/volumes', contract.volumes),
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts', contract.volumeMounts),
      JsonPatch.add('/spec/template/spec/containers/0/env', contract.env),
      // www-data in the WordPress images: the secret files are group-readable by it only.
      JsonPatch.add('/spec/template/spec/securityContext/fsGroup', 33),
      // Quantities as written in canary.yaml, rather than cdk8s-plus's Cpu/Size objects.
      JsonPatch.add('/spec/template/spec/containers/0/resources', resourceRequirements(canary.settings.resources.web)),
      JsonPatch.add('/spec/revisionHistoryLimit', 5),
      // cdk8s-plus labels pods with its construct address even when we select by our own labels.
      JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'),
    );

    new kplus.Service(this, 'service', {
      metadata: { name: color, labels },
      selector: kplus.Pods.select(this, 'pods', { labels }),
      ports: [{ name: 'http', port: 80, targetPort: 80 }],
    });
  }
}
