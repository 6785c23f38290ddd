// rollback and deploy land their commit in the config repo's remote (the
// source of truth the next pipeline run reads), or in a pull request there,
// against real bare repos and the GitHub protocol server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useGitHubServer } from '../../../support/github-server.js';
import { runCli } from '../../../support/cli.js';
import { scratchDir, sitesYaml } from '../../../support/fixtures.js';
import { bareRepo, commitInputs, configRepo, git, treeAt } from '../../../support/git.js';
import { serviceColorIn } from '../../../support/manifests.js';

const TOKEN = 'ghp_aviaryRollbackToken0123456789';
const root = scratchDir('aviary-rollback-push-');
const gh = useGitHubServer({ token: TOKEN });

const head = async (repo: string, ref = 'main') => (await git(repo, 'rev-parse', ref)).trim();

/** A config repo whose main tracks main of a bare remote at `<root>/<name>/acme/config.git`, plus an empty manifests remote. */
async function fleet(name: string) {
  const origin = await bareRepo(join(root, name, 'acme', 'config.git'));
  const dir = await configRepo(join(root, name, 'config'), sitesYaml([{ id: 'alpha' }, { id: 'bravo' }]));
  await git(dir, 'remote', 'add', 'origin', origin);
  await git(dir, 'push', '-q', '-u', 'origin', 'main');
  const manifests = await bareRepo(join(root, name, 'manifests.git'));
  const bad = await commitInputs(dir, 'move bravo to green', sitesYaml([{ id: 'alpha' }, { id: 'bravo', service: 'green' }]));
  await git(dir, 'push', '-q', 'origin', 'main');
  expect((await runCli(dir, ['publish', '--repo', manifests])).code).toBe(0);
  return { origin, dir, manifests, bad };
}

/** Someone else's change to the config repo, pushed from a clone of their own. */
async function theirPush(origin: string, name: string, sites: string) {
  const other = join(root, name, 'other');
  await git(root, 'clone', '-q', origin, other);
  await git(other, 'config', 'user.name', 'Bo Colleague');
  await git(other, 'config', 'user.email', 'bo@example.com');
  return commitInputs(other, 'their change', sites).then(async (sha) => (await git(other, 'push', '-q', 'origin', 'main'), sha));
}

describe('aviary rollback pushes the config repo', () => {
  it('pushes the revert to the tracked branch before publishing, and the manifests name it as their input', { timeout: 120_000 }, async () => {
    const { origin, dir, manifests, bad } = await fleet('push');
    const r = await runCli(dir, ['rollback', '--repo', manifests]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Reverted ${bad.slice(0, 12)}`);
    expect(r.stderr).toMatch(/Pushed it to main of .*config\.git\./);
    const pushed = await head(origin);
    expect(pushed).toBe(await head(dir));
    expect((await git(origin, 'log', '-1', '--format=%s', 'main')).trim()).toBe('Revert "move bravo to green"');
    expect(await git(manifests, 'log', '-1', '--format=%B', 'main')).toContain(`Aviary-Source: ${pushed}`);
    expect(serviceColorIn((await treeAt(manifests, 'main')).get('sites/bravo/bravo.yaml'))).toBe('blue');
  });

  it('rebases onto a commit pushed meanwhile and publishes both changes', { timeout: 120_000 }, async () => {
    const { origin, dir, manifests, bad } = await fleet('race');
    const theirs = await theirPush(origin, 'race', sitesYaml([{ id: 'alpha', theme: 'kadence' }, { id: 'bravo', service: 'green' }]));
    const r = await runCli(dir, ['rollback', bad, '--repo', manifests]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('rebased onto newer commits there');
    expect((await git(origin, 'rev-list', '--first-parent', 'main')).trim().split('\n')[1]).toBe(theirs);
    const sites = await git(origin, 'show', 'main:sites.yaml');
    expect(sites).toContain('theme: kadence');
    expect(sites).not.toContain('service: green');
    const tree = await treeAt(manifests, 'main');
    expect(tree.get('sites/alpha/alpha.yaml')).toContain('kadence');
    expect(serviceColorIn(tree.get('sites/bravo/bravo.yaml'))).toBe('blue');
  });

  it('refuses when a commit pushed meanwhile conflicts, and leaves both repos and the clone as they were', { timeout: 120_000 }, async () => {
    const { origin, dir, manifests } = await fleet('conflict');
    await theirPush(origin, 'conflict', sitesYaml([{ id: 'alpha' }, { id: 'bravo', service: 'green', theme: 'kadence' }]));
    const [originBefore, localBefore, manifestsBefore] = [await head(origin), await head(dir), await head(manifests)];
    const r = await runCli(dir, ['rollback', '--repo', manifests]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot push to main of the config repo \(origin\): it moved, and the new commits there conflict with yours\. Nothing was pushed/);
    expect(await head(origin)).toBe(originBefore);
    expect(await head(dir)).toBe(localBefore);
    expect(await head(manifests)).toBe(manifestsBefore);
    expect((await git(dir, 'status', '--porcelain')).trim()).toBe('');
  });

  it('keeps the commit local with --no-push-config and says what that means', { timeout: 120_000 }, async () => {
    const { origin, dir, manifests } = await fleet('local');
    const before = await head(origin);
    const r = await runCli(dir, ['rollback', '--repo', manifests, '--no-push-config']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Not pushed (--no-push-config): push it before the next pipeline run');
    expect(await head(origin)).toBe(before);
    expect(await head(dir)).not.toBe(before);
    expect(serviceColorIn((await treeAt(manifests, 'main')).get('sites/bravo/bravo.yaml'))).toBe('blue');
  });

  it('pushes a deploy of an earlier commit the same way', { timeout: 120_000 }, async () => {
    const { origin, dir, manifests } = await fleet('deploy');
    const first = (await git(dir, 'rev-list', '--max-parents=0', 'HEAD')).trim();
    const r = await runCli(dir, ['deploy', first, '--repo', manifests]);
    expect(r.code, r.stderr).toBe(0);
    expect(await head(origin)).toBe(await head(dir));
    expect(await git(origin, 'show', 'main:sites.yaml')).toBe(await git(origin, 'show', `${first}:sites.yaml`));
  });
});

describe('aviary rollback --mode pr', () => {
  it('opens a pull request in the config repo, leaves main and the manifests alone, and updates the same PR on a re-run', { timeout: 120_000 }, async () => {
    const { origin, dir, manifests, bad } = await fleet('pr');
    const [originBefore, localBefore, manifestsBefore] = [await head(origin), await head(dir), await head(manifests)];
    const args = ['rollback', '--mode', 'pr', '--github-url', gh.url];
    const r = await runCli(dir, args, { GITHUB_TOKEN: TOKEN });
    expect(r.code, r.stderr).toBe(0);
    const branch = `aviary/rollback-${bad.slice(0, 12)}`;
    expect(r.stdout).toBe(`Opened pull request #1 in the config repo from ${branch}:\n${gh.url}/acme/config/pull/1\n`);
    expect(await head(origin)).toBe(originBefore);
    expect(await head(dir)).toBe(localBefore);
    expect(await head(manifests)).toBe(manifestsBefore);
    expect((await git(origin, 'log', '-1', '--format=%s', branch)).trim()).toBe('Revert "move bravo to green"');
    const pr = gh.pulls.find((p) => p.base.repo.full_name === 'acme/config')!;
    expect(pr).toMatchObject({ head: { ref: branch }, base: { ref: 'main' }, title: 'Revert "move bravo to green"', state: 'open' });
    expect(pr.body).toContain(`Reverts ${bad}`);

    const again = await runCli(dir, args, { GITHUB_TOKEN: TOKEN });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Updated pull request #1');
    expect(gh.pulls.filter((p) => p.base.repo.full_name === 'acme/config')).toHaveLength(1);
    expect(readFileSync(join(dir, 'sites.yaml'), 'utf8')).toContain('service: green');
    expect(r.stdout + r.stderr + again.stdout + again.stderr).not.toContain(TOKEN);
  });

  it('refuses before touching anything when the branch tracks no remote', { timeout: 60_000 }, async () => {
    const dir = await configRepo(join(root, 'untracked'), sitesYaml([{ id: 'alpha' }]));
    await commitInputs(dir, 'add bravo', sitesYaml([{ id: 'alpha' }, { id: 'bravo' }]));
    const before = await head(dir);
    const r = await runCli(dir, ['rollback', '--mode', 'pr', '--github-url', gh.url], { GITHUB_TOKEN: TOKEN });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tracks no remote branch: set one with git branch -u origin/main');
    expect(await head(dir)).toBe(before);
  });
});
