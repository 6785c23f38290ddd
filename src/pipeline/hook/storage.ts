import { HeadObjectCommand, paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Outcome } from './registry.js';

/** S3 has no folders: a marker object makes the site's prefix exist (and visible in consoles) before WordPress writes to it. */
export const MARKER = '.keep';

/** ListObjectsV2's page size. */
const BATCH = 1_000;

/** A site's prefix in the fleet bucket. */
export class SiteStorage {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async ensurePrefix(prefix: string): Promise<Outcome> {
    const key = `${prefix}${MARKER}`;
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return 'unchanged';
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0, ContentType: 'text/plain' }));
    return 'created';
  }

  /** The site folders under `root` (e.g. `sites/` → `sites/shop/`) that hold any object, in one paginated listing. */
  async folders(root: string): Promise<Set<string>> {
    const folders = new Set<string>();
    const pages = paginateListObjectsV2({ client: this.s3, pageSize: BATCH }, { Bucket: this.bucket, Prefix: root, Delimiter: '/', MaxKeys: BATCH });
    for await (const page of pages) for (const p of page.CommonPrefixes ?? []) if (p.Prefix) folders.add(p.Prefix);
    return folders;
  }
}

/** S3's "no such object or bucket", whichever way the SDK reports it (HEAD requests have no body, so only the status). */
export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}
