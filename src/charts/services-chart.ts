import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { COLORS, imageOf, type Canary, type Color, type Site } from '../sites/types.js';
import { PREVIEW_TLS_SECRET, shardSuffix } from '../sites/names.js';
import { previewIssuerOf } from './site-chart.js';
import { contractPodSpec, HEALTH_PATH, shardsOf, WebShard } from './web-tier.js';
import { PART_OF, SYNC_WAVE } from './labels.js';
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
    const issuer = previewIssuerOf(canary);
    if (issuer) {
      new ApiObject(this, 'preview-certificate', {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: { name: 'aviary-preview' },
        spec: {
          secretName: PREVIEW_TLS_SECRET,
          dnsNames: [`*.${canary.settings.previewDomain}`],
          issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: issuer },
        },
      });
    }
    const shards = canary.settings.web.shards;
    for (const [shard, members] of shardsOf(sites, shards)) new WebShard(this, shardFile(shard, shards), { shard, sites: members, canary });
  }
}

/** `shard-07`: the file `services/shard-07.yaml` holds that shard's host map and ExternalSecret. */
function shardFile(shard: number, shards: number): string {
  return `shard-${shardSuffix(shard, shards)}`;
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
    const { replicas, autoscale } = canary.services[color];
    // The Deployment's selector is immutable, so it keeps the seed's `app: <color>`; the pods also carry
    // Aviary's own label, and the Service, the budget and the autoscaler select on both, so no foreign
    // pod that happens to be labelled `app: blue` receives a site's traffic.
    const labels = { app: color };
    const podLabels = { ...labels, 'aviary.io/color': color };

    const deployment = new kplus.Deployment(this, 'deployment', {
      metadata: { name: `${color}-deployment`, labels },
      replicas: canary.services[color].replicas,
      select: false,
      podMetadata: { labels: podLabels },
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
      // One pod per node and zone where it can be, so a node or zone going away takes a share of a color, not all of it.
      JsonPatch.add('/spec/template/spec/topologySpreadConstraints', ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map((topologyKey) => ({
        maxSkew: 1,
        topologyKey,
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: podLabels },
      }))),
      // Endpoints are removed while the pod still answers: requests in flight when it is told to stop are not cut.
      JsonPatch.add('/spec/template/spec/containers/0/lifecycle', { preStop: { exec: { command: ['sleep', '10'] } } }),
      // Quantities as written in canary.yaml, rather than cdk8s-plus's Cpu/Size objects.
      JsonPatch.add('/spec/template/spec/containers/0/resources', resourceRequirements(canary.settings.resources.web)),
      JsonPatch.add('/spec/revisionHistoryLimit', 5),
      // cdk8s-plus labels pods with its construct address even when we select by our own labels.
      JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'),
      // With an autoscaler the replicas are its to set; Argo CD would otherwise reset them on every sync.
      ...(autoscale ? [JsonPatch.remove('/spec/replicas')] : []),
    );

    new k8s.KubePodDisruptionBudget(this, 'budget', {
      metadata: { name: color, labels },
      // One pod at a time for voluntary disruptions (node drains); a minimum of 1 would block drains of a 1-replica color.
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: podLabels } },
    });
    if (autoscale) {
      new k8s.KubeHorizontalPodAutoscalerV2(this, 'autoscaler', {
        metadata: { name: color, labels },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `${color}-deployment` },
          minReplicas: Math.max(1, replicas),
          maxReplicas: autoscale.maxReplicas,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: autoscale.targetCPUUtilization } } }],
        },
      });
    }

    new kplus.Service(this, 'service', {
      // A later wave than the Deployment: when the selector first gains aviary.io/color, Argo CD
      // changes it only once the rollout that labels the pods is done, so the Service never has no endpoints.
      metadata: { name: color, labels, annotations: { [SYNC_WAVE]: '1' } },
      selector: kplus.Pods.select(this, 'pods', { labels: podLabels }),
      ports: [{ name: 'http', port: 80, targetPort: 80 }],
    });
  }
}
