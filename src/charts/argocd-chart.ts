import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { clustersOf, type Canary } from '../sites/types.js';
import { clusterFolder, layoutOf, servicesApplication, shardApplication, siteApplication } from '../sites/names.js';
import { KUEUE_QUEUE, PART_OF } from './labels.js';

/**
 * What Argo CD leaves as it is on a site's existing Jobs: the pod template,
 * immutable in Kubernetes (so a new image or a new Aviary neither fails the
 * sync nor reruns an install), and the Kueue queue, immutable once Kueue
 * admitted the Job. RespectIgnoreDifferences applies this to the sync, not
 * only the diff; a Job created afresh gets everything as generated.
 */
export const JOB_FIXED_AT_CREATION = [
  { group: 'batch', kind: 'Job', jsonPointers: ['/spec/template', `/metadata/labels/${KUEUE_QUEUE.replace('/', '~1')}`] },
];

/**
 * Every kind Aviary generates in the fleet namespace: the AppProject allows
 * these and nothing else (test/charts/argocd-chart.test.ts checks the list
 * against every object of a fleet that uses every setting).
 */
export const FLEET_KINDS: ReadonlyArray<{ readonly group: string; readonly kind: string }> = [
  { group: '', kind: 'ConfigMap' },
  { group: '', kind: 'Service' },
  { group: '', kind: 'ServiceAccount' },
  { group: 'apps', kind: 'Deployment' },
  { group: 'autoscaling', kind: 'HorizontalPodAutoscaler' },
  { group: 'batch', kind: 'Job' },
  { group: 'cert-manager.io', kind: 'Certificate' },
  { group: 'external-secrets.io', kind: 'ExternalSecret' },
  { group: 'policy', kind: 'PodDisruptionBudget' },
];

/** The kind that routes the sites' hostnames, by routing.kind: only that one is allowed. */
const ROUTING_KINDS = {
  ingress: { group: 'networking.k8s.io', kind: 'Ingress' },
  gateway: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' },
} as const;

/** Every kind a fleet with these settings may deploy. */
export function fleetKinds(settings: Canary['settings']): ReadonlyArray<{ readonly group: string; readonly kind: string }> {
  return [...FLEET_KINDS, ROUTING_KINDS[settings.routing.kind]].sort((a, b) => a.group.localeCompare(b.group) || a.kind.localeCompare(b.kind));
}

/** On an Application: deleting it deletes what it deployed. On an ApplicationSet: its controller orphans the Applications first (see below). */
const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

export interface ArgoCdChartProps {
  /**
   * Only its settings are read (`argocd` and the fleet `namespace`), so a new
   * image or a promotion leaves this chart as it was.
   */
  readonly canary: Canary;
}

/**
 * The Argo CD bootstrap: the fleet's AppProject, an Application for the
 * services, and an ApplicationSet that makes one Application per folder
 * under `sites/`: a site's own, or a shard's of sites (`argocd.shards`).
 * Adding or removing a site changes folders and nothing here, so this chart
 * changes only with the fleet settings.
 *
 * Nothing here cascades. Deleting the services Application leaves the web
 * tier running; deleting or renaming the ApplicationSet leaves every site
 * running: it never deletes an Application (`applicationsSync:
 * create-update`), and its own finalizer lets its controller remove the
 * owner references first, so Kubernetes' garbage collector does not delete
 * the Applications either. A removed site's Application is deleted by the
 * pipeline, explicitly and with its objects (stages/teardowns.ts).
 */
export class ArgoCdChart extends Chart {
  constructor(scope: Construct, id: string, props: ArgoCdChartProps) {
    const { canary } = props;
    const { argocd, namespace } = canary.settings;
    super(scope, id, { namespace: argocd.namespace, labels: PART_OF, disableResourceNameHashes: true });
    const layout = layoutOf(canary.settings);
    const clusters = clustersOf(canary);
    const under = (dir: string) => (argocd.path === '.' ? dir : `${argocd.path}/${dir}`);
    const syncPolicy = {
      automated: { prune: true, selfHeal: true },
      // ApplyOutOfSyncOnly: a sync applies the objects that changed, not every object of the Application.
      syncOptions: ['CreateNamespace=true', 'ApplyOutOfSyncOnly=true'],
      // A failed sync (a webhook or a CRD briefly unavailable) is tried again; automated sync alone never retries a revision.
      retry: { limit: 5, backoff: { duration: '30s', factor: 2, maxDuration: '10m' } },
    };
    // Only a commit that touches the Application's own folder refreshes its manifests (a monorepo of thousands of folders).
    const annotations = { 'argocd.argoproj.io/manifest-generate-paths': '.' };

    new ApiObject(this, 'project', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: argocd.project },
      spec: {
        sourceRepos: [argocd.repoURL],
        destinations: clusters.map((cluster) => ({ server: cluster.server, namespace })),
        // CreateNamespace=true creates the fleet namespace, a cluster-scoped object; no other is allowed.
        clusterResourceWhitelist: [{ group: '', kind: 'Namespace' }],
        namespaceResourceWhitelist: fleetKinds(canary.settings),
      },
    });

    // Each cluster's blue and green services, one Application each.
    const services = new Construct(this, 'services');
    for (const cluster of clusters) {
      new ApiObject(services, cluster.name, {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: servicesApplication(cluster.name, layout), annotations },
        spec: {
          project: argocd.project,
          source: { repoURL: argocd.repoURL, targetRevision: argocd.targetRevision, path: under(`${clusterFolder(cluster.name, layout)}services`) },
          destination: { server: cluster.server, namespace },
          syncPolicy,
        },
      });
    }

    // Without clusters, one git directory generator; with them, each cluster's folders × its server.
    const folders = (path: string) => ({ git: { repoURL: argocd.repoURL, revision: argocd.targetRevision, directories: [{ path: under(path) }] } });
    const generators = layout.clustered
      ? [{ matrix: { generators: [{ list: { elements: clusters.map((c) => ({ cluster: c.name, server: c.server })) } }, folders('clusters/{{cluster}}/sites/*')] } }]
      : [folders('sites/*')];
    const server = layout.clustered ? '{{server}}' : clusters[0]!.server;
    new ApiObject(this, 'sites', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'ApplicationSet',
      metadata: { name: 'aviary-sites', finalizers: [RESOURCES_FINALIZER] },
      spec: {
        syncPolicy: { applicationsSync: 'create-update', preserveResourcesOnDeletion: true },
        generators,
        template: {
          // One Application per site folder, or per shard folder of sites (argocd.shards).
          metadata: argocd.shards
            ? {
                name: shardApplication('{{path.basename}}', layout.clustered ? '{{cluster}}' : undefined),
                labels: { ...PART_OF, 'aviary.io/shard': '{{path.basename}}', ...(layout.clustered ? { 'aviary.io/cluster': '{{cluster}}' } : {}) },
                annotations,
              }
            : {
                name: siteApplication('{{path.basename}}'),
                labels: { ...PART_OF, 'aviary.io/site': '{{path.basename}}', ...(layout.clustered ? { 'aviary.io/cluster': '{{cluster}}' } : {}) },
                annotations,
              },
          spec: {
            project: argocd.project,
            source: { repoURL: argocd.repoURL, targetRevision: argocd.targetRevision, path: '{{path}}' },
            destination: { server, namespace },
            // A Job is its name (charts/site-chart.ts): what else its spec holds is what it was created with.
            ignoreDifferences: JOB_FIXED_AT_CREATION,
            syncPolicy: { ...syncPolicy, syncOptions: [...syncPolicy.syncOptions, 'RespectIgnoreDifferences=true'] },
          },
        },
      },
    });
  }
}
