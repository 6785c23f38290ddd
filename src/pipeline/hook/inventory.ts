import { namesFor, type HookContext } from './context.js';
import type { RegistryItem } from './registry.js';
import { outside } from './retry.js';

/**
 * What exists of every site on the AWS and MySQL side, read in a handful of
 * paginated listings (not a request per site), so each pipeline run can
 * converge the whole fleet: a declared site missing any part is provisioned
 * again, whatever removed it (a failed run, a hand-made change, a restore of
 * the server from an old snapshot).
 */
export interface Inventory {
  readonly registry: ReadonlyMap<string, RegistryItem>;
  readonly databases: ReadonlySet<string>;
  readonly users: ReadonlySet<string>;
  /** Site folders holding any object, e.g. `sites/shop/`. */
  readonly folders: ReadonlySet<string>;
  /** Secret names, scheduled deletions excluded. */
  readonly secrets: ReadonlySet<string>;
}

export async function takeInventory(ctx: HookContext): Promise<Inventory> {
  const { config, retry, redactor } = ctx;
  const [items, mysql, folders, secrets] = await Promise.all([
    outside('AWS DynamoDB', `scan the registry ${config.table}`, () => ctx.registry.scan(), retry, redactor),
    outside('MySQL', 'list the sites\' databases and users', () => ctx.database.inventory(), retry, redactor),
    outside('AWS S3', `list s3://${config.bucket}/sites/`, () => ctx.storage.folders('sites/'), retry, redactor),
    outside('AWS Secrets Manager', `list secrets under ${config.secretPrefix}/`, () => ctx.secrets.names(config.secretPrefix), retry, redactor),
  ]);
  return { registry: new Map(items.map((i) => [i.id, i])), ...mysql, folders, secrets };
}

/** What a declared site lacks ("no database", "registry status terminating", …): empty when it is whole and ready. */
export function missingParts(ctx: Pick<HookContext, 'config'>, id: string, inventory: Inventory): string[] {
  const names = namesFor(ctx, id);
  const status = inventory.registry.get(id)?.status;
  const lacks = (present: boolean, what: string) => (present ? [] : [`no ${what}`]);
  return [
    ...(status === 'ready' ? [] : [status ? `registry status ${status}` : 'no registry item']),
    ...lacks(inventory.secrets.has(names.dbSecretId), 'db secret'),
    ...lacks(inventory.secrets.has(names.adminSecretId), 'admin secret'),
    ...lacks(inventory.secrets.has(names.keysSecretId), 'keys secret'),
    ...lacks(inventory.databases.has(names.database), 'database'),
    ...lacks(inventory.users.has(names.databaseUser), 'database user'),
    ...lacks(inventory.folders.has(names.s3Prefix), 'S3 prefix'),
  ];
}
