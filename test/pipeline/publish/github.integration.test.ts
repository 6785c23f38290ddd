// Pull requests through the real @octokit/rest client against the GitHub
// REST protocol server in test/support, and PR-mode publishing end to end.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutsideSystemError } from '../../../src/pipeline/shared/errors.js';
import { ensurePullRequest, githubRepoOf } from '../../../src/pipeline/publish/github.js';
import { publish } from '../../../src/pipeline/publish/publish.js';
import { useGitHubServer } from '../../support/github-server.js';
import { runCli } from '../../support/cli.js';
import { canaryYaml, scratchDir, sitesYaml } from '../../support/fixtures.js';
import { bareRepo, configRepo, git, treeAt } from '../../support/git.js';
import { asMap, render } from '../../support/manifests.js';

const TOKEN = 'ghp_aviaryTestToken0123456789';
const root = scratchDir('aviary-gh-');
const gh = useGitHubServer({ token: TOKEN });

const target = (token = TOKEN, repo = 'fleet') => ({ baseUrl: gh.url, token, owner: 'acme', repo });
const spec = { head: 'aviary/deploy-abc', base: 'main', title: 'Aviary: add site delta', body: 'plan' };

describe('ensurePullRequest', () => {
  it('opens a pull request once, then updates it instead of opening another', async () => {
    const first = await ensurePullRequest(target(), spec);
    expect(first).toMatchObject({ created: true, number: 1, url: `${gh.url}/acme/fleet/pull/1` });
    const second = await ensurePullRequest(target(), { ...spec, title: 'Aviary: add sites delta, echo', body: 'new plan' });
    expect(second).toMatchObject({ created: false, number: 1 });
    const open = gh.pulls.filter((p) => p.base.repo.full_name === 'acme/fleet');
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ title: 'Aviary: add sites delta, echo', body: 'new plan', state: 'open' });
  });

  it('explains a 401 and never shows the token', async () => {
    const bad = 'ghp_wrongTokenValue987654321';
    const error = await ensurePullRequest(target(bad), spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutsideSystemError);
    expect((error as Error).message).toMatch(/GitHub: looking for an open pull request failed: GitHub refused the token \(401 Bad credentials\): set GITHUB_TOKEN/);
    expect((error as Error).message).not.toContain(bad);
  });

  it('explains a 422 with GitHub\'s own reasons', async () => {
    const error = await ensurePullRequest(target(TOKEN, 'other'), { ...spec, title: '' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutsideSystemError);
    expect((error as Error).message).toMatch(/opening the pull request failed: GitHub rejected the request \(422 Validation Failed: title missing_field\)/);
  });

  it('retries server errors', async () => {
    gh.failNext(2, 502);
    const result = await ensurePullRequest(target(TOKEN, 'flaky'), spec);
    expect(result.created).toBe(true);
  });

  it('reads owner/name from the remote URL', () => {
    expect(githubRepoOf(undefined, 'https://github.com/acme/wp-fleet-manifests.git')).toEqual({ owner: 'acme', repo: 'wp-fleet-manifests' });
    expect(githubRepoOf(undefined, 'git@github.example.com:acme/m.git')).toEqual({ owner: 'acme', repo: 'm' });
    expect(githubRepoOf('org/x', '/tmp/whatever.git')).toEqual({ owner: 'org', repo: 'x' });
  });
});

describe('publish --mode pr', () => {
  it('pushes a branch named after the input commit, opens one PR, and updates it on the next run', { timeout: 120_000 }, async () => {
    const remote = await bareRepo(join(root, 'acme', 'manifests.git'));
    const workRoot = join(root, 'work');
    const start = render(sitesYaml([{ id: 'alpha' }]), canaryYaml());
    await publish(start, { repo: remote, workRoot });
    const mainBefore = (await git(remote, 'rev-parse', 'main')).trim();

    const source = 'd'.repeat(40);
    const next = render(sitesYaml([{ id: 'alpha' }, { id: 'delta' }]), canaryYaml());
    const opts = { repo: remote, workRoot, mode: 'pr' as const, source, github: { url: gh.url, token: TOKEN } };
    const first = await publish(next, opts);
    expect(first).toMatchObject({ status: 'pull-request', branch: 'aviary/deploy-dddddddddddd', pullRequest: { created: true } });
    expect((await git(remote, 'rev-parse', 'main')).trim()).toBe(mainBefore);
    expect(await treeAt(remote, 'aviary/deploy-dddddddddddd')).toEqual(asMap(next));
    const pr = gh.pulls.find((p) => p.number === first.pullRequest!.number && p.base.repo.full_name === 'acme/manifests')!;
    expect(pr).toMatchObject({ title: 'Aviary: add site delta', head: { ref: 'aviary/deploy-dddddddddddd' }, base: { ref: 'main' } });
    expect(pr.body).toContain('### Aviary plan');

    // Same input again, with different bytes (say a new Aviary version): a fast-forward on the branch, same PR.
    const tweaked = next.map((f) => (f.path === 'sites/delta/delta.yaml' ? { ...f, content: `${f.content}# tweak\n` } : f));
    const second = await publish(tweaked, opts);
    expect(second).toMatchObject({ status: 'pull-request', pullRequest: { created: false, number: first.pullRequest!.number } });
    expect(gh.pulls.filter((p) => p.base.repo.full_name === 'acme/manifests')).toHaveLength(1);
    expect((await git(remote, 'rev-list', '--count', 'aviary/deploy-dddddddddddd')).trim()).toBe('3');
  });

  it('prints the PR URL from the CLI', { timeout: 120_000 }, async () => {
    const remote = await bareRepo(join(root, 'cli', 'acme', 'cli-manifests.git'));
    const config = await configRepo(join(root, 'cli-config'), sitesYaml([{ id: 'alpha' }]));
    const r = await runCli(config, ['publish', '--repo', remote, '--mode', 'pr', '--github-url', gh.url], { GITHUB_TOKEN: TOKEN });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Opened pull request #1 from aviary/deploy-[0-9a-f]{12}:\\n${gh.url}/acme/cli-manifests/pull/1`));
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('takes the mode and repository from AVIARY_PUBLISH_MODE and AVIARY_GITHUB_REPO, as aviary pipeline does', { timeout: 120_000 }, async () => {
    const remote = await bareRepo(join(root, 'env', 'somewhere', 'unnamed.git'));
    const config = await configRepo(join(root, 'env-config'), sitesYaml([{ id: 'alpha' }]));
    const env = { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: gh.url, AVIARY_PUBLISH_MODE: 'pr', AVIARY_GITHUB_REPO: 'acme/env-manifests' };
    const r = await runCli(config, ['publish', '--repo', remote], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${gh.url}/acme/env-manifests/pull/`);
    expect((await git(remote, 'rev-parse', '--verify', '-q', 'main').catch(() => '')).trim()).toBe('');
  });
});
