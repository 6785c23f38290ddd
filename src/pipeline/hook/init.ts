import { CreateTableCommand, DescribeTableCommand, waitUntilTableExists, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type BucketLocationConstraint, type S3Client } from '@aws-sdk/client-s3';
import type { Outcome } from './registry.js';

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
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((error as Error).name !== 'NotFound' && status !== 404) throw error;
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
