import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` with `content` so that a reader (a person, git, a concurrent
 * `aviary` run) sees either the old file or the new one, never half of it:
 * the bytes go to a temporary file in the same directory (a rename is only
 * atomic within one file system), are flushed to disk, and the temporary file
 * is renamed over the target. On any failure the target is untouched and the
 * temporary file is removed.
 *
 * A symlink is followed, so editing a linked `sites.yaml` updates the file it
 * points to instead of replacing the link. The file keeps its permissions.
 */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const target = resolveLink(path);
  const mode = existingMode(target);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(temp, 'wx', mode ?? 0o666);
    try {
      // The umask filters the mode given to open; set it explicitly so the file keeps its exact permissions.
      if (mode !== undefined) fchmodSync(fd, mode);
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

function resolveLink(path: string): string {
  try {
    return realpathSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return path;
    throw error;
  }
}

/** The permission bits of an existing file; a new file gets the usual umask-filtered default. */
function existingMode(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o7777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
