// Credentials and masking, and the file sync, against a real git.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authConfig, credentialsFrom, splitUrlCredentials } from '../../../src/pipeline/git/credentials.js';
import { mask, registerSecret } from '../../../src/pipeline/git/mask.js';
import { applyChanges, blobId, changesToward, trackedFiles } from '../../../src/pipeline/git/sync.js';
import { gitIn } from '../../../src/pipeline/git/run.js';
import { bareRepo, canaryYaml, configRepo, git, runCli, sitesYaml, tempDir, treeAt } from './helpers.js';

const root = tempDir('aviary-git-unit-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('credentials and mask()', () => {
  it('masks a token in every form it travels in', () => {
    const creds = credentialsFrom({ env: { AVIARY_GIT_TOKEN: 'tok-123456', AVIARY_GIT_USERNAME: 'ci' } })!;
    expect(creds).toEqual({ username: 'ci', token: 'tok-123456' });
    const header = authConfig(creds)[0]!;
    expect(header).toBe(`http.extraHeader=Authorization: Basic ${Buffer.from('ci:tok-123456').toString('base64')}`);
    expect(mask(`failed: ${header} tok-123456 ${encodeURIComponent('tok-123456')}`)).toBe('failed: http.extraHeader=Authorization: Basic *** *** ***');
    registerSecret('p@ss/word!');
    expect(mask('https://x:p%40ss%2Fword!@host')).toBe('https://x:***@host');
  });

  it('takes credentials out of a URL, and leaves other URLs alone', () => {
    expect(splitUrlCredentials('https://bot:s3cr3t-value@git.example.com/acme/m.git')).toEqual({
      url: 'https://git.example.com/acme/m.git',
      credentials: { username: 'bot', token: 's3cr3t-value' },
    });
    expect(mask('s3cr3t-value')).toBe('***');
    expect(splitUrlCredentials('git@github.com:acme/m.git')).toEqual({ url: 'git@github.com:acme/m.git' });
    expect(credentialsFrom({ env: {} })).toBeUndefined();
  });
});

describe('file sync', () => {
  it('computes git blob ids, changes only differing files, removes emptied folders, keeps dot files', async () => {
    const dir = join(root, 'sync');
    await git(root, 'init', '-q', dir);
    mkdirSync(join(dir, 'sites/a'), { recursive: true });
    mkdirSync(join(dir, 'sites/b'), { recursive: true });
    writeFileSync(join(dir, 'sites/a/a.yaml'), 'a: 1\n');
    writeFileSync(join(dir, 'sites/b/b.yaml'), 'b: 1\n');
    writeFileSync(join(dir, '.gitattributes'), '* text\n');
    await git(dir, 'add', '-A');
    expect(blobId('a: 1\n')).toBe((await git(dir, 'hash-object', 'sites/a/a.yaml')).trim());

    const tracked = await trackedFiles(gitIn(dir), '.');
    expect([...tracked.keys()].sort()).toEqual(['sites/a/a.yaml', 'sites/b/b.yaml']);
    const changes = changesToward(dir, '.', tracked, [
      { path: 'sites/a/a.yaml', content: 'a: 1\n' },
      { path: 'sites/c/c.yaml', content: 'c: 1\n' },
    ]);
    expect(changes).toEqual([
      { path: 'sites/b/b.yaml', before: 'b: 1\n' },
      { path: 'sites/c/c.yaml', after: 'c: 1\n' },
    ]);
    applyChanges(dir, '.', changes);
    await git(dir, 'add', '-A');
    expect((await git(dir, 'ls-files')).trim().split('\n').sort()).toEqual(['.gitattributes', 'sites/a/a.yaml', 'sites/c/c.yaml']);
    expect(() => readFileSync(join(dir, 'sites/b/b.yaml'))).toThrow();
    expect((await import('node:fs')).existsSync(join(dir, 'sites/b'))).toBe(false);
  });
});

describe('aviary synth and aviary publish', () => {
  it('write the same bytes: the published tree equals a synth of the same inputs', { timeout: 120_000 }, async () => {
    const remote = await bareRepo(join(root, 'same', 'm.git'));
    const config = await configRepo(join(root, 'same', 'config'), sitesYaml([{ id: 'alpha' }, { id: 'bravo', service: 'green' }]), canaryYaml());
    const synth = await runCli(config, ['synth', '--out', join(root, 'same', 'synth-out')]);
    expect(synth.code, synth.stderr).toBe(0);
    const published = await runCli(config, ['publish', '--repo', remote]);
    expect(published.code, published.stderr).toBe(0);
    const tree = await treeAt(remote, 'main');
    expect(tree.size).toBeGreaterThan(4);
    for (const [path, content] of tree) expect(readFileSync(join(root, 'same', 'synth-out', path), 'utf8'), path).toBe(content);
    for (const [path, content] of tree) expect(readFileSync(join(config, 'dist', path), 'utf8'), path).toBe(content);
  });
});
