import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { ManifestFile } from '../../charts/render.js';
import { readIfExists, removeEmptyParents } from '../shared/files.js';

const TEMP_SUFFIX = '.aviary-tmp';

export interface WriteDistOptions {
  /**
   * The current bytes of a file of `out`, when the caller already read them
   * (synth reads them to reuse unchanged sites); otherwise they are read here.
   */
  readonly current?: (path: string) => string | undefined;
}

/**
 * Makes the directory `out` hold exactly `files`, and returns how many there
 * are. Nothing of `out` changes until every file has been rendered and
 * written, so a failure leaves the previous `out` as it was:
 *
 * - a new `out` is written beside it and renamed into place;
 * - an existing one is updated in two phases: first every new or changed
 *   file is written next to its target under a temporary name, then those
 *   are renamed over their targets and files that are no longer wanted (a
 *   removed site) are deleted. A one-site change to a 10,000-site fleet
 *   writes one file instead of rebuilding 10,000 folders.
 */
export function writeDist(out: string, files: Iterable<ManifestFile>, options: WriteDistOptions = {}): number {
  const target = resolve(out);
  return existsSync(target) ? update(target, files, options.current ?? ((path) => readIfExists(join(target, path)))) : create(target, files);
}

function create(target: string, files: Iterable<ManifestFile>): number {
  const staging = join(dirname(target), `.${basename(target)}.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    const count = writeAll(staging, files);
    mkdirSync(staging, { recursive: true });
    renameSync(staging, target);
    return count;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

function writeAll(dir: string, files: Iterable<ManifestFile>): number {
  const made = new Set<string>();
  let count = 0;
  for (const file of files) {
    const path = join(dir, file.path);
    if (!made.has(dirname(path))) {
      mkdirSync(dirname(path), { recursive: true });
      made.add(dirname(path));
    }
    writeFileSync(path, file.content);
    count++;
  }
  return count;
}

function update(target: string, files: Iterable<ManifestFile>, current: (path: string) => string | undefined): number {
  const stale = new Set(listFiles(target));
  const staged: string[] = [];
  let count = 0;
  try {
    for (const file of files) {
      count++;
      stale.delete(file.path);
      if (current(file.path) === file.content) continue;
      const path = join(target, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path + TEMP_SUFFIX, file.content);
      staged.push(path);
    }
  } catch (error) {
    for (const path of staged) rmSync(path + TEMP_SUFFIX, { force: true });
    throw error;
  }
  for (const path of staged) renameSync(path + TEMP_SUFFIX, path);
  for (const path of stale) {
    unlinkSync(join(target, path));
    removeEmptyParents(dirname(join(target, path)), target);
  }
  return count;
}

/** Every file under `dir`, relative to it with `/` separators; leftovers of an interrupted update are dropped. */
function listFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (path.endsWith(TEMP_SUFFIX)) rmSync(path, { force: true });
    else files.push(relative(dir, path).split(sep).join('/'));
  }
  return files;
}

