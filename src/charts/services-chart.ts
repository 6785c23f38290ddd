import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { COLORS, imageOf, type Canary, type Color } from '../sites/types.js';
import { PART_OF } from './labels.js';
import { resourceRequirements } from './quantities.js';

/**
 * The shared runtime: per color a Deployment `<color>-deployment` and a
 * Service `<color>` selecting `app: <color>`, and the `canary-env` ConfigMap
 * naming the active canary. One construct scope per color, so a change to one
 * color's image leaves the other color's objects byte-identical.
 */
export class ServicesChart extends Chart {
  constructor(scope: Construct, id: string, canary: Canary) {
    super(scope, id, { namespace: canary.settings.namespace, labels: PART_OF, disableResourceNameHashes: true });
    for (const color of COLORS) new ColorService(this, color, canary);

    new kplus.ConfigMap(this, 'canary-env', {
      metadata: { name: 'canary-env' },
      data: { canaryEnv: JSON.stringify({ selector: canary.selector, image: imageOf(canary, canary.selector) }) },
    });
  }
}

class ColorService extends Construct {
  constructor(scope: Construct, color: Color, canary: Canary) {
    super(scope, color);
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
          readiness: kplus.Probe.fromTcpSocket({ port: 80 }),
          securityContext: { ensureNonRoot: false, readOnlyRootFilesystem: false, allowPrivilegeEscalation: false },
          resources: {},
        },
      ],
    });
    deployment.select(kplus.LabelSelector.of({ labels }));
    ApiObject.of(deployment).addJsonPatch(
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
