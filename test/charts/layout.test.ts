// How sites map to Argo CD Applications: one per site (the default) or
// grouped into `argocd.shards` Applications by a stable hash of the id. Read
// back from the synthesized files and the generated ApplicationSet, as the
// git directory generator would see them.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { renderShared } from '../../src/charts/render.js';
import { diffFiles } from '../../src/pipeline/git/sync.js';
import { formatPlan, planOf } from '../../src/pipeline/publish/plan.js';
import { layoutWarnings } from '../../src/sites/capacity.js';
import { applicationOfFile, siteOfFile } from '../../src/sites/names.js';
import { InvalidInputError } from '../../src/sites/problems.js';
import type { Fleet } from '../../src/sites/types.js';
import { buildFleet, canaryDoc, siteEntry } from '../support/fixtures.js';
import { changedPaths, distOf, only, parseManifests } from '../support/manifests.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `site-${String(i).padStart(5, '0')}`);
const fleetOf = (n: number, argocd: Record<string, unknown> = {}, web: Record<string, unknown> = {}) =>
  buildFleet(ids(n).map((id) => siteEntry(id)), canaryDoc({ argocd, web }));

/** The shard a site belongs to, computed here from the documented rule: sha256 of the id, first 4 bytes, modulo N. */
const expectedShard = (id: string, shards: number) => createHash('sha256').update(id).digest().readUInt32BE(0) % shards;

function applicationSet(fleet: Fleet) {
  return only(parseManifests(renderShared(fleet).find((f) => f.path === 'argocd/sites.yaml')!.content), 'ApplicationSet');
}

/** The Application names the git directory generator makes for a dist/, by the ApplicationSet's own pattern and template. */
function applications(fleet: Fleet): Map<string, string[]> {
  const set = applicationSet(fleet);
  const pattern = new RegExp(`^${set.spec.generators[0].git.directories[0].path.replace('*', '([^/]+)')}/[^/]+\\.yaml$`);
  const apps = new Map<string, string[]>();
  for (const path of distOf(fleet).keys()) {
    const folder = pattern.exec(path)?.[1];
    if (!folder) continue;
    const name = set.spec.template.metadata.name.replace('{{path.basename}}', folder);
    apps.set(name, [...(apps.get(name) ?? []), path]);
  }
  return apps;
}

describe('layout: one Application per site (default)', () => {
  it('puts each site in sites/<id>/<id>.yaml, an Application site-<id> of its own', () => {
    const fleet = fleetOf(5);
    const apps = applications(fleet);
    expect([...apps.keys()].sort()).toEqual(ids(5).map((id) => `site-${id}`));
    for (const id of ids(5)) expect(apps.get(`site-${id}`)).toEqual([`sites/${id}/${id}.yaml`]);
  });
});

describe('layout: argocd.shards', () => {
  const fleet = fleetOf(200, { shards: 8 });

  it('puts each site in sites/<NN>/<id>.yaml by a stable hash of its id; each folder is one Application sites-<NN>', () => {
    const apps = applications(fleet);
    expect(apps.size).toBe(8);
    const seen = new Set<string>();
    for (const [name, files] of apps) {
      expect(name).toMatch(/^sites-[0-7]$/);
      for (const file of files) {
        const id = siteOfFile(file)!;
        expect(file).toBe(`sites/${expectedShard(id, 8)}/${id}.yaml`);
        expect(applicationOfFile(file)).toBe(name);
        seen.add(id);
      }
    }
    expect([...seen].sort()).toEqual(ids(200));
  });

  it('labels the shard Applications by shard, with the same sync policy and Job rules as per-site ones', () => {
    const sharded = applicationSet(fleet).spec.template;
    const perSite = applicationSet(fleetOf(1)).spec.template;
    expect(sharded.metadata.name).toBe('sites-{{path.basename}}');
    expect(sharded.metadata.labels['aviary.io/shard']).toBe('{{path.basename}}');
    expect(sharded.metadata.labels).not.toHaveProperty('aviary.io/site');
    expect(sharded.spec).toEqual(perSite.spec);
  });

  it('zero-pads the shard folders so they sort, and a site keeps its shard when other sites come and go', () => {
    const wide = applications(fleetOf(300, { shards: 16 }));
    expect([...wide.keys()].every((name) => /^sites-\d\d$/.test(name))).toBe(true);
    const all = distOf(fleetOf(300, { shards: 16 }));
    const fewer = [...distOf(fleetOf(150, { shards: 16 })).keys()].filter((path) => path.startsWith('sites/'));
    expect(fewer).toHaveLength(150);
    for (const path of fewer) expect(all.has(path)).toBe(true);
  });

  it('a one-site change rewrites only that site file, wherever its shard', () => {
    const before = distOf(fleet);
    const changed = buildFleet(
      ids(200).map((id) => siteEntry(id, id === 'site-00042' ? { theme: 'kadence' } : {})),
      canaryDoc({ argocd: { shards: 8 } }),
    );
    expect(changedPaths(before, distOf(changed))).toEqual([`sites/${expectedShard('site-00042', 8)}/site-00042.yaml`]);
  });

  it('the plan of a change of argocd.shards names, per site, the Application it moves to; objects and Jobs stay', () => {
    const from = [...distOf(fleetOf(40, { shards: 2 }))].map(([path, content]) => ({ path, content }));
    const to = [...distOf(fleetOf(40, { shards: 4 }))].map(([path, content]) => ({ path, content }));
    const plan = planOf(diffFiles(from, to));
    const moving = ids(40).filter((id) => expectedShard(id, 2) !== expectedShard(id, 4));
    expect(moving.length).toBeGreaterThan(0);
    expect(plan.sites.map((s) => s.id)).toEqual(moving);
    for (const site of plan.sites) {
      expect(site.application).toEqual({ from: `sites-${expectedShard(site.id, 2)}`, to: `sites-${expectedShard(site.id, 4)}` });
      expect(site.objects).toEqual([]);
      expect(site.jobs).toEqual([]);
    }
    expect(formatPlan(plan, 'text')).toContain(`site ${moving[0]}:\n    deployed by Application sites-${expectedShard(moving[0]!, 4)} (was sites-${expectedShard(moving[0]!, 2)})`);
    expect(plan.teardown).toEqual([]);
  });

  it('from one Application per site to shards: every site moves, none is torn down', () => {
    const from = [...distOf(fleetOf(10))].map(([path, content]) => ({ path, content }));
    const to = [...distOf(fleetOf(10, { shards: 2 }))].map(([path, content]) => ({ path, content }));
    const plan = planOf(diffFiles(from, to));
    expect(plan.sites.map((s) => s.application?.from)).toEqual(ids(10).map((id) => `site-${id}`));
    expect(plan.teardown).toEqual([]);
  });
});

describe('layout: validation', () => {
  it('refuses shards that would put more than 300 sites in one Application, naming the value to set', () => {
    try {
      fleetOf(700, { shards: 2 }, { shards: 8 });
      expect.unreachable('a crowded Application must be refused');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      const [problem] = (error as InvalidInputError).problems;
      expect(problem!.path).toBe('argocd.shards');
      expect(problem!.message).toMatch(/^argocd\.shards 2 puts \d+ sites in one Application, more than 300/);
      const suggested = Number(/set argocd\.shards to (\d+)/.exec(problem!.hint ?? '')?.[1]);
      // The value it names is really enough.
      expect(() => fleetOf(700, { shards: suggested }, { shards: 8 })).not.toThrow();
    }
  });

  it('warns, without refusing, when one Application per site outgrows Argo CD, and suggests shards that hold the fleet', () => {
    expect(layoutWarnings(fleetOf(1000, {}, { shards: 8 }))).toEqual([]);
    const [warning] = layoutWarnings(fleetOf(1001, {}, { shards: 8 }));
    expect(warning).toMatch(/^1001 sites make 1001 Argo CD Applications, one per site/);
    const shards = Number(/argocd\.shards: (\d+)/.exec(warning!)?.[1]);
    expect(() => fleetOf(1001, { shards }, { shards: 8 })).not.toThrow();
    expect(layoutWarnings(fleetOf(1001, { shards }, { shards: 8 }))).toEqual([]);
  });

  it.each([[0], [1001], [2.5], ['8']])('refuses argocd.shards: %j', (value) => {
    expect(() => fleetOf(1, { shards: value })).toThrow(InvalidInputError);
  });
});
