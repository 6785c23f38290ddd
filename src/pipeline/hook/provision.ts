import type { Site } from '../../sites/types.js';
import { namesFor, step, withReports, type HookContext, type StepReport } from './context.js';
import { eachSite, type EachSiteOptions } from './each-site.js';

/** The WordPress administrator every site is installed with; its password is generated per site. */
export const ADMIN_USERNAME = 'aviary-admin';

/**
 * Gives a site everything its manifests expect to find, in an order that
 * makes a half-done run safe to repeat: the registry says "provisioning"
 * first and "ready" last; the db secret (and so the password) exists before
 * the MySQL user that uses it. A site declared again after its final backup
 * is restored from it instead: secrets back with their old values (within
 * Secrets Manager's recovery window), the database loaded from its dump,
 * the files copied back. The registry remembers the backup until the site is
 * ready, so a re-run after a kill restores again (each step is repeatable).
 */
export async function provisionSite(ctx: HookContext, site: Site): Promise<void> {
  const names = namesFor(ctx, site.id);
  const { config } = ctx;
  const id = site.id;

  const { restoreFrom } = await step(ctx, id, 'AWS DynamoDB', `registry item in ${config.table}`, () => ctx.registry.beginProvision(site));
  const db = await step(ctx, id, 'AWS Secrets Manager', `secret ${names.dbSecretId}`, () =>
    ctx.secrets.ensureDb(names.dbSecretId, id, {
      host: config.dbHost,
      port: String(config.dbPort),
      database: names.database,
      username: names.databaseUser,
    }),
  );
  await step(ctx, id, 'AWS Secrets Manager', `secret ${names.adminSecretId}`, () =>
    ctx.secrets.ensureAdmin(names.adminSecretId, id, { username: ADMIN_USERNAME, email: `${ADMIN_USERNAME}@${site.canonicalHostname}` }),
  );
  await step(ctx, id, 'AWS Secrets Manager', `secret ${names.keysSecretId}`, () => ctx.secrets.ensureKeys(names.keysSecretId, id));
  await step(ctx, id, 'MySQL', `database ${names.database}`, () => ctx.database.ensureDatabase(names.database));
  if (restoreFrom) {
    await step(ctx, id, 'MySQL', `load ${names.database} from backup ${restoreFrom}`, () => ctx.backups.loadDump(id, names.database, restoreFrom));
  }
  await step(ctx, id, 'MySQL', `user ${names.databaseUser}`, () => ctx.database.ensureUser(names.databaseUser, db.value.password));
  await step(ctx, id, 'MySQL', `grant on ${names.database} to ${names.databaseUser}`, () =>
    ctx.database.ensureGrant(names.database, names.databaseUser),
  );
  if (restoreFrom) {
    await step(ctx, id, 'AWS S3', `copy files back from backup ${restoreFrom}`, () => ctx.backups.restoreFiles(id, names.s3Prefix, restoreFrom));
  }
  await step(ctx, id, 'AWS S3', `prefix s3://${config.bucket}/${names.s3Prefix}`, () => ctx.storage.ensurePrefix(names.s3Prefix));
  await step(ctx, id, 'AWS DynamoDB', 'registry status ready', () => ctx.registry.markReady(id));
}

/** Provisions sites side by side (see eachSite); a failing site does not stop the others. */
export function provisionSites(ctx: HookContext, sites: readonly Site[], options?: EachSiteOptions): Promise<StepReport[]> {
  return eachSite(sites, (site) => withReports(ctx, (c) => provisionSite(c, site)), options);
}
