import { CreateTableCommand, DescribeTableCommand, waitUntilTableExists, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  type BucketLocationConstraint,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { BACKUPS_PREFIX } from './backup.js';
import type { Outcome } from './registry.js';
import { isNotFound } from './storage.js';

/** Creates the registry table (partition key `id`, a string) unless it exists, and waits until it is usable. */
export async function ensureTable(client: DynamoDBClient, table: string): Promise<Outcome> {
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
    return 'unchanged';
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error; // created meanwhile
  }
  await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1 }, { TableName: table });
  return 'created';
}

/** Creates the fleet bucket unless it exists (and is ours to use). */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<Outcome> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return 'unchanged';
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const region = await s3.config.region();
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        // us-east-1 is the one region that must not be named as a location constraint.
        ...(region && region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } } : {}),
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'BucketAlreadyOwnedByYou') throw error;
  }
  return 'created';
}

/** The ID of the lifecycle rule that expires backups, so that re-runs find it among the bucket's other rules. */
export const BACKUP_EXPIRY_RULE = 'aviary-backups-expiry';

/**
 * Expires backups/ `days` after a backup was taken: the recovery window. On a
 * versioned bucket, expiring only makes a delete marker, so old versions get
 * the same time limit; and the parts of a dump upload that was killed (never
 * completed, so never an object) go after a day. A bucket has one lifecycle
 * configuration that a write replaces whole, so the other rules are read and
 * written back unchanged.
 */
export async function ensureBackupExpiry(s3: S3Client, bucket: string, days: number): Promise<Outcome> {
  if (!Number.isInteger(days) || days < 1) throw new Error(`the recovery window must be a whole number of days, at least 1 (got ${days})`);
  const wanted: LifecycleRule = {
    ID: BACKUP_EXPIRY_RULE,
    Status: 'Enabled',
    Filter: { Prefix: BACKUPS_PREFIX },
    Expiration: { Days: days },
    NoncurrentVersionExpiration: { NoncurrentDays: days },
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
  };
  let rules: LifecycleRule[] = [];
  try {
    rules = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  } catch (error) {
    if ((error as Error).name !== 'NoSuchLifecycleConfiguration') throw error;
  }
  const current = rules.find((r) => r.ID === BACKUP_EXPIRY_RULE);
  if (current && ruleShape(current) === ruleShape(wanted)) return 'unchanged';
  const others = rules.filter((r) => r.ID !== BACKUP_EXPIRY_RULE);
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [...others, wanted] } }));
  return current ? 'updated' : 'created';
}

/** What a rule does, in a form that compares equal whatever optional fields S3 echoes back. */
function ruleShape(r: LifecycleRule): string {
  return JSON.stringify([
    r.Status,
    r.Filter?.Prefix ?? r.Prefix,
    r.Filter?.Tag ?? r.Filter?.And ?? r.Filter?.ObjectSizeGreaterThan ?? r.Filter?.ObjectSizeLessThan ?? null,
    r.Expiration?.Days,
    r.Expiration?.Date ?? null,
    r.NoncurrentVersionExpiration?.NoncurrentDays,
    r.NoncurrentVersionExpiration?.NewerNoncurrentVersions ?? null,
    r.AbortIncompleteMultipartUpload?.DaysAfterInitiation,
    r.Transitions?.length ? r.Transitions : null,
    r.NoncurrentVersionTransitions?.length ? r.NoncurrentVersionTransitions : null,
  ]);
}
