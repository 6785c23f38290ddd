import ms from 'ms';
import { siteApplication, type ApplicationLayout } from '../../sites/names.js';
import { deleteApplication, waitUntilGone, type ArgoCdTarget } from '../publish/argocd.js';
import { OutsideSystemError } from '../shared/errors.js';
import { scanRegistry, withReports, type HookContext, type StepReport } from '../hook/context.js';
import { eachSite } from '../hook/each-site.js';
import { completeTeardown, dueTeardowns, markSites } from '../hook/teardown.js';
import type { StageProgress } from '../shared/progress.js';
import { describeLive, refuseLive, whereStillLive, type GateOptions } from './teardown-gate.js';
import { plural } from '../shared/words.js';

/**
 * Teardown in two phases. A run that removes a site only marks it
 * terminating; the first run after the grace period (any pipeline run, or a
 * scheduled `aviary hook teardown`) takes the final backup and removes the
 * data. Both phases ask the gate first: a site still declared or published
 * anywhere is left alone.
 */

export interface TeardownRun {
  /** Sites this run removes: marked now. */
  readonly removed: readonly string[];
  readonly gate: GateOptions;
  readonly graceMs: number;
  readonly recoveryDays: number;
  readonly concurrency?: number;
  /** Sites named by a person: a live one is refused (exit 1) rather than skipped. */
  readonly strict?: boolean;
  /**
   * Argo CD, to delete a removed site's Application with every object of
   * the site, and to wait before deleting data until it is gone from the
   * cluster: a pod still serving must not meet a dropped database.
   */
  readonly argocd?: { readonly target: ArgoCdTarget; readonly waitMs: number };
  /**
   * How the fleet's sites map to Applications. In shards, a removed site's
   * objects are pruned by its shard's Application: there is no Application
   * of its own to delete or wait for.
   */
  readonly layout: ApplicationLayout;
  readonly progress?: Pick<StageProgress, 'note' | 'item'>;
}

export interface TeardownOutcome {
  /** Final backup taken and data removed. */
  readonly tornDown: readonly string[];
  /** Marked, not due yet: when each is. */
  readonly terminating: readonly { readonly id: string; readonly due: string }[];
  readonly skipped?: { readonly ids: readonly string[]; readonly reason: string };
  /** Of the sites this run removes, those still declared or published elsewhere, and where. */
  readonly live?: ReadonlyMap<string, readonly string[]>;
  readonly steps?: readonly StepReport[];
}

export async function runTeardowns(ctx: HookContext, run: TeardownRun): Promise<TeardownOutcome> {
  const note = (line: string) => run.progress?.note(line);
  const waiting = (await scanRegistry(ctx)).filter((i) => i.status === 'terminating').map((i) => i.id);
  const live = await whereStillLive([...new Set([...run.removed, ...waiting])], run.gate);
  const liveRemoved = new Map([...live].filter(([id]) => run.removed.includes(id)));
  if (run.strict) refuseLive(liveRemoved);
  if (live.size > 0) note(`left alone, still live: ${describeLive(live)}`);

  const mark = run.removed.filter((id) => !live.has(id));
  const steps: StepReport[] = [];
  if (mark.length > 0) {
    steps.push(...(await markSites(ctx, mark, { concurrency: run.concurrency })));
    note(`marked for teardown: ${mark.join(', ')}`);
    // The ApplicationSet never deletes an Application (argocd-chart.ts): a removed site's goes here, explicitly, with
    // its objects. In shards there is none: its shard's Application prunes its objects.
    if (!run.layout.shards) {
      if (run.argocd) for (const id of mark) await deleteApplication(run.argocd.target, siteApplication(id));
      else note(`Argo CD keeps serving removed sites' objects until their Applications are deleted: \`argocd app delete ${mark.map(siteApplication).join(' ')}\` (or give the pipeline AVIARY_ARGOCD_URL and a token to do it)`);
    }
  }

  const items = await scanRegistry(ctx);
  const due = dueTeardowns(items, new Date(), run.graceMs).map((i) => i.id).filter((id) => !live.has(id));
  if (due.length > 0) {
    let done = 0;
    const complete = async (id: string) => {
      if (!run.layout.shards) await goneFromCluster(id, run.argocd);
      return withReports(ctx, (c) => completeTeardown(c, id, run.recoveryDays));
    };
    const onSite = (id: string, reports: readonly StepReport[]) => run.progress?.item(++done, due.length, `${id}: final backup taken, ${plural(reports.length, 'step')}`);
    steps.push(...(await eachSite(due, complete, { concurrency: run.concurrency, onSite })));
  }
  const terminating = items
    .filter((i) => i.status === 'terminating' && !due.includes(i.id) && !live.has(i.id))
    .map((i) => ({ id: i.id, due: new Date(Date.parse(i.terminatingSince ?? i.updatedAt) + run.graceMs).toISOString() }));
  if (terminating.length > 0) note(`data kept until the grace period ends: ${terminating.map((t) => `${t.id} (after ${t.due})`).join(', ')}`);
  return {
    tornDown: due,
    terminating,
    steps,
    ...(live.size > 0 ? { skipped: { ids: [...live.keys()], reason: `still live: ${describeLive(live)}` } } : {}),
    live: liveRemoved,
  };
}

/**
 * Deletes the site's Application (again: a deletion asked for when the site
 * was marked may have failed) and waits until Argo CD no longer has it; its
 * data stays when it does not go in time.
 */
async function goneFromCluster(id: string, argocd: TeardownRun['argocd']): Promise<void> {
  if (!argocd) return;
  const app = siteApplication(id);
  await deleteApplication(argocd.target, app);
  if (await waitUntilGone(argocd.target, app, { timeoutMs: argocd.waitMs })) return;
  throw new OutsideSystemError(
    'Argo CD',
    `site ${id}: waiting for Application ${app} to be removed from the cluster`,
    new Error(`it was still there after ${ms(argocd.waitMs, { long: true })}; the site's data is kept. Check the Application in Argo CD, then run the teardown again`),
  );
}
