import {
  ConditionalCheckFailedException,
  GetItemCommand,
  paginateScan,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Site } from '../../sites/types.js';
import { RefusedError } from '../shared/errors.js';

/**
 * provisioning → ready while a site is set up. A removed site is marked
 * terminating (nothing deleted yet); after the grace period its final backup
 * is taken and its data removed, and it ends terminated.
 */
export type SiteStatus = 'provisioning' | 'ready' | 'terminating' | 'terminated';

/** One site's record in the registry table, which the fleet and operators read. */
export interface RegistryItem {
  readonly id: string;
  readonly name?: string;
  readonly hostnames?: readonly string[];
  readonly theme?: string;
  /** The color the site runs on (`service` in sites.yaml). */
  readonly color?: string;
  readonly status: SiteStatus;
  /** ISO 8601 timestamps. */
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When a run found the site removed everywhere and marked it; its data goes after the grace period. */
  readonly terminatingSince?: string;
  /** The stamp of the site's final backup (see backup.ts), chosen once so a re-run completes the same backup. */
  readonly backup?: string;
  /** Provisioning this site restores it from this backup (a site declared again within the recovery window). */
  readonly restoreFrom?: string;
  readonly terminatedAt?: string;
}

/** What a step did: the hook reports it per site, and a re-run of a finished job reports only `unchanged`/`absent`. */
export type Outcome = 'created' | 'updated' | 'unchanged' | 'deleted' | 'absent' | 'restored' | 'scheduled';

/**
 * The DynamoDB registry. Writes are conditional on the item being as we last
 * read it, so two hooks racing on one site fail loudly instead of
 * overwriting each other; the loser's re-run then converges.
 */
export class Registry {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(id: string): Promise<RegistryItem | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { id: { S: id } }, ConsistentRead: true }));
    return out.Item ? fromItem(out.Item) : undefined;
  }

  /** Every item, in one paginated scan: what the pipeline converges against. */
  async scan(): Promise<RegistryItem[]> {
    const items: RegistryItem[] = [];
    for await (const page of paginateScan({ client: this.client }, { TableName: this.table, ConsistentRead: true })) {
      for (const item of page.Items ?? []) items.push(fromItem(item));
    }
    return items;
  }

  /**
   * Records the site as being provisioned, or refreshes its fields; leaves a
   * matching item alone. A site coming back after its final backup was taken
   * is to be restored from that backup (`restoreFrom`), also on a re-run.
   */
  async beginProvision(site: Site): Promise<{ outcome: Outcome; restoreFrom?: string }> {
    const seen = await this.get(site.id);
    const fields = siteFields(site);
    if (seen && seen.status === 'ready' && sameFields(seen, fields)) return { outcome: 'unchanged' };
    const restoreFrom = seen?.restoreFrom ?? (seen?.status === 'terminating' || seen?.status === 'terminated' ? seen.backup : undefined);
    if (seen && seen.status === 'provisioning' && sameFields(seen, fields)) return { outcome: 'unchanged', restoreFrom };
    const at = this.now().toISOString();
    const keep = seen && (seen.status !== 'terminated' || restoreFrom);
    // A ready site whose fields changed stays ready; anything else (new, being or already torn down) starts over.
    const status: SiteStatus = seen?.status === 'ready' ? 'ready' : 'provisioning';
    await this.write({ id: site.id, ...fields, status, createdAt: keep ? seen.createdAt : at, updatedAt: at, ...(restoreFrom ? { restoreFrom } : {}) }, seen);
    return { outcome: seen ? (restoreFrom ? 'restored' : 'updated') : 'created', restoreFrom };
  }

  async markReady(id: string): Promise<Outcome> {
    const seen = await this.get(id);
    if (!seen) throw new Error(`registry item ${id} disappeared during provisioning; run the hook again`);
    if (seen.status === 'ready') return 'unchanged';
    const { restoreFrom: _done, ...rest } = seen;
    await this.write({ ...rest, status: 'ready', updatedAt: this.now().toISOString() }, seen);
    return 'updated';
  }

  /**
   * Phase one of a teardown: the site is marked, nothing is deleted. A site
   * the registry does not know gets an item too, so whatever of it exists is
   * still found and removed when its time comes.
   */
  async markTerminating(id: string): Promise<Outcome> {
    const seen = await this.get(id);
    if (seen && (seen.status === 'terminating' || seen.status === 'terminated')) return 'unchanged';
    const at = this.now().toISOString();
    await this.write({ ...(seen ?? { id, createdAt: at }), status: 'terminating', updatedAt: at, terminatingSince: at }, seen);
    return seen ? 'updated' : 'created';
  }

  /** The stamp of the site's final backup: the one already chosen, or `stamp`, recorded before anything is deleted. */
  async beginBackup(id: string, stamp: string): Promise<{ outcome: Outcome; stamp: string }> {
    const seen = await this.get(id);
    if (seen?.backup) return { outcome: 'unchanged', stamp: seen.backup };
    // Only a marked site (or one a finished teardown left behind) may lose its data.
    if (!seen || (seen.status !== 'terminating' && seen.status !== 'terminated')) {
      throw new Error(`site ${id} is not marked terminating in the registry; run the teardown again`);
    }
    await this.write({ ...seen, backup: stamp, updatedAt: this.now().toISOString() }, seen);
    return { outcome: 'updated', stamp };
  }

  /** A terminated site keeps `backup`, so a later re-add restores from it. */
  async markTerminated(id: string): Promise<Outcome> {
    const seen = await this.get(id);
    if (!seen) return 'absent';
    if (seen.status === 'terminated') return 'unchanged';
    const at = this.now().toISOString();
    await this.write({ ...seen, status: 'terminated', updatedAt: at, terminatedAt: at }, seen);
    return 'updated';
  }

  /** Points a declared site at a backup to restore from, for `aviary hook restore`. */
  async requestRestore(id: string, stamp: string): Promise<Outcome> {
    const seen = await this.get(id);
    if (seen?.status === 'ready') throw new RefusedError(`site ${id} is live (registry status ready): a restore would overwrite its data`);
    if (seen?.status === 'terminating' && !seen.backup) {
      throw new RefusedError(`site ${id} is marked for teardown but nothing of it was deleted yet: declare it in sites.yaml again and the next run keeps its data`);
    }
    const at = this.now().toISOString();
    if (seen?.restoreFrom === stamp) return 'unchanged';
    await this.write({ ...(seen ?? { id, createdAt: at }), status: seen?.status ?? 'provisioning', updatedAt: at, restoreFrom: stamp }, seen);
    return 'updated';
  }

  private async write(item: RegistryItem, seen: RegistryItem | undefined): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: toItem(item),
          ...(seen
            ? { ConditionExpression: 'updatedAt = :seen', ExpressionAttributeValues: { ':seen': { S: seen.updatedAt } } }
            : { ConditionExpression: 'attribute_not_exists(id)' }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') {
        throw new ConcurrentHookError(`registry item ${item.id} changed while the hook was writing it (another hook running?); run the hook again`);
      }
      throw error;
    }
  }
}

type Fields = Pick<RegistryItem, 'name' | 'hostnames' | 'theme' | 'color'>;

function siteFields(site: Site): Fields {
  return { name: site.name, hostnames: [...site.hostnames], theme: site.theme, color: site.service };
}

function sameFields(a: Fields, b: Fields): boolean {
  return a.name === b.name && a.theme === b.theme && a.color === b.color && JSON.stringify(a.hostnames) === JSON.stringify(b.hostnames);
}

function toItem(item: RegistryItem): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(item)) {
    if (typeof value === 'string') out[key] = { S: value };
    else if (Array.isArray(value)) out[key] = { L: value.map((s: string) => ({ S: s })) };
  }
  return out;
}

function fromItem(item: Record<string, AttributeValue>): RegistryItem {
  const s = (key: string) => item[key]?.S;
  return {
    id: s('id')!,
    name: s('name'),
    hostnames: item.hostnames?.L?.map((v) => v.S ?? ''),
    theme: s('theme'),
    color: s('color'),
    status: (s('status') ?? 'provisioning') as SiteStatus,
    createdAt: s('createdAt') ?? '',
    updatedAt: s('updatedAt') ?? '',
    terminatingSince: s('terminatingSince'),
    backup: s('backup'),
    restoreFrom: s('restoreFrom'),
    terminatedAt: s('terminatedAt'),
  };
}

/** Another hook wrote the same registry item meanwhile; running the hook again converges. */
export class ConcurrentHookError extends Error {
  override name = 'ConcurrentHookError';
}
