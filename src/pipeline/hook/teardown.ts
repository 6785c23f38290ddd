import { RefusedError, UsageError } from '../errors.js';
import { namesFor, step, withReports, type HookContext, type StepReport } from './context.js';
import { eachSite, type EachSiteOptions } from './each-site.js';
import type { SiteNames } from '../../sites/names.js';

/** How many sites one teardown may remove without `--confirm`. */
export const DEFAULT_TEARDOWN_THRESHOLD = 1;
export const DEFAULT_RECOVERY_DAYS = 7;

/**
 * A bad edit of sites.yaml must not wipe the fleet: more sites than the
 * threshold are torn down only when the operator states the exact count.
 */
export function checkTeardownAllowed(ids: readonly string[], threshold: number, confirm: number | undefined): void {
  if (confirm === undefined ? ids.length <= threshold : confirm === ids.length) return;
  const which = ids.join(', ');
  throw new RefusedError(
    confirm === undefined
      ? `refusing to tear down ${ids.length} sites at once (${which}): more than ${threshold} needs confirmation; ` +
          `if this is intended, run again with --confirm ${ids.length}`
      : `refusing to tear down: --confirm ${confirm} does not match the ${ids.length} site(s) to tear down (${which}); ` +
          `check sites.yaml, then run again with --confirm ${ids.length}`,
  );
}

/** Secrets Manager accepts a recovery window of 7 to 30 days. */
export function checkRecoveryDays(days: number): number {
  if (!Number.isInteger(days) || days < 7 || days > 30) {
    throw new UsageError(`--recovery-days must be a whole number from 7 to 30 (Secrets Manager's limits), not ${days}`);
  }
  return days;
}

/** What a teardown would do, for `--dry-run`: names only, nothing is contacted. */
export function teardownPlanText(ids: readonly string[], names: (id: string) => SiteNames, where: { table?: string; bucket?: string; recoveryDays: number }): string {
  if (ids.length === 0) return 'Nothing to tear down.';
  const lines = [`Would tear down ${ids.length} site(s):`];
  for (const id of ids) {
    const n = names(id);
    lines.push(
      `  ${id}`,
      `    registry item ${id}${where.table ? ` in ${where.table}` : ''}: status terminating, then terminated`,
      `    secrets ${n.dbSecretId}, ${n.adminSecretId}: delete with a ${where.recoveryDays}-day recovery window`,
      `    MySQL: drop user ${n.databaseUser}, drop database ${n.database}`,
      `    S3: delete every object under s3://${where.bucket ?? '<bucket>'}/${n.s3Prefix}`,
    );
  }
  return lines.join('\n');
}

/**
 * Removes a site's data. The registry says "terminating" first and
 * "terminated" last, so an interrupted teardown is visible and a re-run
 * finishes it; each step skips what is already gone.
 */
export async function teardownSite(ctx: HookContext, id: string, recoveryDays: number): Promise<void> {
  const names = namesFor(ctx, id);
  const { config } = ctx;
  await step(ctx, id, 'AWS DynamoDB', `registry item in ${config.table}: terminating`, () => ctx.registry.beginTeardown(id));
  for (const secret of [names.dbSecretId, names.adminSecretId]) {
    await step(ctx, id, 'AWS Secrets Manager', `delete secret ${secret} (${recoveryDays}-day recovery window)`, () =>
      ctx.secrets.delete(secret, recoveryDays),
    );
  }
  await step(ctx, id, 'MySQL', `drop user ${names.databaseUser}`, () => ctx.database.dropUser(names.databaseUser));
  await step(ctx, id, 'MySQL', `drop database ${names.database}`, () => ctx.database.dropDatabase(names.database));
  await step(ctx, id, 'AWS S3', `delete objects under s3://${config.bucket}/${names.s3Prefix}`, () => ctx.storage.emptyPrefix(names.s3Prefix));
  await step(ctx, id, 'AWS DynamoDB', 'registry status terminated', () => ctx.registry.markTerminated(id));
}

/** Tears sites down side by side (see eachSite); a failing site does not stop the others. */
export function teardownSites(ctx: HookContext, ids: readonly string[], recoveryDays: number, options?: EachSiteOptions): Promise<StepReport[]> {
  return eachSite(ids, (id) => withReports(ctx, (c) => teardownSite(c, id, recoveryDays)), options);
}
