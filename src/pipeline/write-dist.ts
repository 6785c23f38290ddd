import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ManifestFile } from '../charts/render.js';

/**
 * Replaces the directory `out` with exactly `files`, all or nothing, and
 * returns how many were written: the new
 * tree is written beside it and swapped in with renames, so a failure at any
 * point leaves the previous `out` as it was, and files of removed sites are
 * gone because the old tree is dropped as a whole.
 */
export function writeDist(out: string, files: Iterable<ManifestFile>): number {
  const target = resolve(out);
  const staging = join(dirname(target), `.${basename(target)}.staging-${process.pid}`);
  const previous = join(dirname(target), `.${basename(target)}.previous-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const made = new Set<string>();
  let written = 0;
  try {
    for (const file of files) {
      const dir = dirname(join(staging, file.path));
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      writeFileSync(join(staging, file.path), file.content);
      written++;
    }
    mkdirSync(staging, { recursive: true });
    swap(target, staging, previous);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  rmSync(previous, { recursive: true, force: true });
  return written;
}

function swap(target: string, staging: string, previous: string): void {
  let moved = false;
  try {
    renameSync(target, previous);
    moved = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  try {
    renameSync(staging, target);
  } catch (error) {
    if (moved) renameSync(previous, target);
    throw error;
  }
}
