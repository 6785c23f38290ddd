// End to end, the way the CIs run Aviary: `node lib/pipeline/cli.js ci`
// started with environment variables only (Drone's PLUGIN_*, GitHub Actions'
// INPUT_*), in fresh checkouts of a config repo, publishing to a manifests
// repo served over HTTP with basic auth, provisioning against moto_server and
// MariaDB. The scenarios build on each other, like the history of one fleet.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { droneEnv, githubEnv, runStep, type StepResult } from '../support/ci.js';
import { expectOk, runCliSync } from '../support/cli.js';
import { DIGEST_NEW, tempDir, type SiteSpec } from '../support/fixtures.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { bareRepo, ConfigForge, gitSync, hasSiteFiles, treeAt, treeOf } from '../support/git.js';
import { awsSide, mariadb, registryStatus, TORN_DOWN, uniq, useFreshStore } from '../support/store.js';

const TOKEN = 'e2e-manifests-token-4b1d';

const { aws, store: fleet } = useFreshStore();
let server: GitHttpServer;
let bare: string;
let manifestsUrl: string;
let forge: ConfigForge;
const steps: StepResult[] = [];

// Site ids are unique per run: moto and MariaDB are shared by every test file.
const a = uniq('a-');
const g = uniq('g-');
const n = uniq('n-');
const base: SiteSpec[] = [{ id: a }, { id: g, service: 'green', ingress: 'blue' }];

const drone = (command: string, extra: Record<string, string> = {}) =>
  droneEnv(command, fleet, { manifests_repo: manifestsUrl, token: TOKEN, ...extra });
const github = (command: string, extra: Record<string, string> = {}) =>
  githubEnv(command, fleet, { 'manifests-repo': manifestsUrl, token: TOKEN, ...extra });

async function step(cwd: string, env: Record<string, string>): Promise<StepResult> {
  const r = await runStep(cwd, env);
  steps.push(r);
  return r;
}

/** The objects of a site's manifest file on the manifests branch. */
function siteObjects(id: string): any[] {
  const text = treeAt(bare).get(`sites/${id}/${id}.yaml`);
  if (text === undefined) throw new Error(`no manifests for ${id}`);
  return parseAllDocuments(text).map((d) => d.toJS());
}
const jobNames = (id: string) => siteObjects(id).filter((o) => o.kind === 'Job').map((o) => o.metadata.name as string).sort();
const ingressColor = (id: string) => siteObjects(id).find((o) => o.kind === 'Ingress').spec.rules[0].http.paths[0].backend.service.name as string;

beforeAll(async () => {
  const root = tempDir('aviary-e2e-http-');
  bare = bareRepo(join(root, 'fleet/manifests.git'), { allowFilter: true });
  server = await startGitHttpServer({ root, user: 'x-access-token', password: TOKEN });
  manifestsUrl = `${server.url}/fleet/manifests.git`;
  forge = new ConfigForge(base);

  // The first deploy of the fleet, from Drone.
  const first = await step(forge.checkout(forge.main), drone('pipeline'));
  expectOk(first);
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

describe('aviary ci, end to end', () => {
  it('the first deploy provisioned the fleet and published it over authenticated HTTP', async () => {
    expect(hasSiteFiles(bare, a)).toBe(true);
    expect(hasSiteFiles(bare, g)).toBe(true);
    expect(await registryStatus(aws, fleet.table, a)).toBe('ready');
    expect(await registryStatus(aws, fleet.table, g)).toBe('ready');
    // The manifests commit names the input commit it came from.
    expect(gitSync(bare, 'log', '-1', '--format=%B', 'main')).toContain(`Aviary-Source: ${forge.main}`);
    // Progress per stage in plain lines (not a TTY): no carriage returns or escape sequences.
    const log = steps[0]!.stderr;
    for (const stage of ['validate', 'changes', 'provision', 'synth', 'publish', 'teardown']) expect(log).toContain(`==> ${stage}`);
    // Sites are provisioned side by side, so either may finish first.
    expect(log).toMatch(new RegExp(`\\[[12]/2\\] ${a}: 9 steps: `));
    expect(log).toMatch(/\[1\/2\] .*\n.*\[2\/2\] /);
    expect(log).not.toMatch(/[\r\x1b]/);
  });

  let beforePromote = '';

  it('(1) GitHub Actions: a pull request adding a site is planned; after the merge the pipeline provisions it and publishes its manifests', async () => {
    const head = forge.pullRequest('add-site', [...base, { id: n }]);
    const pr = forge.checkout(head);

    const validate = await step(pr, github('validate'));
    expectOk(validate);
    expect(validate.outputs.valid).toBe('true');
    expect(validate.summary).toContain('The inputs are valid: 3 site(s).');

    const plan = await step(pr, github('plan'));
    expectOk(plan);
    expect(plan.stdout).toContain(`site ${n} (new):`);
    expect(plan.stdout).not.toContain(`site ${a}`);
    expect(plan.outputs['has-changes']).toBe('true');
    expect(plan.outputs.plan).toContain('### Aviary plan');
    expect(plan.summary).toMatch(new RegExp(`\\| \`${n}\` \\| new \\|`));
    // The plan only looked: nothing was provisioned or published.
    expect(await registryStatus(aws, fleet.table, n)).toBeUndefined();
    expect(hasSiteFiles(bare, n)).toBe(false);

    const merged = forge.merge('add-site');
    const run = await step(forge.checkout(merged), github('pipeline'));
    expectOk(run);
    expect(await awsSide(aws, fleet, n)).toEqual({
      registry: 'ready',
      dbSecret: 'present',
      adminSecret: 'present',
      database: true,
      user: true,
      s3: [`sites/${n}/.keep`],
    });
    expect(hasSiteFiles(bare, n)).toBe(true);
    expect(run.outputs['manifests-commit']).toBe(gitSync(bare, 'rev-parse', 'main'));
    expect(run.outputs.status).toBe('pushed');
    expect(run.outputs.provisioned).toBe(n);
    expect(run.summary).toContain(`Provisioned: \`${n}\``);
    expect(gitSync(bare, 'log', '-1', '--format=%B', 'main')).toContain(`Aviary-Source: ${merged}`);
    // GitHub masks the token from here on; it was never printed anyway.
    expect(run.stdout).toContain(`::add-mask::${TOKEN}`);
    beforePromote = treeOf(bare);
  });

  let promoteCommit = '';

  it('(2) Drone promote: a new canary image with --promote moves the sites on the canary (traffic and Jobs)', async () => {
    const before = { jobs: jobNames(g), ingress: ingressColor(g), a: treeAt(bare).get(`sites/${a}/${a}.yaml`) };
    expect(before.ingress).toBe('blue');

    // The promote step of examples/drone/.drone.yml: edit, commit, push, then the pipeline.
    const ci = forge.checkout(forge.main);
    gitSync(ci, 'checkout', '-q', '-B', 'main', 'origin/main');
    expectOk(runCliSync(['canary', 'set-image', `sha256:${DIGEST_NEW}`, '--promote'], { cwd: ci }));
    gitSync(ci, 'commit', '-q', '-am', `Promote green to ${DIGEST_NEW.slice(0, 12)}`);
    gitSync(ci, 'push', '-q', 'origin', 'HEAD:main');
    promoteCommit = gitSync(ci, 'rev-parse', 'HEAD');

    const run = await step(ci, drone('pipeline'));
    expectOk(run);
    expect(ingressColor(g)).toBe('green');
    const after = jobNames(g);
    expect(after).toHaveLength(before.jobs.length);
    // The new image updates the database and flushes the caches; install and theme do not run again.
    const renamed = after.filter((job) => !before.jobs.includes(job)).map((job) => job.replace(/-[0-9a-f]{10}$/, ''));
    expect(renamed).toEqual([`${g}-flush`, `${g}-update-db`]);
    // Sites not on the canary are untouched, byte for byte.
    expect(treeAt(bare).get(`sites/${a}/${a}.yaml`)).toBe(before.a);
    expect(treeAt(bare).get('services/green.yaml')).toContain(`@sha256:${DIGEST_NEW}`);
    // Drone has no masking command: nothing GitHub-specific in its log.
    expect(run.stdout).not.toContain('::');
  });

  it('(3) Drone: git revert of the promote commit publishes manifests byte-identical to those before it', async () => {
    gitSync(forge.dev, 'checkout', '-q', 'main');
    gitSync(forge.dev, 'pull', '-q', '--ff-only', 'origin', 'main');
    gitSync(forge.dev, 'revert', '--no-edit', promoteCommit);
    gitSync(forge.dev, 'push', '-q', 'origin', 'main');

    const run = await step(forge.checkout(forge.main), drone('pipeline'));
    expectOk(run);
    expect(treeOf(bare)).toBe(beforePromote);
    expect(ingressColor(g)).toBe('blue');
  });

  it('(4) GitHub Actions: a pull request removing a site; after the merge its manifests go first, then its AWS side and database', async () => {
    const head = forge.pullRequest('remove-site', base);
    const plan = await step(forge.checkout(head), github('plan'));
    expectOk(plan);
    expect(plan.stdout).toContain(`site ${n} (torn down):`);
    expect(plan.summary).toContain('**Teardown:**');

    const merged = forge.merge('remove-site');
    const ci = forge.checkout(merged);
    // Watch both sides while the pipeline runs: when the registry first leaves "ready",
    // the manifests must already be gone from the branch.
    const seen: { status: string; manifestsGone: boolean }[] = [];
    let running = true;
    const watch = (async () => {
      while (running) {
        const status = (await registryStatus(aws, fleet.table, n)) ?? 'absent';
        if (status !== 'ready' && seen.length === 0) seen.push({ status, manifestsGone: !hasSiteFiles(bare, n) });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const run = await step(ci, github('pipeline', { 'teardown-grace': '0' }));
    running = false;
    await watch;
    expectOk(run);

    expect(seen[0]).toMatchObject({ manifestsGone: true });
    expect(hasSiteFiles(bare, n)).toBe(false);
    expect(await awsSide(aws, fleet, n)).toEqual(TORN_DOWN);
    expect(run.outputs['torn-down']).toBe(n);
    // The neighbours keep everything.
    expect((await awsSide(aws, fleet, a)).registry).toBe('ready');
    // Under GitHub Actions each stage is a collapsible group of the log.
    const log = run.stderr;
    expect(log).toContain('::group::publish');
    expect(log.indexOf('::group::publish')).toBeLessThan(log.indexOf('::group::teardown'));
    expect(log).toMatch(new RegExp(`\\[1/1\\] ${n}: final backup taken, \\d+ steps`));
  });

  it('a re-run of a finished pipeline changes nothing and succeeds', async () => {
    const before = gitSync(bare, 'rev-parse', 'main');
    const run = await step(forge.checkout(forge.main), drone('pipeline'));
    expectOk(run);
    expect(gitSync(bare, 'rev-parse', 'main')).toBe(before);
    expect(run.stderr).toContain('Nothing to publish');
    expect(await registryStatus(aws, fleet.table, n)).toBe('terminated');
  });

  it('no secret appears in any output', () => {
    const secrets = [TOKEN, mariadb().adminPassword, Buffer.from(`x-access-token:${TOKEN}`).toString('base64')];
    for (const r of steps) {
      const all = `${r.stdout}\n${r.stderr}\n${r.summary}\n${JSON.stringify(r.outputs)}`.replaceAll(`::add-mask::${TOKEN}`, '').replace(/::add-mask::\S+/g, '');
      for (const s of secrets) expect(all).not.toContain(s);
    }
    // The token never lands in a git config either.
    expect(readFileSync(join(bare, 'config'), 'utf8')).not.toContain(TOKEN);
  });
});
