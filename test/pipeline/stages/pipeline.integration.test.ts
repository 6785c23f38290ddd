// `aviary pipeline` as a real process against real git repos, moto_server and
// MariaDB: it stops at the first failing stage, names it, exits with the
// status of the underlying failure, and a re-run after a failure in any stage
// converges. Settings come from flags and from the environment.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOk, runCli, type CliResult } from '../../support/cli.js';
import { sitesYaml, tempDir, type SiteSpec } from '../../support/fixtures.js';
import { useGitHubServer } from '../../support/github-server.js';
import { bareRepo, ConfigForge, gitSync as git, hasSiteFiles } from '../../support/git.js';
import { adminSql, awsSide, cliEnv, mariadb, registryStatus, uniq, useFreshStore } from '../../support/store.js';
import { serviceColorIn } from '../../support/manifests.js';

const { aws, store } = useFreshStore();

/** An administrator who may look but not create: the inventory (changes stage) works, provisioning a new site does not. */
async function readOnlyMysql(): Promise<string> {
  const db = mariadb();
  const user = `ro_${uniq('').replace(/-/g, '')}`;
  await adminSql(async (c) => {
    await c.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', 'wrong-password-xyz']);
    await c.query('GRANT SELECT ON *.* TO ?@?', [user, '%']);
  });
  return `mysql://${user}:wrong-password-xyz@${db.host}:${db.port}`;
}

function world(sites: SiteSpec[]) {
  const forge = new ConfigForge(sites);
  const bare = bareRepo(tempDir('aviary-pipeline-manifests-'));
  /** Commits a new sites.yaml in the config repo (where the pipeline runs). */
  const commit = (next: SiteSpec[]) => {
    writeFileSync(join(forge.dev, 'sites.yaml'), sitesYaml(next));
    git(forge.dev, 'commit', '-q', '-am', 'change the fleet');
    git(forge.dev, 'push', '-q', 'origin', 'main');
    return git(forge.dev, 'rev-parse', 'HEAD');
  };
  const pipeline = (args: string[] = [], env: Record<string, string> = {}): Promise<CliResult> =>
    runCli(['pipeline', ...args], { cwd: forge.dev, env: { ...cliEnv(store), AVIARY_MANIFESTS_REPO: bare, ...env } });
  return { forge, bare, commit, pipeline };
}

/** A PATH with git and nothing else: the MariaDB client tools (mariadb-dump, mysqldump) are not found. */
function pathWithout(tool: string): string {
  const dir = tempDir(`aviary-path-without-${tool}-`);
  symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), join(dir, 'git'));
  return dir;
}

const ok = expectOk;

describe('aviary pipeline', () => {
  it('invalid inputs stop it at validate with exit 1; nothing is provisioned or published', async () => {
    const id = uniq('v-');
    const w = world([{ id }]);
    writeFileSync(join(w.forge.dev, 'sites.yaml'), `sites:\n  - id: ${id}\n    service: red\n`);
    const r = await w.pipeline();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('==> validate\n    FAILED: ');
    expect(r.stderr).toMatch(/sites\.yaml:3:14: sites\[0\]\.service/);
    expect(r.stdout).not.toContain('==> provision');
    expect(await registryStatus(aws, store.table, id)).toBeUndefined();
    expect(git(w.bare, 'branch', '--list')).toBe('');
  });

  it('synth takes unchanged site files from the manifests branch instead of rendering them again, even on a fresh runner', async () => {
    const [a, b] = [uniq('a-'), uniq('b-')];
    const w = world([{ id: a }, { id: b }]);
    ok(await w.pipeline());
    // Someone else's bytes for a on the branch, under a's real header: only reuse can carry them into dist/.
    const other = tempDir('aviary-pipeline-other-');
    git(other, 'clone', '-q', w.bare, '.');
    const file = join(other, `sites/${a}/${a}.yaml`);
    const marked = `${readFileSync(file, 'utf8').split('\n', 1)[0]}\nkind: Marker\n`;
    writeFileSync(file, marked);
    git(other, '-c', 'user.name=Other', '-c', 'user.email=other@example.com', 'commit', '-q', '-am', 'marker');
    git(other, 'push', '-q', 'origin', 'main');
    // A fresh runner: no dist/, no kept clone.
    for (const dir of ['dist', '.aviary']) rmSync(join(w.forge.dev, dir), { recursive: true, force: true });
    w.commit([{ id: a }, { id: b, service: 'green' }]);
    ok(await w.pipeline());
    expect(readFileSync(join(w.forge.dev, `dist/sites/${a}/${a}.yaml`), 'utf8')).toBe(marked);
    expect(serviceColorIn(readFileSync(join(w.forge.dev, `dist/sites/${b}/${b}.yaml`), 'utf8'))).toBe('green');
  });

  it('an unreachable manifests repo stops it at changes with exit 3, before anything changed', async () => {
    const id = uniq('u-');
    const w = world([{ id }]);
    const r = await w.pipeline(['--manifests-repo', 'http://127.0.0.1:1/nowhere.git']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: pipeline stage "changes" failed \(later stages did not run; fix the cause and run the pipeline again\): git: listing the branches of http:\/\/127\.0\.0\.1:1\/nowhere\.git failed: .*\n.*could not be reached/m);
    expect(await registryStatus(aws, store.table, id)).toBeUndefined();
  });

  it('a failure in provision, publish or teardown stops there; each re-run converges', async () => {
    const [a, b, c] = [uniq('a-'), uniq('b-'), uniq('c-')];
    const w = world([{ id: a }, { id: b }]);
    ok(await w.pipeline());

    // provision: MySQL refuses to create the database → exit 3, stage named, nothing published.
    w.commit([{ id: a }, { id: b }, { id: c }]);
    const p1 = await w.pipeline([], { AVIARY_MYSQL_URL: await readOnlyMysql() });
    expect(p1.code).toBe(3);
    expect(p1.stderr).toMatch(/error: pipeline stage "provision" failed .*MySQL: site c-\w+: database wp_c_\w+ failed/);
    expect(p1.stderr).not.toContain('wrong-password-xyz');
    expect(p1.stdout).not.toContain('==> publish');
    expect(hasSiteFiles(w.bare, c)).toBe(false);
    expect(await registryStatus(aws, store.table, c)).toBe('provisioning');

    // publish: the remote refuses the push (a server-side hook) → exit 3; the site is provisioned by now.
    const hook = join(w.bare, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "frozen for maintenance" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    const p2 = await w.pipeline();
    expect(p2.code).toBe(3);
    expect(p2.stderr).toMatch(/error: pipeline stage "publish" failed .*git: pushing to main of/);
    expect(p2.stdout).toMatch(/==> provision \(1 site\)\n {4}\[1\/1\] c-\w+: 9 steps: /);
    expect(p2.stdout).not.toContain('==> teardown');
    expect(await registryStatus(aws, store.table, c)).toBe('ready');
    expect(hasSiteFiles(w.bare, c)).toBe(false);

    rmSync(hook);
    const p3 = ok(await w.pipeline());
    expect(p3.stdout).toContain('every declared site is ready'); // the re-run provisioned nothing twice
    expect(p3.stdout).not.toMatch(/\[1\/1\] c-/);
    expect(hasSiteFiles(w.bare, c)).toBe(true);

    // teardown: no MariaDB client on the runner → exit 3 at teardown, after the manifests are gone. No dump, no drop.
    w.commit([{ id: a }, { id: c }]);
    const t1 = await w.pipeline(['--teardown-grace', '0'], { PATH: pathWithout('mariadb-dump') });
    expect(t1.code).toBe(3);
    expect(t1.stderr).toContain('error: pipeline stage "teardown" failed');
    expect(t1.stderr).toContain('mariadb-client');
    expect(hasSiteFiles(w.bare, b)).toBe(false);
    expect(await awsSide(aws, store, b)).toMatchObject({ registry: 'terminating', database: true, dbSecret: 'present' });

    // The re-run still knows b was removed (the newest deploy is its own, so it looks past it).
    const t2 = ok(await w.pipeline(['--teardown-grace', '0']));
    expect(t2.stdout).toContain('Nothing to publish');
    expect(t2.stdout).toMatch(new RegExp(`torn down: +${b}`));
    expect(await awsSide(aws, store, b)).toMatchObject({ registry: 'terminated', database: false, user: false, s3: [] });
    expect(await registryStatus(aws, store.table, a)).toBe('ready');
  });

  it('tearing down more than one site needs --confirm N, checked before anything is published', async () => {
    const [a, b, c] = [uniq('a-'), uniq('b-'), uniq('c-')];
    const w = world([{ id: a }, { id: b }, { id: c }]);
    ok(await w.pipeline());
    w.commit([{ id: a }]);
    const refused = await w.pipeline();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: pipeline stage "changes" failed`);
    expect(refused.stderr).toContain(`refusing to tear down 2 sites at once (${b}, ${c})`);
    expect(refused.stderr).toContain('--confirm 2');
    expect(hasSiteFiles(w.bare, b)).toBe(true);

    const done = ok(await w.pipeline(['--confirm', '2', '--json', '--teardown-grace', '0']));
    const result = JSON.parse(done.stdout);
    expect(result).toMatchObject({ tornDown: [b, c], provisioned: [], publish: { status: 'pushed' } });
    expect(done.stderr).toContain('==> teardown (2 removed sites)'); // progress goes to stderr with --json
    for (const id of [b, c]) expect(await registryStatus(aws, store.table, id)).toBe('terminated');
  });

  describe('pull request mode', () => {
    const token = 'ghs_pipeline_test_token';
    const github = useGitHubServer({ token });

    it('provisions and opens a pull request; teardown is left for after the merge, and it says how', async () => {
      const [a, b, c] = [uniq('a-'), uniq('b-'), uniq('c-')];
      const w = world([{ id: a }, { id: b }]);
      ok(await w.pipeline());
      w.commit([{ id: a }, { id: c }]);
      const env = { AVIARY_PUBLISH_MODE: 'pr', GITHUB_TOKEN: token, GITHUB_API_URL: github.url, AVIARY_GITHUB_REPO: 'acme/manifests' };
      const r = ok(await w.pipeline(['--json'], env));
      const result = JSON.parse(r.stdout);
      expect(result.publish.status).toBe('pull-request');
      expect(result.publish.pullRequest.url).toBe(`${github.url}/acme/manifests/pull/1`);
      expect(result.provisioned).toEqual([c]);
      expect(result.tornDown).toEqual([]);
      expect(result.teardownSkipped.ids).toEqual([b]);
      expect(r.stderr).toContain(`skipped: pull request mode: the manifests of ${b} stay on main until the pull request merges.`);
      expect(r.stderr).toContain(`run: aviary hook teardown ${b}`);
      // b keeps everything; its manifests are still on main.
      expect(await registryStatus(aws, store.table, b)).toBe('ready');
      expect(hasSiteFiles(w.bare, b)).toBe(true);
      expect(await registryStatus(aws, store.table, c)).toBe('ready');
      expect(r.stdout + r.stderr).not.toContain(token);
    });
  });
});
