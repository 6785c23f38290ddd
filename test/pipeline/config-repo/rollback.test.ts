// Rolling back is a forward commit: the revert property over generated
// histories, and rollback / deploy / history end to end through the CLI.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RefusedError } from '../../../src/pipeline/shared/errors.js';
import { revertInputCommit } from '../../../src/pipeline/config-repo/rollback.js';
import { runCli } from '../../support/cli.js';
import { canaryYaml, scratchDir, sitesYaml, type SiteSpec } from '../../support/fixtures.js';
import { bareRepo, commitInputs, configRepo, git, treeAt } from '../../support/git.js';
import { asMap, parseManifests, render, shardFile } from '../../support/manifests.js';

const root = scratchDir('aviary-rollback-');

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Op = 'service' | 'theme' | 'ingress' | 'remove' | 'add';

/** Commits of single-site edits, each site touched by one commit only; at most one site added. */
async function generatedHistory(dir: string, seed: number) {
  const random = prng(seed);
  let sites: SiteSpec[] = Array.from({ length: 8 }, (_, i) => ({ id: `site-${i}`, service: i % 2 ? 'green' : 'blue' }));
  await configRepo(dir, sitesYaml(sites));
  const states = [render(sitesYaml(sites), canaryYaml())];
  const commits: { sha: string; site: string }[] = [];
  const untouched = sites.map((s) => s.id);
  let added = false;
  for (let step = 0; step < 6; step++) {
    const ops: Op[] = ['service', 'theme', 'ingress', 'remove', ...(added ? [] : (['add'] as Op[]))];
    const op = ops[Math.floor(random() * ops.length)]!;
    let site: string;
    if (op === 'add') {
      site = `new-${seed}`;
      sites = [...sites, { id: site, theme: 'kadence' }];
      added = true;
    } else {
      site = untouched.splice(Math.floor(random() * untouched.length), 1)[0]!;
      const other = (c?: string) => (c === 'green' ? 'blue' : 'green');
      sites = op === 'remove'
        ? sites.filter((s) => s.id !== site)
        : sites.map((s) => s.id !== site ? s
          : op === 'service' ? { ...s, service: other(s.service) }
          : op === 'theme' ? { ...s, theme: 'generatepress' }
          : { ...s, ingress: other(s.service) });
    }
    commits.push({ sha: await commitInputs(dir, `${op} ${site}`, sitesYaml(sites)), site });
    states.push(render(sitesYaml(sites), canaryYaml()));
  }
  return { commits, states };
}

/** A shard's host-map entries and secret references that belong to `id` (mine) or to the other sites. */
function shardEntries(content: string | undefined, id: string, mine: boolean): unknown[] {
  if (content === undefined) return [];
  const [hosts, secrets] = parseManifests(content);
  const ofSite = (siteId: string) => (siteId === id) === mine;
  return [
    ...Object.entries(hosts!.data as Record<string, string>).filter(([, entry]) => ofSite((JSON.parse(entry) as { id: string }).id)),
    ...(secrets!.spec.data as { secretKey: string }[]).filter((d) => ofSite(d.secretKey.replace(/\.(db|keys)$/, ''))),
  ];
}

describe('the revert property', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: reverting any one input commit gives back that site's exact manifests and leaves every other file as it is`, { timeout: 120_000 }, async () => {
      const dir = join(root, `property-${seed}`);
      const { commits, states } = await generatedHistory(dir, seed);
      const tip = asMap(states.at(-1)!);
      const tipSha = (await git(dir, 'rev-parse', 'HEAD')).trim();
      for (const [i, { sha, site }] of commits.entries()) {
        const result = await revertInputCommit({ dir, files: ['sites.yaml', 'canary.yaml'] }, sha);
        expect(result.commit).toBeDefined();
        const reverted = asMap(render(readFileSync(join(dir, 'sites.yaml'), 'utf8'), readFileSync(join(dir, 'canary.yaml'), 'utf8')));
        const before = asMap(states[i]!);
        const own = `sites/${site}/${site}.yaml`;
        const shard = shardFile(site);
        expect(reverted.get(own), `${own} after reverting ${sha.slice(0, 7)}`).toBe(before.get(own));
        // Its shard of the web tier: its own entries as before, every other site's as at the tip.
        expect(shardEntries(reverted.get(shard), site, true), shard).toEqual(shardEntries(before.get(shard), site, true));
        expect(shardEntries(reverted.get(shard), site, false), shard).toEqual(shardEntries(tip.get(shard), site, false));
        for (const path of new Set([...tip.keys(), ...reverted.keys()])) {
          if (path !== own && path !== shard) expect(reverted.get(path), path).toBe(tip.get(path));
        }
        // The last commit reverted gives back the whole previous state.
        if (i === commits.length - 1) expect(reverted).toEqual(before);
        await git(dir, 'reset', '-q', '--hard', tipSha);
      }
    });
  }

  it('refuses a revert that conflicts with a later commit, and leaves the repo as it was', { timeout: 60_000 }, async () => {
    const dir = join(root, 'conflict');
    await configRepo(dir, sitesYaml([{ id: 'alpha' }]));
    const c1 = await commitInputs(dir, 'alpha green', sitesYaml([{ id: 'alpha', service: 'green' }]));
    await commitInputs(dir, 'alpha blue again, kadence', sitesYaml([{ id: 'alpha', service: 'blue', theme: 'kadence' }]));
    const head = (await git(dir, 'rev-parse', 'HEAD')).trim();
    const error = await revertInputCommit({ dir, files: ['sites.yaml', 'canary.yaml'] }, c1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedError);
    expect((error as Error).message).toMatch(/cannot revert [0-9a-f]{12} cleanly.*aviary deploy COMMIT/s);
    expect((await git(dir, 'rev-parse', 'HEAD')).trim()).toBe(head);
    expect((await git(dir, 'status', '--porcelain')).trim()).toBe('');
  });
});

describe('aviary rollback, deploy and history', () => {
  it('publishes a revert of the last input commit, of a named one, and an earlier state, each byte-identical to what ran then', { timeout: 240_000 }, async () => {
    const remote = await bareRepo(join(root, 'e2e', 'manifests.git'));
    const dir = await configRepo(join(root, 'e2e', 'config'), sitesYaml([{ id: 'alpha' }, { id: 'bravo' }]));
    const publish = async (...args: string[]) => {
      const r = await runCli(dir, [...args, '--repo', remote]);
      expect(r.code, r.stderr).toBe(0);
      return { ...r, tree: await treeAt(remote, 'main'), head: (await git(remote, 'rev-parse', 'main')).trim() };
    };
    const c0 = (await git(dir, 'rev-parse', 'HEAD')).trim();
    const p0 = await publish('publish');
    const c1 = await commitInputs(dir, 'upgrade bravo', sitesYaml([{ id: 'alpha' }, { id: 'bravo', service: 'green' }]));
    const p1 = await publish('publish');
    const c2 = await commitInputs(dir, 'add delta', sitesYaml([{ id: 'alpha' }, { id: 'bravo', service: 'green' }, { id: 'delta' }]));
    const p2 = await publish('publish');

    const back = await publish('rollback');
    expect(back.stderr).toContain(`Reverted ${c2.slice(0, 12)}`);
    expect(back.tree).toEqual(p1.tree);
    expect((await git(dir, 'log', '-1', '--format=%s')).trim()).toBe('Revert "add delta"');

    const further = await publish('rollback', c1);
    expect(further.tree).toEqual(p0.tree);

    const again = await publish('deploy', c2);
    expect(again.tree).toEqual(p2.tree);
    expect((await git(dir, 'log', '-1', '--format=%s')).trim()).toBe(`Deploy the inputs of ${c2.slice(0, 12)} ("add delta")`);
    const same = await publish('deploy', c2);
    expect(same.stdout).toContain('Nothing to publish');
    expect(same.head).toBe(again.head);

    const h = await runCli(dir, ['history', '--repo', remote, '--json']);
    expect(h.code, h.stderr).toBe(0);
    const deployments = JSON.parse(h.stdout) as { commit: string; source: string; author: string; sites: string[]; images: Record<string, string>; selector: string }[];
    expect(deployments).toHaveLength(6);
    expect(deployments[0]!.commit).toBe(again.head);
    expect(deployments[0]!.source).toBe((await git(dir, 'rev-parse', 'HEAD')).trim());
    expect(deployments.at(-1)!.source).toBe(c0);
    expect(deployments.at(-3)!).toMatchObject({ source: c2, sites: ['delta'], author: 'Ann Operator <ann@example.com>', selector: 'green' });
    expect(deployments.at(-3)!.images.green).toMatch(/@sha256:216c0204/);
    expect(deployments.at(-3)!.images.blue).toMatch(/@sha256:1274e8bc/);
    const text = await runCli(dir, ['history', '--repo', remote, '-n', '4']);
    expect(text.stdout.match(/^[0-9a-f]{12} {2}/gm)).toHaveLength(4);
    expect(text.stdout).toContain(`input ${c2.slice(0, 12)}`);
  });
});

describe('a revert on a CI runner without a git identity', () => {
  it("commits with Aviary's identity instead of failing", async () => {
    const dir = join(root, 'no-identity');
    configRepo(dir, sitesYaml([{ id: 'alpha' }]));
    await commitInputs(dir, 'add bravo', sitesYaml([{ id: 'alpha' }, { id: 'bravo' }]));
    await git(dir, 'config', '--unset', 'user.name');
    await git(dir, 'config', '--unset', 'user.email');
    // What a fresh runner has: an empty home, no system config.
    const home = join(root, 'empty-home');
    mkdirSync(home, { recursive: true });
    const manifests = bareRepo(join(root, 'no-identity-manifests.git'));
    const r = await runCli(dir, ['rollback', '--repo', manifests, '--no-push-config'], { HOME: home, GIT_CONFIG_NOSYSTEM: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect((await git(dir, 'log', '-1', '--format=%an <%ae>|%s')).trim()).toBe('Aviary <aviary@localhost>|Revert "add bravo"');
    expect(readFileSync(join(dir, 'sites.yaml'), 'utf8')).toBe(sitesYaml([{ id: 'alpha' }]));
  });
});
