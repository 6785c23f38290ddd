// Where `aviary publish`, `plan` and `pipeline` send the manifests when
// canary.yaml says where Argo CD reads them: a real remote over HTTP with
// basic auth, real CLI processes.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from '../../../support/git-http-server.js';
import { runCli } from '../../../support/cli.js';
import { canaryYaml, scratchDir, sitesYaml } from '../../../support/fixtures.js';
import { bareRepo, configRepo, git } from '../../../support/git.js';

const TOKEN = 'avy_target-T0ken';
const env = { AVIARY_GIT_TOKEN: TOKEN, AVIARY_GIT_USERNAME: 'ci' };
const root = scratchDir('aviary-target-');
let server: GitHttpServer;
let remote: string;
let url: string;
let config: string;

const heads = async () => (await git(remote, 'for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/heads')).trim();

beforeAll(async () => {
  remote = await bareRepo(join(root, 'git', 'fleet.git'));
  server = await startGitHttpServer({ root: join(root, 'git'), user: 'ci', password: TOKEN });
  url = `${server.url}/fleet.git`;
  const argocd = `argocd:\n  repoURL: ${url}\n  targetRevision: prod\n  path: fleet\n`;
  config = configRepo(join(root, 'config'), sitesYaml([{ id: 'alpha' }, { id: 'bravo' }]), canaryYaml({ extra: argocd }));
});
afterAll(() => server?.stop());

describe("the manifests go where canary.yaml's argocd settings say", () => {
  it('with no flags, publishes to argocd.repoURL, targetRevision and path (a first publish into an empty repository starts the branch)', async () => {
    const r = await runCli(config, ['publish'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`to prod of ${url}`);
    const files = (await git(remote, 'ls-tree', '-r', '--name-only', 'prod')).trim().split('\n');
    expect(files).toContain('fleet/sites/alpha/alpha.yaml');
    expect(files.every((f) => f.startsWith('fleet/'))).toBe(true);
  });

  it('refuses (exit 2) a flag that contradicts canary.yaml, naming both, and pushes nothing', async () => {
    const before = await heads();
    for (const [flag, setting] of [
      [['--branch', 'main'], 'argocd.targetRevision prod'],
      [['--path', '.'], 'argocd.path fleet'],
      [['--repo', join(root, 'elsewhere.git')], `argocd.repoURL ${url}`],
    ] as const) {
      const r = await runCli(config, ['publish', ...flag], env);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(setting);
      expect(r.stderr).toMatch(/--force/);
      expect(r.stderr).not.toContain(TOKEN);
    }
    expect(await heads()).toBe(before);
  });

  it('the same repository spelled another way is no contradiction', async () => {
    const r = await runCli(config, ['publish', '--repo', `${url.replace('http://127.0.0.1', 'http://ci@127.0.0.1')}/`], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Nothing to publish/);
  });

  it('a branch the repository does not have needs --create-branch, even when forced there', async () => {
    const before = await heads();
    const typo = await runCli(config, ['publish', '--branch', 'prdo', '--force'], env);
    expect(typo.code, typo.stderr).toBe(2);
    expect(typo.stderr).toMatch(/branch prdo does not exist in the manifests repository .* \(it has prod\).*--create-branch/);
    expect(await heads()).toBe(before);

    const started = await runCli(config, ['publish', '--branch', 'staging', '--force', '--create-branch'], env);
    expect(started.code, started.stderr).toBe(0);
    expect(await heads()).toMatch(/^prod [0-9a-f]+\nstaging [0-9a-f]+$/);
  });

  it('the pipeline refuses a missing branch before it provisions anything', async () => {
    const r = await runCli(config, ['pipeline', '--branch', 'prdo', '--force', '--table', 'unused', '--bucket', 'unused'], env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/branch prdo does not exist/);
    expect(r.stdout + r.stderr).not.toMatch(/provision.*done/i);
  });

  it('plan in a fresh clone (no dist/) compares with the manifests repository canary.yaml names', async () => {
    rmSync(join(config, 'dist'), { recursive: true, force: true });
    const r = await runCli(config, ['plan'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('No changes');
  });
});
