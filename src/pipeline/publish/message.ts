import { formatPlan, isEmptyPlan, planHeadline, type Plan, type SitePlan } from './plan.js';

/** The trailer that leads from a manifests commit back to the input commit it was made from. */
export const SOURCE_TRAILER = 'Aviary-Source';
/**
 * The folder of the manifests repo the deploy wrote (`--path`), so that two
 * fleets publishing under two paths of one repo each find their own last deploy.
 */
export const PATH_TRAILER = 'Aviary-Path';

const SUBJECT_MAX = 72;
const BODY_MAX_LINES = 200;

/** A subject, a plan as body, and the trailers (the input commit and the path, when the deploy has a source). */
export function commitMessage(plan: Plan, source?: string, path = '.'): string {
  let body = formatPlan(plan, 'text').split('\n').slice(2);
  if (body.length > BODY_MAX_LINES) body = [...body.slice(0, BODY_MAX_LINES), `… and ${body.length - BODY_MAX_LINES} more lines (run aviary plan for all of it)`];
  const trailers = source ? [`${SOURCE_TRAILER}: ${source}`, `${PATH_TRAILER}: ${path}`] : [];
  return [changeSubject(plan), '', planHeadline(plan), ...(body.length ? ['', ...body] : []), ...(trailers.length ? ['', ...trailers] : [])].join('\n') + '\n';
}

/** The change in a few words: sites added/removed/moved, images, canary; counts when names do not fit. */
export function changeSubject(plan: Plan): string {
  if (isEmptyPlan(plan)) return 'Aviary: no changes';
  const named = describe(plan, true);
  const subject = `Aviary: ${named.join('; ')}`;
  return subject.length <= SUBJECT_MAX ? subject : `Aviary: ${describe(plan, false).join('; ')}`.slice(0, SUBJECT_MAX);
}

function describe(plan: Plan, withNames: boolean): string[] {
  const list = (verb: string, sites: readonly SitePlan[], suffix = '') => {
    if (sites.length === 0) return [];
    if (!withNames) return [`${verb} ${sites.length} site${sites.length === 1 ? '' : 's'}${suffix}`];
    return [`${verb} ${sites.length === 1 ? 'site' : 'sites'} ${sites.map((s) => s.id).join(', ')}${suffix}`];
  };
  const changed = plan.sites.filter((s) => s.change === 'changed');
  const promoted = changed.filter((s) => s.service && s.traffic && s.service.to === s.traffic.to);
  const upgraded = changed.filter((s) => s.service && !promoted.includes(s));
  const switched = changed.filter((s) => s.traffic && !s.service);
  const other = changed.filter((s) => !s.service && !s.traffic);
  const by = (sites: readonly SitePlan[], pick: (s: SitePlan) => string | undefined) => {
    const colors = [...new Set(sites.map(pick))];
    return colors.map((c) => [c, sites.filter((s) => pick(s) === c)] as const);
  };
  const parts = [
    ...(plan.services.selector ? [`canary ${plan.services.selector.to}`] : []),
    ...plan.services.images.map((i) => `${i.color} image ${i.to?.split('@sha256:')[1]?.slice(0, 12) ?? 'removed'}`),
    ...list('add', plan.sites.filter((s) => s.change === 'added')),
    ...list('remove', plan.sites.filter((s) => s.change === 'removed')),
    ...by(promoted, (s) => s.service?.to).flatMap(([c, sites]) => list('promote', sites, ` to ${c}`)),
    ...by(upgraded, (s) => s.service?.to).flatMap(([c, sites]) => list('upgrade', sites, ` to ${c}`)),
    ...by(switched, (s) => s.traffic?.to).flatMap(([c, sites]) => list('route', sites, ` to ${c}`)),
    ...(plan.services.images.length || plan.services.selector ? [] : plan.services.objects.length ? ['update services'] : []),
  ];
  // Sites that only follow an image change are implied by it.
  if (!plan.services.images.length) parts.push(...list('update', other));
  if (plan.other.length) parts.push('update Argo CD bootstrap');
  return parts.length ? parts : ['update manifests'];
}
