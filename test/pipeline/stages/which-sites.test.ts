import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutsideSystemError, RefusedError } from '../../../src/pipeline/shared/errors.js';
import { declaredSites, hookPlan, lastDeployedSites, sitesAt, undeclaredIds } from '../../../src/pipeline/stages/which-sites.js';
import { lastDeployedSource } from '../../../src/pipeline/publish/last-deploy.js';
import type { Fleet } from '../../../src/sites/types.js';
import { canaryYaml, site, sitesYaml } from '../../support/fixtures.js';
import { commitFiles, initRepo, manifestsRepo } from '../../support/git.js';

const fleet = (...ids: string[]) => ({ sites: ids.map((id) => site(id)), canary: {} }) as unknown as Fleet;

describe('hookPlan', () => {
  it('provisions new sites and tears down removed ones', () => {
    const plan = hookPlan([site('a'), site('b')], fleet('b', 'c'));
    expect(plan.provision.map((s) => s.id)).toEqual(['c']);
    expect(plan.teardown).toEqual(['a']);
  });

  it('with no previous deploy, every declared site is new and none is removed', () => {
    const plan = hookPlan(undefined, fleet('a', 'b'));
    expect(plan.provision.map((s) => s.id)).toEqual(['a', 'b']);
    expect(plan.teardown).toEqual([]);
  });

  it('an edited site is neither new nor removed', () => {
    expect(hookPlan([site('a', { theme: 'old' })], fleet('a'))).toEqual({ provision: [], teardown: [] });
  });
});

describe('explicit ids', () => {
  it('provisions only declared sites and names the others', () => {
    expect(declaredSites(['b'], fleet('a', 'b'), 'sites.yaml').map((s) => s.id)).toEqual(['b']);
    expect(() => declaredSites(['b', 'x', 'y'], fleet('a', 'b'), 'sites.yaml')).toThrow(new RefusedError('not declared in sites.yaml: x, y; add the site(s) to sites.yaml before provisioning'));
  });

  it('tears down only sites no longer declared and names the declared ones', () => {
    expect(undeclaredIds(['x', 'x'], fleet('a'), 'sites.yaml')).toEqual(['x']);
    expect(() => undeclaredIds(['a', 'x'], fleet('a'), 'sites.yaml')).toThrow(/still declared in sites.yaml: a;/);
  });
});

describe('the last deploy', () => {
  it('reads sites.yaml at the commit named by the newest Aviary-Source trailer, skipping commits without one', async () => {
    const config = initRepo();
    const first = commitFiles(config, { 'sites.yaml': sitesYaml([{ id: 'one' }]), 'canary.yaml': canaryYaml() });
    const second = commitFiles(config, { 'sites.yaml': sitesYaml([{ id: 'one' }, { id: 'two' }]) });
    commitFiles(config, { 'sites.yaml': sitesYaml([{ id: 'three' }]) }); // not yet deployed
    const manifests = manifestsRepo();
    expect(await lastDeployedSource(manifests.bare, 'main')).toBeUndefined(); // nothing published yet

    manifests.publish(first);
    manifests.publish(second);
    manifests.publish(undefined); // someone's hand-made commit on top
    manifests.publish(first, 'other');
    expect(await lastDeployedSource(manifests.bare, 'main')).toBe(second);
    expect(await lastDeployedSource(manifests.bare, 'other')).toBe(first);
    expect(await lastDeployedSource(manifests.bare, 'missing')).toBeUndefined();

    const sites = await lastDeployedSites({
      manifestsRepo: manifests.bare,
      sitesPath: join(config, 'sites.yaml'),
      canaryPath: join(config, 'canary.yaml'),
    });
    expect(sites?.map((s) => s.id)).toEqual(['one', 'two']);
  });

  it('a config commit missing from the repository is an outside failure that says how to fix it', async () => {
    const config = initRepo();
    commitFiles(config, { 'sites.yaml': sitesYaml([]), 'canary.yaml': canaryYaml() });
    const err = await sitesAt('0123456789abcdef0123456789abcdef01234567', join(config, 'sites.yaml'), join(config, 'canary.yaml')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutsideSystemError);
    expect((err as Error).message).toMatch(/not in the config repository .*fetch its full history/);
  });

  it('an unreachable manifests repository is an outside failure without the credentials of its URL', async () => {
    const err = await lastDeployedSource('http://bot:s3cr3t-token@127.0.0.1:9/manifests.git', 'main').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutsideSystemError);
    expect((err as Error).message).toContain('read branch main of the manifests repository http://bot:***@127.0.0.1:9/manifests.git');
    expect((err as Error).message).not.toContain('s3cr3t-token');
  });

  it('reads the files from a sub-folder of the config repository', async () => {
    const config = initRepo();
    const sub = join(config, 'fleet');
    mkdirSync(sub);
    writeFileSync(join(sub, 'sites.yaml'), sitesYaml([{ id: 'deep' }]));
    writeFileSync(join(sub, 'canary.yaml'), canaryYaml());
    const sha = commitFiles(config, {});
    expect((await sitesAt(sha, join(sub, 'sites.yaml'), join(sub, 'canary.yaml'))).map((s) => s.id)).toEqual(['deep']);
  });
});
