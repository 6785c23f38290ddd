// What an unattended CI does to a fleet: pipelines finishing out of order,
// a re-run of an old build, a build of a feature branch, a publish from a
// stale checkout or with uncommitted edits. None of them may move a deploy
// backwards or touch a live site's data. Each scenario starts from its own
// fleet, so they do not depend on each other.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployedFleet, droneEnv, runStep } from '../support/ci.js';
import { expectOk, runCli } from '../support/cli.js';
import { sitesYaml, tempDir } from '../support/fixtures.js';
import { gitSync, hasSiteFiles } from '../support/git.js';
import { awsSide, cliEnv, uniq, useFreshStore } from '../support/store.js';

const { aws, store: fleet } = useFreshStore();

const head = (bare: string) => gitSync(bare, 'rev-parse', 'main');

describe('unattended CI never moves a deploy backwards', () => {
  it('out of order: the older merge’s pipeline finishing last is superseded and tears nothing down', async () => {
    const { base, forge, manifests, run } = await deployedFleet(fleet);
    const [c, d] = [uniq('c-'), uniq('d-')];
    forge.pullRequest('add-c', [{ id: c }, ...base]);
    const m1 = forge.merge('add-c');
    forge.pullRequest('add-d', [{ id: c }, ...base, { id: d }]);
    const m2 = forge.merge('add-d');
    // Both checkouts are made when their merge lands, before the other's pipeline ran.
    const [ci1, ci2] = [forge.checkout(m1), forge.checkout(m2)];

    expectOk(await run(ci2));
    const deployed = head(manifests);
    const late = await run(ci1);
    expectOk(late);
    expect(late.stderr).toMatch(/already holds a deploy of newer inputs/);
    expect(head(manifests)).toBe(deployed);
    expect(hasSiteFiles(manifests, d)).toBe(true);
    expect(await awsSide(aws, fleet, d)).toMatchObject({ registry: 'ready', dbSecret: 'present', database: true, user: true });
    expect(await awsSide(aws, fleet, c)).toMatchObject({ registry: 'ready', database: true });
    expect(gitSync(manifests, 'log', '-1', '--format=%(trailers:key=Aviary-Source,valueonly)', 'main')).toBe(m2);
  }, 180_000);

  it('a re-run of an old build (a checkout of an older commit) changes nothing', async () => {
    const { base, forge, manifests, run } = await deployedFleet(fleet);
    const old = forge.main;
    const e = uniq('e-');
    forge.pullRequest('add-e', [...base, { id: e }]);
    expectOk(await run(forge.checkout(forge.merge('add-e'))));
    const deployed = head(manifests);

    const rerun = await run(forge.checkout(old));
    expectOk(rerun);
    expect(head(manifests)).toBe(deployed);
    expect(hasSiteFiles(manifests, e)).toBe(true);
    expect(await awsSide(aws, fleet, e)).toMatchObject({ registry: 'ready', database: true, user: true });
  }, 180_000);

  it('a pipeline for a feature branch commit is refused (exit 1): main’s deploy and sites stay', async () => {
    const { base, forge, manifests, run } = await deployedFleet(fleet);
    const f = uniq('f-');
    // The branch drops the second site and adds its own: deployed as is, it would tear the second site down.
    const branch = forge.pullRequest('feature', [base[0]!, { id: f }]);
    const g = uniq('g-');
    forge.pullRequest('add-g', [...base, { id: g }]);
    expectOk(await run(forge.checkout(forge.merge('add-g'))));
    const deployed = head(manifests);

    const r = await run(forge.checkout(branch));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/neither contains the other/);
    expect(head(manifests)).toBe(deployed);
    expect(hasSiteFiles(manifests, base[1]!.id)).toBe(true);
    expect(await awsSide(aws, fleet, base[1]!.id)).toMatchObject({ registry: 'ready', database: true });
    expect((await awsSide(aws, fleet, f)).registry).toBeUndefined();
  }, 180_000);

  it('aviary publish from a stale checkout is superseded; with uncommitted edits it is refused', async () => {
    const { base, forge, manifests } = await deployedFleet(fleet);
    const stale = forge.checkout(forge.main);
    const h = uniq('h-');
    forge.pullRequest('add-h', [...base, { id: h }]);
    const fresh = forge.checkout(forge.merge('add-h'));
    expect((await runCli(['publish', '--repo', manifests], { cwd: fresh, env: {} })).code).toBe(0);
    const deployed = head(manifests);

    const r = await runCli(['publish', '--repo', manifests], { cwd: stale, env: {} });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/already holds a deploy of newer inputs/);
    expect(head(manifests)).toBe(deployed);

    // An uncommitted edit would be published under a source trailer naming a commit that does not hold it.
    writeFileSync(join(fresh, 'sites.yaml'), sitesYaml([base[0]!, { id: h }]));
    const dirty = await runCli(['publish', '--repo', manifests], { cwd: fresh, env: {} });
    expect(dirty.code).toBe(1);
    expect(dirty.stderr).toMatch(/sites\.yaml differs from commit [0-9a-f]{12} \(uncommitted edits\?\).*--allow-dirty/s);
    expect(head(manifests)).toBe(deployed);
    const pipeline = await runStep(fresh, droneEnv('pipeline', fleet, { manifests_repo: manifests }));
    expect(pipeline.code).toBe(1);
    expect(hasSiteFiles(manifests, h)).toBe(true);

    // --allow-dirty publishes the edit without naming a commit, and the pipeline under it tears nothing down.
    const allowed = await runCli(['pipeline', '--manifests-repo', manifests, '--allow-dirty', '--teardown-grace', '0'], { cwd: fresh, env: cliEnv(fleet) });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toMatch(/--allow-dirty: the inputs are not a commit of the config repo/);
    expect(gitSync(manifests, 'log', '-1', '--format=%B', 'main')).not.toContain('Aviary-Source');
    expect(hasSiteFiles(manifests, base[1]!.id)).toBe(false);
    expect(await awsSide(aws, fleet, base[1]!.id)).toMatchObject({ registry: 'ready', dbSecret: 'present', database: true, user: true });
  }, 180_000);

  it('inputs outside the repository whose HEAD would be recorded are refused', async () => {
    const { forge, manifests } = await deployedFleet(fleet);
    const other = tempDir('aviary-e2e-other-');
    gitSync(other, 'init', '-q', '--initial-branch=main');
    gitSync(other, 'commit', '-q', '--allow-empty', '-m', 'unrelated');
    const inputs = forge.checkout(forge.main);
    const r = await runCli(['publish', '--repo', manifests, '--sites', join(inputs, 'sites.yaml'), '--canary', join(inputs, 'canary.yaml')], { cwd: other, env: {} });
    // Both files are in the config checkout: its HEAD is recorded, not the cwd's.
    expect(r.code, r.stderr).toBe(0);
    const split = await runCli(['publish', '--repo', manifests, '--sites', join(inputs, 'sites.yaml'), '--canary', join(forge.dev, 'canary.yaml')], { cwd: other, env: {} });
    expect(split.code).toBe(1);
    expect(split.stderr).toMatch(/not in the git repository of/);
  }, 180_000);
});
