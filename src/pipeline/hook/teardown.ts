import type { SiteNames } from '../../sites/names.js';
import { RefusedError, UsageError } from '../shared/errors.js';
import { backupPrefix, backupStamp, BACKUPS_PREFIX } from './backup.js';
import { namesFor, step, withReports, type HookContext, type StepReport } from './context.js';
import { eachSite, type EachSiteOptions } from './each-site.js';
import type { RegistryItem } from './registry.js';

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

/** The sites marked terminating whose grace period is over at `now`. */
export function dueTeardowns(items: readonly RegistryItem[], now: Date, graceMs: number): RegistryItem[] {
  return items.filter((i) => i.status === 'terminating' && Date.parse(i.terminatingSince ?? i.updatedAt) + graceMs <= now.getTime());
}

/** What a teardown would do, for `--dry-run`: names only, nothing is contacted. */
export function teardownPlanText(ids: readonly string[], names: (id: string) => SiteNames, where: { table?: string; bucket?: string; recoveryDays: number }): string {
  if (ids.length === 0) return 'Nothing to tear down.';
  const lines = [`Would tear down ${ids.length} site(s):`];
  for (const id of ids) {
    const n = names(id);
    const backup = `s3://${where.bucket ?? '<bucket>'}/${BACKUPS_PREFIX}${id}/<time>/`;
    lines.push(
      `  ${id}`,
      `    registry item ${id}${where.table ? ` in ${where.table}` : ''}: terminating, then (after the grace period) terminated`,
      `    MySQL: drop user ${n.databaseUser}; dump database ${n.database} to ${backup}database.sql.gz, then drop it`,
      `    S3: move every object under s3://${where.bucket ?? '<bucket>'}/${n.s3Prefix} to ${backup}files/`,
      `    secrets ${n.dbSecretId}, ${n.adminSecretId}, ${n.keysSecretId}: delete with a ${where.recoveryDays}-day recovery window`,
    );
  }
  return lines.join('\n');
}

/** Phase one: the site is marked terminating in the registry; nothing is deleted. */
export async function markForTeardown(ctx: HookContext, id: string): Promise<void> {
  await step(ctx, id, 'AWS DynamoDB', `registry item in ${ctx.config.table}: terminating`, () => ctx.registry.markTerminating(id));
}

/**
 * Phase two, after the grace period: a final backup, then the site's data
 * goes. The user goes first so nothing writes after the dump; the database
 * is dropped only once its dump is in S3 (no dump, no drop); files are moved
 * into the backup, not deleted; secrets get a recovery window. The backup
 * stamp is recorded before anything is deleted, so a re-run after a failure
 * at any step completes the same backup.
 */
export async function completeTeardown(ctx: HookContext, id: string, recoveryDays: number, now: Date = new Date()): Promise<void> {
  const names = namesFor(ctx, id);
  const { config } = ctx;
  const { stamp } = await step(ctx, id, 'AWS DynamoDB', 'registry: final backup', () => ctx.registry.beginBackup(id, backupStamp(now)));
  const at = `s3://${config.bucket}/${backupPrefix(id, stamp)}`;
  await step(ctx, id, 'MySQL', `drop user ${names.databaseUser}`, () => ctx.database.dropUser(names.databaseUser));
  await step(ctx, id, 'MySQL', `dump database ${names.database} to ${at}`, () => ctx.backups.dumpDatabase(id, names.database, stamp));
  await step(ctx, id, 'MySQL', `drop database ${names.database}`, async () => {
    if ((await ctx.database.databaseExists(names.database)) && !(await ctx.backups.hasDump(id, stamp))) {
      throw new Error(`no dump of ${names.database} at ${at}: the database is kept; run the teardown again`);
    }
    return ctx.database.dropDatabase(names.database);
  });
  await step(ctx, id, 'AWS S3', `move objects under s3://${config.bucket}/${names.s3Prefix} to ${at}files/`, () =>
    ctx.backups.moveToBackup(id, names.s3Prefix, stamp),
  );
  for (const secret of [names.dbSecretId, names.adminSecretId, names.keysSecretId]) {
    await step(ctx, id, 'AWS Secrets Manager', `delete secret ${secret} (${recoveryDays}-day recovery window)`, () => ctx.secrets.delete(secret, recoveryDays));
  }
  await step(ctx, id, 'AWS DynamoDB', 'registry status terminated', () => ctx.registry.markTerminated(id));
}

/** Marks sites side by side (see eachSite). */
export function markSites(ctx: HookContext, ids: readonly string[], options?: EachSiteOptions): Promise<StepReport[]> {
  return eachSite(ids, (id) => withReports(ctx, (c) => markForTeardown(c, id)), options);
}

/** Both phases at once, with no gate and no grace period: the hook-level tests drive teardown through this. */
export function teardownSites(ctx: HookContext, ids: readonly string[], recoveryDays: number, options?: EachSiteOptions): Promise<StepReport[]> {
  return eachSite(
    ids,
    (id) =>
      withReports(ctx, async (c) => {
        await markForTeardown(c, id);
        await completeTeardown(c, id, recoveryDays);
      }),
    options,
  );
}
