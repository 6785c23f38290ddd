// Credentials and masking, and the file sync, against a real git.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authConfig, credentialsFrom, splitUrlCredentials } from '../../../src/pipeline/git/credentials.js';
import { mask, maskStream, maskUrlCredentials, registerEnvironmentSecrets, registerSecret } from '../../../src/pipeline/shared/mask.js';
import { applyChanges, blobId, changesToward, trackedFiles } from '../../../src/pipeline/git/sync.js';
import { gitIn } from '../../../src/pipeline/git/run.js';
import { bareRepo, canaryYaml, configRepo, git, runCli, sitesYaml, tempDir, treeAt } from './helpers.js';

const root = tempDir('aviary-git-unit-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('credentials and mask()', () => {
  it('masks credentials written into any URL, keeping an ssh user', () => {
    expect(maskUrlCredentials('fetching http://bot:t0k3n-value@h/m.git and https://ghp_abcdef@github.com/a/b.git')).toBe(
      'fetching http://bot:***@h/m.git and https://***@github.com/a/b.git',
    );
    expect(maskUrlCredentials('mysql://admin:pw-in-url@db:3306 ssh://git@github.com/a/b.git')).toBe('mysql://admin:***@db:3306 ssh://git@github.com/a/b.git');
  });

  it('registers the secrets the environment hands the process, whatever later prints them', () => {
    registerEnvironmentSecrets({ AVIARY_MYSQL_URL: 'mysql://admin:Adm1n%2Fpass@db:3306', AWS_SECRET_ACCESS_KEY: 'test' });
    // A library's debug line that prints the password on its own, encoded or not.
    expect(mask('connect db:3306 as admin with Adm1n/pass (Adm1n%2Fpass)')).toBe('connect db:3306 as admin with *** (***)');
    // A short stand-in key (a local emulator's "test") is no secret: masking it would garble ordinary words.
    expect(mask('latest test run')).toBe('latest test run');
  });

  it('masks everything written to a stream, except the ::add-mask:: lines that hand a secret to the runner', () => {
    registerSecret('stream-secret-42');
    let written = '';
    const stream = { write: (chunk: string) => ((written += chunk), true) } as unknown as NodeJS.WriteStream;
    maskStream(stream);
    stream.write('::add-mask::stream-secret-42\nerror: stream-secret-42 leaked\n');
    stream.write(Buffer.from('debug: stream-secret-42\n'));
    expect(written).toBe('::add-mask::stream-secret-42\nerror: *** leaked\ndebug: ***\n');
  });

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
