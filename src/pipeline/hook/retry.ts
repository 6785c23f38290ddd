import { OutsideSystemError, RefusedError } from '../shared/errors.js';
import { retry, type RetryPolicy } from '../shared/retry.js';
import type { Redactor } from './redact.js';

/** The shared policy type, for the commands that build a hook's policy from `--retries`. */
export type { RetryPolicy } from '../shared/retry.js';

/** How hard to try an outside system before giving up (exit 3). */
export const DEFAULT_RETRY: RetryPolicy = { retries: 4, minTimeoutMs: 500, maxTimeoutMs: 8_000 };

export type OutsideSystem = 'AWS DynamoDB' | 'AWS Secrets Manager' | 'AWS S3' | 'MySQL';

/**
 * Runs one step against an outside system. Every hook step checks before it
 * acts, so repeating a whole step after a transient failure is always safe;
 * a permanent failure (access denied, missing bucket, …) is not retried.
 * Either way the final error names the system, the site and the step, and
 * carries no secret.
 */
export async function outside<T>(
  system: OutsideSystem,
  step: string,
  fn: () => Promise<T>,
  policy: RetryPolicy,
  redactor: Redactor,
): Promise<T> {
  try {
    return await retry(policy, isTransient, fn);
  } catch (error) {
    const clean = redactor.scrubError(error);
    // A refusal is Aviary's own decision, not a failure of the system it was talking to.
    if (clean instanceof RefusedError) throw clean;
    throw new OutsideSystemError(system, step, clean);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED',
]);
const AWS_TRANSIENT_NAMES = new Set([
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ThrottlingException', 'Throttling', 'TooManyRequestsException',
  'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'SlowDown', 'InternalServerError', 'InternalFailure',
  'InternalServiceError', 'ServiceUnavailable', 'ServiceUnavailableException', 'TransactionConflictException',
]);

/** Whether an error from the AWS SDK, mysql2 or the network is worth another try. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { code?: string; errno?: number; fatal?: boolean; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  if (AWS_TRANSIENT_NAMES.has(e.name) || e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  // The SDK reports a dropped connection as a plain error whose cause carries the socket code.
  const cause = (e as { cause?: unknown }).cause;
  if (cause && cause !== error && isTransient(cause)) return true;
  return /socket hang up|ECONNRESET|ECONNREFUSED|connection lost|Connection lost|read ETIMEDOUT/.test(e.message);
}
