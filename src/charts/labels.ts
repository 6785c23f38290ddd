/** Labels and annotations shared by the charts. */

/** Argo CD applies lower waves first and waits for them to be healthy: the admin secret, then install, theme, flush, then the route. */
export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';

export const PART_OF = { 'app.kubernetes.io/part-of': 'aviary', 'app.kubernetes.io/managed-by': 'aviary' } as const;

export function siteLabels(id: string): Record<string, string> {
  return { ...PART_OF, 'aviary.io/site': id };
}
