import type { SiteVerdict } from '../stages/verify.js';

/** One verdict per site, then its problems indented: what `aviary verify` and every `--verify` gate print. */
export function verdictsText(verdicts: readonly SiteVerdict[]): string {
  return verdicts.map(verdictLine).join('\n');
}

function verdictLine(v: SiteVerdict): string {
  const answers = v.colors ? v.colors.map((a) => `${a.color} ${a.status} in ${a.ms} ms`).join(', ') : v.status !== undefined ? `${v.status} in ${v.ms} ms` : '';
  const head = `${v.outcome === 'ok' ? 'ok  ' : 'FAIL'} ${v.id}  ${v.url}${answers ? `  ${answers}` : ''}${v.argocd ? `  (Application ${v.argocd.application}: ${v.argocd.sync}, ${v.argocd.health})` : ''}`;
  return [head, ...v.problems.map((p) => `       ${p}`)].join('\n');
}
