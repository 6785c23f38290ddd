// Twenty publishers at once against one remote served over HTTP with basic
// auth, each a real `aviary publish` process with its own config repo and
// work dir; and what the token must never touch.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from '../../support/git-http-server.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { scratchDir, sitesYaml } from '../../support/fixtures.js';
import { bareRepo, commitInputs, configRepo, git, treeAt } from '../../support/git.js';

const TOKEN = 'avy_s3cret-T0ken-for-tests';
const USER = 'ci';
const secretForms = [TOKEN, Buffer.from(`${USER}:${TOKEN}`).toString('base64'), Buffer.from(TOKEN).toString('base64')];

const root = scratchDir('aviary-race-');
let server: GitHttpServer;
let url: string;
let remote: string;
const base = [{ id: 'alpha' }, { id: 'bravo', service: 'green' as const }, { id: 'charlie' }];
const env = { AVIARY_GIT_TOKEN: TOKEN, AVIARY_GIT_USERNAME: USER };

beforeAll(async () => {
  remote = await bareRepo(join(root, 'git', 'acme', 'manifests.git'));
  server = await startGitHttpServer({ root: join(root, 'git'), user: USER, password: TOKEN });
  url = `${server.url}/acme/manifests.git`;
});
afterAll(() => server?.stop());

function expectNoSecret(...texts: string[]) {
  for (const text of texts) for (const form of secretForms) expect(text).not.toContain(form);
}

/** Every .git/config under the work dirs of a config repo. */
function workConfigs(config: string): string[] {
  const dir = join(config, '.aviary', 'manifests');
  if (!existsSync(dir)) return []; // refused before a work dir was made
  return readdirSync(dir).filter((d) => !d.startsWith('.')).map((d) => readFileSync(join(dir, d, '.git', 'config'), 'utf8'));
}

function filesUnder(dir: string, at = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(join(dir, at), { withFileTypes: true })) {
    const path = at ? `${at}/${entry.name}` : entry.name;
    if (entry.isDirectory()) for (const [p, c] of filesUnder(dir, path)) out.set(p, c);
    else out.set(path, readFileSync(join(dir, path), 'utf8'));
  }
  return out;
}

/** The site ids whose folders a manifests commit deletes. */
async function removedSites(commit: string): Promise<string[]> {
  const names = (await git(remote, 'show', '--format=', '--name-only', '--diff-filter=D', commit)).split('\n').filter(Boolean);
  return [...new Set(names.map((n) => /^sites\/([^/]+)\//.exec(n)?.[1]).filter((id): id is string => id !== undefined))];
}

let origin: string;

describe('publishing over HTTP with basic auth', () => {
  it('20 concurrent publishes of a chain of commits: the newest inputs win, no commit removes a site they declare', { timeout: 300_000 }, async () => {
    origin = await configRepo(join(root, 'config-0'), sitesYaml(base));
    const first = await runCli(origin, ['publish', '--repo', url], env);
    expect(first.code, first.stderr).toBe(0);
    const firstCommit = (await git(remote, 'rev-parse', 'main')).trim();

    // Twenty merges in a row, each adding a site; twenty CI checkouts, one per merge, all publishing at once.
    const racers = Array.from({ length: 20 }, (_, i) => `racer-${i}`);
    const chain: string[] = [];
    for (const [i, id] of racers.entries()) chain.push(await commitInputs(origin, `add ${id}`, sitesYaml([...base, ...racers.slice(0, i + 1).map((r) => ({ id: r }))])));
    const dirs: string[] = [];
    for (const [i, commit] of chain.entries()) {
      const dir = join(root, `ci-${i}`);
      await git(root, 'clone', '-q', origin, dir);
      await git(dir, 'checkout', '-q', '--detach', commit);
      dirs.push(dir);
    }
    const results: CliResult[] = await Promise.all(dirs.map((dir) => runCli(dir, ['publish', '--repo', url, '--json'], env)));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const statuses = results.map((r) => (JSON.parse(r.stdout) as { status: string }).status);
    expect(statuses.at(-1)).toBe('pushed'); // the newest cannot be superseded
    for (const status of statuses) expect(['pushed', 'superseded']).toContain(status);

    // The branch ends exactly at the newest inputs.
    const newest = await runCli(dirs.at(-1)!, ['synth', '--out', join(root, 'newest-dist')]);
    expect(newest.code, newest.stderr).toBe(0);
    const tree = await treeAt(remote, 'main');
    expect(tree).toEqual(filesUnder(join(root, 'newest-dist')));
    for (const id of [...base.map((s) => s.id), ...racers]) expect(tree.has(`sites/${id}/${id}.yaml`), id).toBe(true);
    // Every deploy moved forward along the chain, one parent each, the first never rewritten, and none removed a site.
    const log = (await git(remote, 'log', '--format=%H %P', 'main')).trim().split('\n');
    for (const line of log.slice(0, -1)) expect(line.split(' ')).toHaveLength(2);
    expect(log.at(-1)!.split(' ')[0]).toBe(firstCommit);
    const sources = (await git(remote, 'log', '--reverse', '--format=%(trailers:key=Aviary-Source,valueonly)', 'main')).split('\n').filter(Boolean);
    const positions = sources.slice(1).map((s) => chain.indexOf(s));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(sources.at(-1)).toBe(chain.at(-1));
    for (const line of log) expect(await removedSites(line.split(' ')[0]!)).toEqual([]);
    expect(statuses.filter((s) => s === 'pushed').length).toBe(log.length - 1);

    expectNoSecret(first.stdout, first.stderr, ...results.flatMap((r) => [r.stdout, r.stderr]));
    for (const dir of [origin, ...dirs]) expectNoSecret(...workConfigs(dir));
  });

  it('fails with exit 3 and says which variable to fix when the token is wrong, without printing it', { timeout: 120_000 }, async () => {
    const config = await configRepo(join(root, 'config-wrong'), sitesYaml(base));
    const wrong = 'avy_wrong-token-value-123';
    const r = await runCli(config, ['publish', '--repo', url, '--token', wrong], { AVIARY_GIT_USERNAME: USER });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/git: (fetching main from|listing the branches of) .* failed: .*AVIARY_GIT_TOKEN/s);
    for (const text of [r.stdout, r.stderr, ...workConfigs(config)]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(Buffer.from(`${USER}:${wrong}`).toString('base64'));
    }
  });

  it('takes credentials out of a URL: they reach the server but neither .git/config nor the output', { timeout: 120_000 }, async () => {
    // A forward commit on the chain published above.
    const config = join(root, 'config-url');
    await git(root, 'clone', '-q', origin, config);
    await git(config, 'config', 'user.name', 'Ann Operator');
    await git(config, 'config', 'user.email', 'ann@example.com');
    const all = (await git(config, 'show', 'HEAD:sites.yaml')) + sitesYaml([{ id: 'delta' }]).replace('sites:\n', '\n');
    await commitInputs(config, 'add delta', all);
    const withAuth = url.replace('http://', `http://${USER}:${TOKEN}@`);
    const r = await runCli(config, ['publish', '--repo', withAuth]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Published [0-9a-f]{12} to main of http:\/\/127\.0\.0\.1:\d+\/acme\/manifests\.git/);
    expectNoSecret(r.stdout, r.stderr, ...workConfigs(config));
    expect(workConfigs(config).join('\n')).toContain(`url = ${url}`);
  });
});
