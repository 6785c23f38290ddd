import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Site } from '../../sites/types.js';

/** provisioning → ready while a site is set up; terminating → terminated while it is torn down. */
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

  /** Records the site as being provisioned, or refreshes its fields; leaves a matching item alone. */
  async beginProvision(site: Site): Promise<Outcome> {
    const seen = await this.get(site.id);
    const fields = siteFields(site);
    if (seen && (seen.status === 'ready' || seen.status === 'provisioning') && sameFields(seen, fields)) return 'unchanged';
    const at = this.now().toISOString();
    const alive = seen && seen.status !== 'terminated';
    // A ready site whose fields changed stays ready; anything else (new, being or already torn down) starts over.
    const status: SiteStatus = seen?.status === 'ready' ? 'ready' : 'provisioning';
    await this.write({ id: site.id, ...fields, status, createdAt: alive ? seen.createdAt : at, updatedAt: at }, seen);
    return seen ? 'updated' : 'created';
  }

  async markReady(id: string): Promise<Outcome> {
    const seen = await this.get(id);
    if (!seen) throw new Error(`registry item ${id} disappeared during provisioning; run the hook again`);
    if (seen.status === 'ready') return 'unchanged';
    await this.write({ ...seen, status: 'ready', updatedAt: this.now().toISOString() }, seen);
    return 'updated';
  }

  /** Marks the site as being torn down; a site the registry never knew stays unknown. */
  async beginTeardown(id: string): Promise<Outcome> {
    const seen = await this.get(id);
    if (!seen) return 'absent';
    if (seen.status === 'terminating' || seen.status === 'terminated') return 'unchanged';
    await this.write({ ...seen, status: 'terminating', updatedAt: this.now().toISOString() }, seen);
    return 'updated';
  }

  async markTerminated(id: string): Promise<Outcome> {
    const seen = await this.get(id);
    if (!seen) return 'absent';
    if (seen.status === 'terminated') return 'unchanged';
    const at = this.now().toISOString();
    await this.write({ ...seen, status: 'terminated', updatedAt: at, terminatedAt: at }, seen);
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
    terminatedAt: s('terminatedAt'),
  };
}

/** Another hook wrote the same registry item meanwhile; running the hook again converges. */
export class ConcurrentHookError extends Error {
  override name = 'ConcurrentHookError';
}
