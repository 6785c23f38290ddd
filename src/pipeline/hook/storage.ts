import { DeleteObjectsCommand, HeadObjectCommand, paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Outcome } from './registry.js';

/** S3 has no folders: a marker object makes the site's prefix exist (and visible in consoles) before WordPress writes to it. */
export const MARKER = '.keep';

/** DeleteObjects takes at most 1,000 keys, which is also ListObjectsV2's page size. */
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
      if ((error as Error).name !== 'NotFound' && (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw error;
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

  /**
   * Deletes every object under the prefix, a page (1,000 keys) at a time, and
   * returns how many it deleted. S3's continuation token names the last key
   * listed, so deleting a page does not disturb the listing of the next one.
   */
  async emptyPrefix(prefix: string): Promise<{ outcome: Outcome; deleted: number }> {
    let deleted = 0;
    const pages = paginateListObjectsV2({ client: this.s3, pageSize: BATCH }, { Bucket: this.bucket, Prefix: prefix, MaxKeys: BATCH });
    for await (const page of pages) {
      const keys = (page.Contents ?? []).map((o) => o.Key).filter((k): k is string => k !== undefined);
      if (keys.length === 0) continue;
      const out = await this.s3.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failed = out.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new Error(`could not delete ${failed.length} object(s) under ${prefix}, e.g. ${first.Key}: ${first.Code} ${first.Message ?? ''}`.trim());
      }
      deleted += keys.length;
    }
    return { outcome: deleted > 0 ? 'deleted' : 'absent', deleted };
  }
}
