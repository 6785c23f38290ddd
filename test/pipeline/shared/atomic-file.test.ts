import { chmodSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { writeFileAtomic, writeFilesAtomic } from '../../../src/pipeline/shared/atomic-file.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aviary-atomic-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('creates a new file and leaves no temporary file behind', () => {
    writeFileAtomic(join(dir, 'sites.yaml'), 'sites: []\n');
    expect(readFileSync(join(dir, 'sites.yaml'), 'utf8')).toBe('sites: []\n');
    expect(readdirSync(dir)).toEqual(['sites.yaml']);
  });

  test('replaces the file by rename: a reader holding the old file (a hard link) still sees the old bytes whole', () => {
    const path = join(dir, 'sites.yaml');
    writeFileSync(path, 'old\n');
    linkSync(path, join(dir, 'reader'));
    const before = statSync(path).ino;
    writeFileAtomic(path, 'new\n');
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect(readFileSync(join(dir, 'reader'), 'utf8')).toBe('old\n');
    expect(statSync(path).ino).not.toBe(before);
  });

  test('keeps the permissions of the file it replaces, whatever the umask', () => {
    const path = join(dir, 'canary.yaml');
    writeFileSync(path, 'x');
    chmodSync(path, 0o664);
    writeFileAtomic(path, 'y');
    expect(statSync(path).mode & 0o777).toBe(0o664);
  });

  test('writes through a symlink to the file it points to', () => {
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'sites.yaml'), 'old');
    symlinkSync(join(dir, 'real', 'sites.yaml'), join(dir, 'link.yaml'));
    writeFileAtomic(join(dir, 'link.yaml'), 'new');
    expect(readFileSync(join(dir, 'real', 'sites.yaml'), 'utf8')).toBe('new');
    expect(statSync(join(dir, 'link.yaml')).isFile()).toBe(true);
    expect(readdirSync(join(dir, 'real'))).toEqual(['sites.yaml']);
  });

  test('a failed rename leaves the target as it was and removes the temporary file', () => {
    const target = join(dir, 'sites.yaml');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'k');
    expect(() => writeFileAtomic(target, 'new')).toThrow();
    expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('k');
    expect(readdirSync(dir)).toEqual(['sites.yaml']);
  });

  test('a missing directory fails without creating anything', () => {
    expect(() => writeFileAtomic(join(dir, 'nope', 'sites.yaml'), 'x')).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('writeFilesAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aviary-atomic-many-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('replaces every file', () => {
    writeFileSync(join(dir, 'sites.yaml'), 'old sites\n');
    writeFilesAtomic([
      { path: join(dir, 'sites.yaml'), content: 'new sites\n', previous: 'old sites\n' },
      { path: join(dir, 'canary.yaml'), content: 'new canary\n' },
    ]);
    expect(readFileSync(join(dir, 'sites.yaml'), 'utf8')).toBe('new sites\n');
    expect(readFileSync(join(dir, 'canary.yaml'), 'utf8')).toBe('new canary\n');
    expect(readdirSync(dir).sort()).toEqual(['canary.yaml', 'sites.yaml']);
  });

  test('when a later file cannot be replaced, the earlier ones get their previous content back', () => {
    writeFileSync(join(dir, 'sites.yaml'), 'old sites\n');
    mkdirSync(join(dir, 'canary.yaml')); // renaming a file over a directory fails
    expect(() =>
      writeFilesAtomic([
        { path: join(dir, 'sites.yaml'), content: 'new sites\n', previous: 'old sites\n' },
        { path: join(dir, 'canary.yaml'), content: 'new canary\n' },
      ]),
    ).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readFileSync(join(dir, 'sites.yaml'), 'utf8')).toBe('old sites\n');
    expect(readdirSync(dir).sort()).toEqual(['canary.yaml', 'sites.yaml']);
  });

  test('a file that cannot be staged fails before any target changes', () => {
    writeFileSync(join(dir, 'sites.yaml'), 'old sites\n');
    expect(() =>
      writeFilesAtomic([
        { path: join(dir, 'sites.yaml'), content: 'new sites\n', previous: 'old sites\n' },
        { path: join(dir, 'missing', 'canary.yaml'), content: 'new canary\n' },
      ]),
    ).toThrow(/ENOENT/);
    expect(readFileSync(join(dir, 'sites.yaml'), 'utf8')).toBe('old sites\n');
    expect(readdirSync(dir)).toEqual(['sites.yaml']);
  });
});
