// The services chart, read back from the synthesized YAML: per color a
// Deployment and a Service, and the canary-env ConfigMap.
import { describe, expect, it } from 'vitest';
import { renderShared } from '../../src/charts/render.js';
import type { Fleet } from '../../src/sites/types.js';
import { buildFleet, canaryDoc, digest, DIGEST_BLUE, DIGEST_GREEN, exampleFleet, fullFleet, REPOSITORY, siteEntry, type ColorName } from '../support/fixtures.js';
import { changedPaths, distOf, only, parseManifests, type K8sObject } from '../support/manifests.js';

const COLORS: readonly ColorName[] = ['blue', 'green'];
const PART_OF = { 'app.kubernetes.io/part-of': 'aviary', 'app.kubernetes.io/managed-by': 'aviary' };

function sharedFile(fleet: Fleet, path: string): string {
  return only(renderShared(fleet).filter((f) => f.path === path), path).content;
}

function colorObjects(fleet: Fleet, color: ColorName): { deployment: K8sObject; service: K8sObject; budget: K8sObject; autoscaler?: K8sObject } {
  const objects = parseManifests(sharedFile(fleet, `services/${color}.yaml`));
  const autoscaled = fleet.canary.services[color].autoscale !== undefined;
  expect(objects.map((o) => o.kind)).toEqual(['Deployment', 'PodDisruptionBudget', ...(autoscaled ? ['HorizontalPodAutoscaler'] : []), 'Service']);
  return { deployment: objects[0], budget: objects[1], ...(autoscaled ? { autoscaler: objects[2] } : {}), service: objects.at(-1)! };
}

function canaryEnv(fleet: Fleet): K8sObject {
  return only(parseManifests(sharedFile(fleet, 'services/canary-env.yaml')), 'ConfigMap');
}

const wordpress = (deployment: K8sObject): K8sObject => only(deployment.spec.template.spec.containers, 'container');

describe('services chart: capacity', () => {
  it.each(COLORS)('%s: a disruption budget of one pod at a time, pods spread over nodes and zones, a drain before stop', (color) => {
    const { deployment, budget } = colorObjects(exampleFleet(), color);
    const labels = { app: color, 'aviary.io/color': color };
    expect(budget.apiVersion).toBe('policy/v1');
    expect(budget.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: labels } });
    const pod = deployment.spec.template.spec;
    expect(pod.topologySpreadConstraints.map((c: K8sObject) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of pod.topologySpreadConstraints) expect(c).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: labels } });
    expect(wordpress(deployment).lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '10'] } } });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(10);
  });

  it('refuses an autoscaler whose maximum is below replicas', () => {
    expect(() =>
      buildFleet([siteEntry('a')], canaryDoc({ services: { blue: { imageTag: DIGEST_BLUE, replicas: 4, autoscale: { maxReplicas: 2 } }, green: { imageTag: DIGEST_GREEN } } })),
    ).toThrow(/autoscale.maxReplicas is below replicas/);
  });
});

describe('services chart: Deployments', () => {
  it.each(COLORS)('%s-deployment: names, labels, selector and replicas of the seed', (color) => {
    const { deployment } = colorObjects(exampleFleet(), color);
    expect(deployment.apiVersion).toBe('apps/v1');
    expect(deployment.metadata.name).toBe(`${color}-deployment`);
    expect(deployment.metadata.namespace).toBe('wp-platform');
    expect(deployment.metadata.labels).toEqual({ app: color, ...PART_OF });
    expect(deployment.spec.selector).toEqual({ matchLabels: { app: color } });
    // Exactly the selector's labels: no cdk8s.io/metadata.addr, which would change with the construct tree.
    // The seed's app: <color> (the selector is immutable) and Aviary's own, which foreign pods do not carry.
    expect(deployment.spec.template.metadata.labels).toEqual({ app: color, 'aviary.io/color': color });
    expect(deployment.spec.replicas).toBe(color === 'blue' ? 2 : 1);
  });

  it('runs each color on its own image, pinned by digest', () => {
    const fleet = exampleFleet();
    for (const color of COLORS) {
      const container = wordpress(colorObjects(fleet, color).deployment);
      expect(container.name).toBe('wordpress');
      expect(container.image).toBe(`${REPOSITORY}@sha256:${fleet.canary.services[color].imageTag}`);
      expect(container.image).toMatch(/@sha256:[0-9a-f]{64}$/);
    }
    expect(wordpress(colorObjects(fleet, 'blue').deployment).image).not.toBe(wordpress(colorObjects(fleet, 'green').deployment).image);
  });

  it('serves http on port 80, ready when the contract\'s health endpoint answers, with no startup probe', () => {
    const container = wordpress(colorObjects(exampleFleet(), 'green').deployment);
    expect(container.ports).toEqual([{ containerPort: 80, name: 'http' }]);
    expect(container).not.toHaveProperty('startupProbe');
    // Not a TCP check: that passes while every site answers 500.
    expect(container.readinessProbe.httpGet).toEqual({ path: '/aviary-health', port: 80, scheme: 'HTTP' });
  });

  it('lets the WordPress image start as root (Apache binds :80, then drops to www-data) with a writable root fs', () => {
    for (const color of COLORS) {
      const { deployment } = colorObjects(exampleFleet(), color);
      const pod = deployment.spec.template.spec;
      const container = wordpress(deployment);
      for (const ctx of [pod.securityContext ?? {}, container.securityContext ?? {}]) {
        expect(ctx.runAsNonRoot ?? false).toBe(false);
        expect(ctx.runAsUser ?? 0).toBe(0);
      }
      expect(container.securityContext.readOnlyRootFilesystem).toBe(false);
      expect(container.securityContext.privileged ?? false).toBe(false);
      expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
      // Dropping every capability would stop Apache binding :80 and switching user.
      expect(container.securityContext.capabilities?.drop ?? []).not.toContain('ALL');
      expect(pod.automountServiceAccountToken).toBe(false);
    }
  });

  it('sets the resources of resources.web explicitly (defaults, then every setting)', () => {
    expect(wordpress(colorObjects(exampleFleet(), 'blue').deployment).resources).toEqual({
      requests: { cpu: '250m', memory: '256Mi' },
      limits: { memory: '512Mi' },
    });
    for (const color of COLORS) {
      expect(wordpress(colorObjects(fullFleet(), color).deployment).resources).toEqual({
        requests: { cpu: '500m', memory: '1Gi' },
        limits: { cpu: '2', memory: '2Gi' },
      });
    }
  });

  it('rolls out one new pod at a time without taking an old one down first', () => {
    expect(colorObjects(exampleFleet(), 'blue').deployment.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
  });

  it('takes replicas, namespace and images from a fully configured canary.yaml', () => {
    const fleet = fullFleet();
    const blue = colorObjects(fleet, 'blue').deployment;
    const green = colorObjects(fleet, 'green').deployment;
    // blue is autoscaled: its replicas are the autoscaler's to set, from its minimum.
    expect([blue.spec.replicas, green.spec.replicas]).toEqual([undefined, 1]);
    expect(colorObjects(fleet, 'blue').autoscaler!.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'blue-deployment' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }],
    });
    expect([blue.metadata.namespace, green.metadata.namespace]).toEqual(['wp-prod', 'wp-prod']);
    expect(wordpress(blue).image).toBe(`${REPOSITORY}@sha256:${DIGEST_BLUE}`);
    expect(wordpress(green).image).toBe(`${REPOSITORY}@sha256:${DIGEST_GREEN}`);
  });

  it('scales a color to zero when asked', () => {
    const fleet = buildFleet([siteEntry('a')], canaryDoc({ services: { blue: { imageTag: DIGEST_BLUE, replicas: 3 }, green: { imageTag: DIGEST_GREEN, replicas: 0 } } }));
    expect(colorObjects(fleet, 'blue').deployment.spec.replicas).toBe(3);
    expect(colorObjects(fleet, 'green').deployment.spec.replicas).toBe(0);
  });

  it('carries no cdk8s construct address anywhere', () => {
    for (const file of renderShared(exampleFleet())) expect(file.content).not.toContain('cdk8s.io/metadata.addr');
  });
});

describe('services chart: Services', () => {
  it.each(COLORS)('Service %s selects app: <color> and aviary.io/color on port 80 named http, after the rollout', (color) => {
    const { deployment, service } = colorObjects(exampleFleet(), color);
    expect(service.apiVersion).toBe('v1');
    expect(service.metadata.name).toBe(color);
    expect(service.metadata.namespace).toBe('wp-platform');
    expect(service.metadata.labels).toEqual({ app: color, ...PART_OF });
    expect(service.spec.selector).toEqual({ app: color, 'aviary.io/color': color });
    // A later sync wave than the Deployment: the new selector applies once the pods carry the new label.
    expect(service.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '1' });
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 80 }]);
    expect(service.spec.type).toBe('ClusterIP');
    // It selects its own color's pods and not the other color's.
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    const other = colorObjects(exampleFleet(), color === 'blue' ? 'green' : 'blue').deployment;
    expect(other.spec.template.metadata.labels).not.toMatchObject(service.spec.selector);
  });

  it("the port name the site Ingresses use exists on the Service and on the container", () => {
    const { deployment, service } = colorObjects(exampleFleet(), 'blue');
    expect(service.spec.ports.map((p: K8sObject) => p.name)).toContain('http');
    expect(wordpress(deployment).ports.map((p: K8sObject) => p.name)).toContain('http');
  });
});

describe('services chart: canary-env ConfigMap', () => {
  it('names the active canary and its image in canaryEnv (example fleet: green)', () => {
    const fleet = exampleFleet();
    const cm = canaryEnv(fleet);
    expect(cm.apiVersion).toBe('v1');
    expect(cm.metadata).toMatchObject({ name: 'canary-env', namespace: 'wp-platform', labels: PART_OF });
    expect(Object.keys(cm.data)).toEqual(['canaryEnv']);
    expect(JSON.parse(cm.data.canaryEnv)).toEqual({
      selector: 'green',
      image: `${REPOSITORY}@sha256:${fleet.canary.services.green.imageTag}`,
    });
    expect(Object.keys(JSON.parse(cm.data.canaryEnv))).toEqual(['selector', 'image']);
  });

  it('follows the selector', () => {
    const fleet = buildFleet([siteEntry('a')], canaryDoc({ selector: 'blue' }));
    expect(JSON.parse(canaryEnv(fleet).data.canaryEnv)).toEqual({ selector: 'blue', image: `${REPOSITORY}@sha256:${DIGEST_BLUE}` });
  });
});

describe('services chart: locality', () => {
  const sites = [
    siteEntry('on-blue', { service: 'blue' }),
    siteEntry('on-green', { service: 'green' }),
    siteEntry('upgraded', { service: 'green', ingress: 'blue' }),
    siteEntry('staying', { service: 'blue', ingress: 'green' }),
  ];
  const withGreen = (selector: ColorName, greenDigest: string) =>
    buildFleet(sites, canaryDoc({ selector, services: { blue: { imageTag: DIGEST_BLUE, replicas: 2 }, green: { imageTag: greenDigest, replicas: 1 } } }));

  it('a new green image, green active: services/green.yaml, canary-env and the files of the sites on green', () => {
    const changed = changedPaths(distOf(withGreen('green', DIGEST_GREEN)), distOf(withGreen('green', digest('green image 2'))));
    expect(changed).toEqual(['services/canary-env.yaml', 'services/green.yaml', 'sites/on-green/on-green.yaml', 'sites/upgraded/upgraded.yaml']);
  });

  it('a new green image, blue active: canary-env stays as it is', () => {
    const changed = changedPaths(distOf(withGreen('blue', DIGEST_GREEN)), distOf(withGreen('blue', digest('green image 2'))));
    expect(changed).toEqual(['services/green.yaml', 'sites/on-green/on-green.yaml', 'sites/upgraded/upgraded.yaml']);
  });

  it('in services/green.yaml only the Deployment image changes', () => {
    const before = colorObjects(withGreen('green', DIGEST_GREEN), 'green');
    const after = colorObjects(withGreen('green', digest('green image 2')), 'green');
    expect(after.service).toEqual(before.service);
    const { image: _before, ...restBefore } = wordpress(before.deployment);
    const { image: _after, ...restAfter } = wordpress(after.deployment);
    expect(restAfter).toEqual(restBefore);
    expect(_after).toBe(`${REPOSITORY}@sha256:${digest('green image 2')}`);
  });

  it('switching the selector changes canary-env only', () => {
    const changed = changedPaths(distOf(withGreen('green', DIGEST_GREEN)), distOf(withGreen('blue', DIGEST_GREEN)));
    expect(changed).toEqual(['services/canary-env.yaml']);
  });

  it("one color's replicas change that color's file only", () => {
    const more = buildFleet(sites, canaryDoc({ services: { blue: { imageTag: DIGEST_BLUE, replicas: 4 }, green: { imageTag: DIGEST_GREEN, replicas: 1 } } }));
    expect(changedPaths(distOf(withGreen('green', DIGEST_GREEN)), distOf(more))).toEqual(['services/blue.yaml']);
  });
});

describe('services chart: preview certificate', () => {
  const certificate = (fleet: Fleet) => renderShared(fleet).find((f) => f.path === 'services/preview-certificate.yaml');

  it('issues one wildcard certificate for every preview hostname, by previewIssuer (default: tlsClusterIssuer)', () => {
    const [cert] = parseManifests(certificate(exampleFleet())!.content);
    expect(cert).toMatchObject({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'aviary-preview', namespace: 'wp-platform' },
      spec: { secretName: 'aviary-preview-tls', dnsNames: ['*.preview.cloud2-stg.example.com'], issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'letsencrypt' } },
    });
    const dns01 = buildFleet([siteEntry('a')], canaryDoc({ previewDomain: 'pre.example.com', ingress: { tlsClusterIssuer: 'http01', previewIssuer: 'dns01' } }));
    expect(parseManifests(certificate(dns01)!.content)[0]!.spec.issuerRef.name).toBe('dns01');
  });

  it('is not made without a preview domain or an issuer', () => {
    expect(certificate(buildFleet([siteEntry('a')], canaryDoc({ ingress: { tlsClusterIssuer: 'letsencrypt' } })))).toBeUndefined();
    expect(certificate(buildFleet([siteEntry('a')], canaryDoc({ previewDomain: 'pre.example.com' })))).toBeUndefined();
  });
});
