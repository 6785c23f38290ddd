import { readFileSync } from 'node:fs';

/** A file's text, or undefined when it cannot be read (most often: it does not exist). */
export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
