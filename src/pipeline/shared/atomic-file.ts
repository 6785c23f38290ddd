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
  writeFilesAtomic([{ path, content }]);
}

export interface FileWrite {
  readonly path: string;
  readonly content: string | Uint8Array;
  /** What the file held before: put back if a later file of the same write cannot be replaced. */
  readonly previous?: string | Uint8Array;
}

/**
 * Replaces several files as one change, as far as a file system allows: every
 * new file is written and flushed first, so a full disk or a permission error
 * fails before any target changes; only then are they renamed into place. If
 * a rename still fails, the files already replaced get their `previous`
 * content back, so an edit of sites.yaml and canary.yaml lands whole or not
 * at all (short of a crash between two renames).
 */
export function writeFilesAtomic(files: readonly FileWrite[]): void {
  const staged: Staged[] = [];
  try {
    for (const file of files) staged.push(stage(file.path, file.content));
  } catch (error) {
    for (const s of staged) rmSync(s.temp, { force: true });
    throw error;
  }
  let renamed = 0;
  try {
    for (const s of staged) {
      renameSync(s.temp, s.target);
      renamed++;
    }
  } catch (error) {
    for (const s of staged.slice(renamed)) rmSync(s.temp, { force: true });
    for (const file of files.slice(0, renamed)) {
      if (file.previous !== undefined) writeFileAtomic(file.path, file.previous);
    }
    throw error;
  }
}

interface Staged {
  readonly temp: string;
  readonly target: string;
}

/** The content in a flushed temporary file beside the target, with the target's permissions. */
function stage(path: string, content: string | Uint8Array): Staged {
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
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return { temp, target };
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
