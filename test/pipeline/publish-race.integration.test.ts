// Ten publishers at once against one remote served over HTTP with basic
// auth, each a real `aviary publish` process with its own config repo and
// work dir; and what the token must never touch.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { bareRepo, configRepo, commitInputs, git, runCli, sitesYaml, tempDir, treeAt, type CliResult } from './git/helpers.js';

const TOKEN = 'avy_s3cret-T0ken-for-tests';
const USER = 'ci';
const secretForms = [TOKEN, Buffer.from(`${USER}:${TOKEN}`).toString('base64'), Buffer.from(TOKEN).toString('base64')];

let root: string;
let server: GitHttpServer;
let url: string;
let remote: string;
const base = [{ id: 'alpha' }, { id: 'bravo', service: 'green' as const }, { id: 'charlie' }];
const env = { AVIARY_GIT_TOKEN: TOKEN, AVIARY_GIT_USERNAME: USER };

beforeAll(async () => {
  root = tempDir('aviary-race-');
  remote = await bareRepo(join(root, 'git', 'acme', 'manifests.git'));
  server = await startGitHttpServer({ root: join(root, 'git'), user: USER, password: TOKEN });
  url = `${server.url}/acme/manifests.git`;
});
afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

function expectNoSecret(...texts: string[]) {
  for (const text of texts) for (const form of secretForms) expect(text).not.toContain(form);
}

/** Every .git/config under the work dirs of a config repo. */
function workConfigs(config: string): string[] {
  const dir = join(config, '.aviary', 'manifests');
  return readdirSync(dir).map((d) => readFileSync(join(dir, d, '.git', 'config'), 'utf8'));
}

describe('publishing over HTTP with basic auth', () => {
  it('lands every one of 10 concurrent publishes: none lost, history linear, nothing forced', { timeout: 300_000 }, async () => {
    const origin = await configRepo(join(root, 'config-0'), sitesYaml(base));
    const first = await runCli(origin, ['publish', '--repo', url], env);
    expect(first.code, first.stderr).toBe(0);
    const firstCommit = (await git(remote, 'rev-parse', 'main')).trim();

    const racers = Array.from({ length: 10 }, (_, i) => `racer-${i}`);
    const sources: string[] = [];
    const dirs: string[] = [];
    for (const id of racers) {
      const dir = join(root, `config-${id}`);
      await git(root, 'clone', '-q', origin, dir);
      await git(dir, 'config', 'user.name', `Dev ${id}`);
      await git(dir, 'config', 'user.email', `${id}@example.com`);
      sources.push(await commitInputs(dir, `add ${id}`, sitesYaml([...base, { id }])));
      dirs.push(dir);
    }
    const results: CliResult[] = await Promise.all(dirs.map((dir) => runCli(dir, ['publish', '--repo', url], env)));
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    const tree = await treeAt(remote, 'main');
    for (const id of [...base.map((s) => s.id), ...racers]) expect(tree.has(`sites/${id}/${id}.yaml`), id).toBe(true);
    const log = (await git(remote, 'log', '--format=%H %P', 'main')).trim().split('\n');
    expect(log).toHaveLength(11);
    for (const line of log.slice(0, -1)) expect(line.split(' ')).toHaveLength(2); // one parent each: no merges
    expect(log.at(-1)!.split(' ')[0]).toBe(firstCommit); // the first publish was never rewritten
    const trailers = (await git(remote, 'log', '--format=%(trailers:key=Aviary-Source,valueonly)', 'main')).split('\n').filter(Boolean);
    expect(new Set(trailers)).toEqual(new Set([...sources, (await git(origin, 'rev-parse', 'HEAD')).trim()]));
    expect(results.some((r) => /after \d+ attempts/.test(r.stdout))).toBe(true);

    expectNoSecret(first.stdout, first.stderr, ...results.flatMap((r) => [r.stdout, r.stderr]));
    for (const dir of [origin, ...dirs]) expectNoSecret(...workConfigs(dir));
  });

  it('fails with exit 3 and says which variable to fix when the token is wrong, without printing it', { timeout: 120_000 }, async () => {
    const config = await configRepo(join(root, 'config-wrong'), sitesYaml(base));
    const wrong = 'avy_wrong-token-value-123';
    const r = await runCli(config, ['publish', '--repo', url, '--token', wrong], { AVIARY_GIT_USERNAME: USER });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/git: fetching main from .* failed: .*AVIARY_GIT_TOKEN/s);
    for (const text of [r.stdout, r.stderr, ...workConfigs(config)]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(Buffer.from(`${USER}:${wrong}`).toString('base64'));
    }
  });

  it('takes credentials out of a URL: they reach the server but neither .git/config nor the output', { timeout: 120_000 }, async () => {
    const config = await configRepo(join(root, 'config-url'), sitesYaml([...base, { id: 'delta' }]));
    const withAuth = url.replace('http://', `http://${USER}:${TOKEN}@`);
    const r = await runCli(config, ['publish', '--repo', withAuth]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Published [0-9a-f]{12} to main of http:\/\/127\.0\.0\.1:\d+\/acme\/manifests\.git/);
    expectNoSecret(r.stdout, r.stderr, ...workConfigs(config));
    expect(workConfigs(config).join('\n')).toContain(`url = ${url}`);
  });
});
