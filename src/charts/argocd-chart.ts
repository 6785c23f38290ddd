import { ApiObject, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { Canary } from '../sites/types.js';
import { siteApplication } from '../sites/names.js';
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

export interface ArgoCdChartProps {
  /**
   * Only its settings are read (`argocd` and the fleet `namespace`), so a new
   * image or a promotion leaves this chart as it was.
   */
  readonly canary: Canary;
}

/**
 * The Argo CD bootstrap: an Application for the services, and an
 * ApplicationSet that makes one Application per folder under `sites/`.
 * Adding or removing a site adds or removes a folder and nothing here, so
 * this chart changes only with the fleet settings.
 */
export class ArgoCdChart extends Chart {
  constructor(scope: Construct, id: string, props: ArgoCdChartProps) {
    const { argocd, namespace } = props.canary.settings;
    super(scope, id, { namespace: argocd.namespace, labels: PART_OF, disableResourceNameHashes: true });
    const under = (dir: string) => (argocd.path === '.' ? dir : `${argocd.path}/${dir}`);
    const destination = { server: 'https://kubernetes.default.svc', namespace };
    const syncPolicy = { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] };
    // Deleting an Application deletes what it deployed; a removed site's manifests go with it.
    const finalizers = ['resources-finalizer.argocd.argoproj.io'];

    new ApiObject(this, 'services', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'aviary-services', finalizers },
      spec: {
        project: argocd.project,
        source: { repoURL: argocd.repoURL, targetRevision: argocd.targetRevision, path: under('services') },
        destination,
        syncPolicy,
      },
    });

    new ApiObject(this, 'sites', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'ApplicationSet',
      metadata: { name: 'aviary-sites' },
      spec: {
        generators: [{ git: { repoURL: argocd.repoURL, revision: argocd.targetRevision, directories: [{ path: under('sites/*') }] } }],
        template: {
          metadata: { name: siteApplication('{{path.basename}}'), labels: { ...PART_OF, 'aviary.io/site': '{{path.basename}}' }, finalizers },
          spec: {
            project: argocd.project,
            source: { repoURL: argocd.repoURL, targetRevision: argocd.targetRevision, path: '{{path}}' },
            destination,
            // A Job is its name (charts/site-chart.ts): what else its spec holds is what it was created with.
            ignoreDifferences: JOB_FIXED_AT_CREATION,
            syncPolicy: { ...syncPolicy, syncOptions: [...syncPolicy.syncOptions, 'RespectIgnoreDifferences=true'] },
          },
        },
      },
    });
  }
}
