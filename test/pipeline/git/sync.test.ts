// The file sync, against a real git.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gitIn } from '../../../src/pipeline/git/run.js';
import { applyChanges, blobId, changesToward, trackedFiles } from '../../../src/pipeline/git/sync.js';
import { GENERATED_MARK } from '../../../src/charts/render.js';
import { scratchDir } from '../../support/fixtures.js';
import { git } from '../../support/git.js';

const root = scratchDir('aviary-git-unit-');
const ours = (body: string) => `${GENERATED_MARK} from sites.yaml and canary.yaml; do not edit.\n${body}`;
const [a, b, c] = [ours('a: 1\n'), ours('b: 1\n'), ours('c: 1\n')];

describe('file sync', () => {
  it('computes git blob ids, changes only differing files, removes emptied folders, keeps dot files and files it did not write', async () => {
    const dir = join(root, 'sync');
    await git(root, 'init', '-q', dir);
    mkdirSync(join(dir, 'sites/a'), { recursive: true });
    mkdirSync(join(dir, 'sites/b'), { recursive: true });
    writeFileSync(join(dir, 'sites/a/a.yaml'), a);
    writeFileSync(join(dir, 'sites/b/b.yaml'), b);
    writeFileSync(join(dir, 'NOTES.md'), 'not ours\n');
    writeFileSync(join(dir, '.gitattributes'), '* text\n');
    await git(dir, 'add', '-A');
    expect(blobId(a)).toBe((await git(dir, 'hash-object', 'sites/a/a.yaml')).trim());

    const tracked = await trackedFiles(gitIn(dir), '.');
    expect([...tracked.keys()].sort()).toEqual(['NOTES.md', 'sites/a/a.yaml', 'sites/b/b.yaml']);
    const { changes, unmanaged } = changesToward(dir, '.', tracked, [
      { path: 'sites/a/a.yaml', content: a },
      { path: 'sites/c/c.yaml', content: c },
    ]);
    expect(changes).toEqual([
      { path: 'sites/b/b.yaml', before: b },
      { path: 'sites/c/c.yaml', after: c },
    ]);
    expect(unmanaged).toEqual(['NOTES.md']);
    applyChanges(dir, '.', changes);
    await git(dir, 'add', '-A');
    expect((await git(dir, 'ls-files')).trim().split('\n').sort()).toEqual(['.gitattributes', 'NOTES.md', 'sites/a/a.yaml', 'sites/c/c.yaml']);
    expect(() => readFileSync(join(dir, 'sites/b/b.yaml'))).toThrow();
    expect((await import('node:fs')).existsSync(join(dir, 'sites/b'))).toBe(false);
  });
});
