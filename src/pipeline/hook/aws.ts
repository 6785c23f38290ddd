import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The three AWS clients the hook uses, configured from the SDK's standard environment. */
export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly secrets: SecretsManagerClient;
  readonly s3: S3Client;
  destroy(): void;
}

/** Explicit settings that win over the environment (embedding the hook, tests). */
export interface AwsOverrides {
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * Region, credentials and `AWS_ENDPOINT_URL[_<SERVICE>]` come from the SDK's
 * own resolution. The SDK's internal retries are turned off because the hook
 * retries whole idempotent steps itself (retry.ts): two layers would multiply.
 */
export function awsClients(overrides: AwsOverrides = {}, env: NodeJS.ProcessEnv = process.env): AwsClients {
  const common = { maxAttempts: 1, ...overrides };
  // A custom S3 endpoint (MinIO, moto, LocalStack) rarely resolves bucket subdomains.
  const forcePathStyle = Boolean(overrides.endpoint || env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3);
  const clients = {
    dynamodb: new DynamoDBClient(common),
    secrets: new SecretsManagerClient(common),
    s3: new S3Client({ ...common, forcePathStyle }),
  };
  return { ...clients, destroy: () => Object.values(clients).forEach((c) => c.destroy()) };
}
