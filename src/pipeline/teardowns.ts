import { scanRegistry, withReports, type HookContext, type StepReport } from './hook/context.js';
import { eachSite } from './hook/each-site.js';
import { completeTeardown, dueTeardowns, markForTeardown } from './hook/teardown.js';
import type { StageProgress } from './progress.js';
import { describeLive, refuseLive, whereStillLive, type GateOptions } from './teardown-gate.js';
import { plural } from './words.js';

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
  readonly progress?: Pick<StageProgress, 'note' | 'item'>;
}

export interface TeardownOutcome {
  /** Final backup taken and data removed. */
  readonly tornDown: readonly string[];
  /** Marked, not due yet: when each is. */
  readonly terminating: readonly { readonly id: string; readonly due: string }[];
  readonly skipped?: { readonly ids: readonly string[]; readonly reason: string };
  readonly steps?: readonly StepReport[];
}

export async function runTeardowns(ctx: HookContext, run: TeardownRun): Promise<TeardownOutcome> {
  const note = (line: string) => run.progress?.note(line);
  const waiting = (await scanRegistry(ctx)).filter((i) => i.status === 'terminating').map((i) => i.id);
  const live = await whereStillLive([...new Set([...run.removed, ...waiting])], run.gate);
  if (run.strict) refuseLive(new Map([...live].filter(([id]) => run.removed.includes(id))));
  if (live.size > 0) note(`left alone, still live: ${describeLive(live)}`);

  const mark = run.removed.filter((id) => !live.has(id));
  const steps: StepReport[] = [];
  if (mark.length > 0) {
    steps.push(...(await eachSite(mark, (id) => withReports(ctx, (c) => markForTeardown(c, id)), { concurrency: run.concurrency })));
    note(`marked for teardown: ${mark.join(', ')}`);
  }

  const items = await scanRegistry(ctx);
  const due = dueTeardowns(items, new Date(), run.graceMs).map((i) => i.id).filter((id) => !live.has(id));
  if (due.length > 0) {
    let done = 0;
    steps.push(
      ...(await eachSite(due, (id) => withReports(ctx, (c) => completeTeardown(c, id, run.recoveryDays)), {
        concurrency: run.concurrency,
        onSite: (id, reports) => run.progress?.item(++done, due.length, `${id}: final backup taken, ${plural(reports.length, 'step')}`),
      })),
    );
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
  };
}
