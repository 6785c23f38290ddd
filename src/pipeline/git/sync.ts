import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { isGenerated, type ManifestFile } from '../../charts/render.js';
import { RefusedError } from '../shared/errors.js';
import { removeEmptyParents } from '../shared/files.js';
import { gitStep } from './run.js';

/** One file of the manifests that differs between two states; paths are relative to `--path`. */
export interface FileChange {
  readonly path: string;
  /** Absent for a new file. */
  readonly before?: string;
  /** Absent for a removed file. */
  readonly after?: string;
  /** The objects `after` was written from, when known (see ManifestFile.objects). */
  readonly afterObjects?: readonly unknown[];
}

/** git's object id for a file with these bytes, so unchanged files are recognised without reading them. */
export function blobId(content: string | Buffer): string {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** `--path` as git pathspec: `.` is the whole repo. */
export function normalisePrefix(path: string): string {
  const p = posix.normalize(path.replaceAll('\\', '/')).replace(/^\/+|\/+$/g, '');
  if (p.startsWith('..')) throw new Error(`--path ${path} leaves the repository`);
  return p === '' ? '.' : p;
}

/**
 * Files that are not Aviary's even inside `--path`: top-level dot entries
 * (`.git`, `.github`, `.gitattributes`, …) are kept as they are.
 */
function isForeign(relative: string): boolean {
  return relative.startsWith('.');
}

/** Tracked files under `prefix` and their blob ids, keyed by path relative to `prefix`. */
export async function trackedFiles(git: SimpleGit, prefix: string): Promise<Map<string, string>> {
  const out = await gitStep('listing the manifests', () => git.raw(['ls-files', '-s', '-z', '--', prefix]));
  const files = new Map<string, string>();
  const strip = prefix === '.' ? 0 : prefix.length + 1;
  for (const entry of out.split('\0')) {
    if (!entry) continue;
    // "<mode> <blob> <stage>\t<path>"
    const tab = entry.indexOf('\t');
    const relative = entry.slice(tab + 1).slice(strip);
    if (!isForeign(relative)) files.set(relative, entry.slice(7, 47));
  }
  return files;
}

/** What publishing changes under `--path`, and what it leaves alone there. */
export interface TreeChanges {
  readonly changes: readonly FileChange[];
  /**
   * Tracked files under `prefix` that Aviary did not generate (see
   * GENERATED_MARK): never changed or deleted, listed in the plan.
   */
  readonly unmanaged: readonly string[];
}

/**
 * What turns Aviary's tracked files under `prefix` into exactly `files`: new,
 * changed and removed files, with the old bytes of those that existed (read
 * from the work tree, which matches the index after a reset). Files Aviary
 * did not write are left as they are; one where Aviary would write is
 * refused, since overwriting it would lose it.
 */
export function changesToward(
  repoDir: string,
  prefix: string,
  tracked: ReadonlyMap<string, string>,
  files: readonly ManifestFile[],
  /** Content known to be the work tree's own (a site file reused as read): equal without hashing it. */
  fromWorkTree?: (path: string) => string | undefined,
): TreeChanges {
  const root = join(repoDir, prefix);
  const changes: FileChange[] = [];
  const unmanaged: string[] = [];
  const wanted = new Set<string>();
  for (const file of files) {
    wanted.add(file.path);
    const id = tracked.get(file.path);
    if (id === undefined) changes.push({ path: file.path, after: file.content, afterObjects: file.objects });
    else if (fromWorkTree?.(file.path) === file.content) continue;
    else if (id !== blobId(file.content)) {
      const before = readFileSync(join(root, file.path), 'utf8');
      if (!isGenerated(before)) throw foreignFileInTheWay(prefix, file.path);
      changes.push({ path: file.path, before, after: file.content, afterObjects: file.objects });
    }
  }
  for (const path of tracked.keys()) {
    if (wanted.has(path)) continue;
    const before = readFileSync(join(root, path), 'utf8');
    if (isGenerated(before)) changes.push({ path, before });
    else unmanaged.push(path);
  }
  return { changes: changes.sort(byPath), unmanaged: unmanaged.sort() };
}

const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

function foreignFileInTheWay(prefix: string, path: string): RefusedError {
  const where = prefix === '.' ? path : `${prefix}/${path}`;
  return new RefusedError(
    `${where} in the manifests repository was not written by Aviary, and Aviary would write its own file there. ` +
      'Nothing was published: move that file, or publish to another --path.',
  );
}

/** Writes new and changed files, deletes removed ones and the folders they leave empty. */
export function applyChanges(repoDir: string, prefix: string, changes: readonly FileChange[]): void {
  const root = join(repoDir, prefix);
  for (const change of changes) {
    const file = join(root, change.path);
    if (change.after !== undefined) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, change.after);
    } else {
      unlinkSync(file);
      removeEmptyParents(dirname(file), root);
    }
  }
}

/** Every file under `dir` (not dot entries at its top), as manifest files: the state of a plain folder. */
export function readTree(dir: string): ManifestFile[] {
  const files: ManifestFile[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(dir, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (!relative && isForeign(entry.name)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push({ path, content: readFileSync(join(dir, path), 'utf8') });
    }
  };
  walk('');
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The changes from one set of files to another, in memory (for a plain folder or a dist/ dir). */
export function diffFiles(before: readonly ManifestFile[], after: readonly ManifestFile[]): FileChange[] {
  const old = new Map(before.map((f) => [f.path, f.content]));
  const changes: FileChange[] = [];
  for (const file of after) {
    const was = old.get(file.path);
    if (was !== file.content) changes.push({ path: file.path, before: was, after: file.content, afterObjects: file.objects });
    old.delete(file.path);
  }
  for (const [path, content] of old) changes.push({ path, before: content });
  return changes.sort(byPath);
}
