/** Labels and annotations shared by the charts. */

/** Argo CD applies lower waves first and waits for them to be healthy: a site's admin secret, its Jobs in order, then its routes. */
export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';

export const PART_OF = { 'app.kubernetes.io/part-of': 'aviary', 'app.kubernetes.io/managed-by': 'aviary' } as const;

export function siteLabels(id: string): Record<string, string> {
  return { ...PART_OF, 'aviary.io/site': id };
}

/** The label that puts a Job under a Kueue LocalQueue (Kueue v0.15+ reads only the label). */
export const KUEUE_QUEUE = 'kueue.x-k8s.io/queue-name';
