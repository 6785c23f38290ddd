import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** A file's text, or undefined when it cannot be read (most often: it does not exist). */
export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Removes `dir` and its parents while they are empty, up to (not including) `stop`; best effort. */
export function removeEmptyParents(dir: string, stop: string): void {
  for (let d = dir; d.length > stop.length && d.startsWith(stop); d = dirname(d)) {
    try {
      if (readdirSync(d).length > 0) return;
      rmdirSync(d);
    } catch {
      return;
    }
  }
}
