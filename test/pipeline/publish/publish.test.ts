// publish() against real bare repositories on disk: what lands, what does
// not, and what happens when another publisher moves the branch mid-publish.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RefusedError } from '../../../src/pipeline/shared/errors.js';
import { publish, type PublishOptions } from '../../../src/pipeline/publish/publish.js';
import { formatPlan } from '../../../src/pipeline/publish/plan.js';
import type { ManifestFile } from '../../../src/charts/render.js';
import { canaryYaml, fleetOf, sitesYaml, swap, tempDir } from '../../support/fixtures.js';
import { bareRepo, commitInputs, configRepo, git, GIT_ENV, treeAt } from '../../support/git.js';
import { asMap, render, shardFile } from '../../support/manifests.js';

const dirs: string[] = [];
const temp = () => {
  const d = tempDir();
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const FAST = { retries: 6, minTimeoutMs: 10, maxTimeoutMs: 50 };
const three = [{ id: 'alpha' }, { id: 'bravo', service: 'green' as const }, { id: 'charlie' }];

async function setup() {
  const root = temp();
  const remote = await bareRepo(join(root, 'manifests.git'));
  const opts = (extra: Partial<PublishOptions> = {}): PublishOptions => ({ repo: remote, workRoot: join(root, 'work'), retry: FAST, ...extra });
  return { root, remote, opts };
}

const head = async (remote: string) => (await git(remote, 'rev-parse', 'main')).trim();

describe('publish (push mode, bare repo on disk)', () => {
  it('creates the branch, then makes no commit when nothing changed', async () => {
    const { remote, opts } = await setup();
    const files = render(sitesYaml(three), canaryYaml());
    const first = await publish(files, opts({ source: 'a'.repeat(40) }));
    expect(first.status).toBe('pushed');
    expect(await treeAt(remote, 'main')).toEqual(asMap(files));
    expect(await git(remote, 'log', '-1', '--format=%B', 'main')).toContain(`Aviary-Source: ${'a'.repeat(40)}`);

    const before = await head(remote);
    const again = await publish(files, opts({ source: 'b'.repeat(40) }));
    expect(again.status).toBe('unchanged');
    expect(await head(remote)).toBe(before);
  });

  it('commits exactly the files of the changed site, deletes removed sites, and says so in the message', async () => {
    const { remote, opts } = await setup();
    await publish(render(sitesYaml(three), canaryYaml()), opts());
    const next = render(sitesYaml([{ id: 'alpha', service: 'green', ingress: 'green' }, { id: 'bravo', service: 'green' }, { id: 'delta' }]), canaryYaml());
    const result = await publish(next, opts({ source: 'c'.repeat(40) }));
    expect(result.status).toBe('pushed');
    const changed = (await git(remote, 'show', '--no-renames', '--name-status', '--format=', 'main')).trim().split('\n').sort();
    expect(changed.filter((c) => c.includes('sites/'))).toEqual(['A\tsites/delta/delta.yaml', 'D\tsites/charlie/charlie.yaml', 'M\tsites/alpha/alpha.yaml']);
    // And the web-tier shards of the added and the removed site; a promotion leaves its shard alone (no color in it).
    expect(changed.filter((c) => !c.includes('sites/')).map((c) => c.split('\t')[1])).toEqual([...new Set(['charlie', 'delta'].map((id) => shardFile(id)))].sort());
    expect(await treeAt(remote, 'main')).toEqual(asMap(next));
    const message = await git(remote, 'log', '-1', '--format=%B', 'main');
    expect(message.split('\n')[0]).toBe('Aviary: add site delta; remove site charlie; promote site alpha to green');
    expect(message).toMatch(/site charlie \(torn down\)/);
    expect(message.trimEnd().split('\n').slice(-2)).toEqual([`Aviary-Source: ${'c'.repeat(40)}`, 'Aviary-Path: .']);
  });

  it('keeps --path in step with dist/ and leaves the rest of the repo (and dot files) alone', async () => {
    const { root, remote, opts } = await setup();
    const seed = join(root, 'seed');
    await git(root, 'clone', '-q', remote, seed);
    writeFileSync(join(seed, 'README.md'), 'manifests\n');
    await git(seed, 'add', '.');
    await git(seed, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '-m', 'readme');
    await git(seed, 'push', '-q', 'origin', 'HEAD:main');

    await publish(render(sitesYaml(three), canaryYaml()), opts({ path: 'clusters/stg' }));
    const tree = await treeAt(remote, 'main');
    expect(tree.get('README.md')).toBe('manifests\n');
    expect([...tree.keys()].filter((p) => p.startsWith('clusters/stg/sites/'))).toHaveLength(3);
    await publish(render(sitesYaml(three.slice(0, 1)), canaryYaml()), opts({ path: 'clusters/stg' }));
    const after = await treeAt(remote, 'main');
    expect([...after.keys()].filter((p) => p.startsWith('clusters/stg/sites/'))).toEqual(['clusters/stg/sites/alpha/alpha.yaml']);
    expect(after.get('README.md')).toBe('manifests\n');
  });

  it('with --path . owns only the files it wrote: a README and another app are left alone and listed as not managed', async () => {
    const { root, remote, opts } = await setup();
    const seed = join(root, 'seed');
    await git(root, 'clone', '-q', remote, seed);
    mkdirSync(join(seed, 'other-app'));
    writeFileSync(join(seed, 'README.md'), 'manifests\n');
    writeFileSync(join(seed, 'other-app/deployment.yaml'), 'kind: Deployment\n');
    writeFileSync(join(seed, 'other-app/service.yaml'), 'kind: Service\n');
    await git(seed, 'add', '.');
    await git(seed, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '-m', 'theirs');
    await git(seed, 'push', '-q', 'origin', 'HEAD:main');
    const theirs = ['README.md', 'other-app/deployment.yaml', 'other-app/service.yaml'];

    const first = await publish(render(sitesYaml(three), canaryYaml()), opts({ path: '.' }));
    expect(first.plan.unmanaged).toEqual(theirs);
    expect(formatPlan(first.plan, 'text')).toContain('not managed by Aviary, left as they are: README.md, other-app/ (2 files)');
    const second = await publish(render(sitesYaml(three.slice(0, 1)), canaryYaml()), opts({ path: '.' }));
    expect(second.plan.teardown).toEqual(['bravo', 'charlie']);
    expect(second.plan.files.removed).toBeGreaterThanOrEqual(2);
    const tree = await treeAt(remote, 'main');
    for (const path of theirs) expect(tree.has(path)).toBe(true);
    expect(tree.get('other-app/service.yaml')).toBe('kind: Service\n');
  });

  it('refuses to overwrite a file it did not write where its own would go; the remote is untouched', async () => {
    const { root, remote, opts } = await setup();
    const seed = join(root, 'seed');
    await git(root, 'clone', '-q', remote, seed);
    mkdirSync(join(seed, 'argocd'));
    writeFileSync(join(seed, 'argocd/project.yaml'), 'kind: AppProject # hand-written\n');
    await git(seed, 'add', '.');
    await git(seed, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '-m', 'theirs');
    await git(seed, 'push', '-q', 'origin', 'HEAD:main');
    const before = await head(remote);
    const error = await publish(render(sitesYaml(three), canaryYaml()), opts()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedError);
    expect(String(error)).toMatch(/argocd\/project\.yaml in the manifests repository was not written by Aviary.*another --path/);
    expect(await head(remote)).toBe(before);
  });

  it('its work root ignores itself: `git add -A` in the config repo afterwards stages nothing of it', async () => {
    const { root, opts } = await setup();
    const config = join(root, 'config');
    await git(root, 'init', '-q', config);
    await publish(render(sitesYaml(three), canaryYaml()), opts({ workRoot: join(config, '.aviary/manifests') }));
    await git(config, 'add', '-A');
    expect((await git(config, 'status', '--porcelain', '--untracked-files=all')).trim()).toBe('');
    expect(readdirSync(join(config, '.aviary/manifests')).filter((name) => !name.startsWith('.'))).toHaveLength(1);
  });

  it('reuses its work dir: a second publish only rewrites files whose bytes differ', async () => {
    const { root, opts } = await setup();
    const files = render(sitesYaml(three), canaryYaml());
    await publish(files, opts());
    const workDir = join(root, 'work');
    const [dir] = readdirSync(workDir).filter((name) => !name.startsWith('.'));
    const alpha = join(workDir, dir!, 'sites/alpha/alpha.yaml');
    const bravo = join(workDir, dir!, 'sites/bravo/bravo.yaml');
    const { mtimeMs: alphaBefore } = statSync(alpha);
    const { mtimeMs: bravoBefore } = statSync(bravo);
    await new Promise((r) => setTimeout(r, 20));
    await publish(render(sitesYaml([three[0]!, { id: 'bravo', theme: 'kadence', service: 'green' }, three[2]!]), canaryYaml()), opts());
    expect(statSync(alpha).mtimeMs).toBe(alphaBefore);
    expect(statSync(bravo).mtimeMs).not.toBe(bravoBefore);
    expect(readFileSync(bravo, 'utf8')).toContain('kadence');
  });
});

/**
 * A rival publisher, prepared in a clone of its own: a commit making the
 * remote's tree equal `files`. `push()` is synchronous so that it can run
 * inside our render step, which comes after our fetch: our push then loses
 * the race for certain, as against a real concurrent publisher.
 */
async function rival(root: string, remote: string, files: readonly ManifestFile[], source?: string) {
  const dir = join(root, `rival-${Math.random().toString(36).slice(2)}`);
  await git(root, 'clone', '-q', remote, dir);
  await git(dir, 'rm', '-q', '-r', '--ignore-unmatch', 'sites', 'services', 'argocd');
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.content);
  }
  await git(dir, 'add', '-A');
  await git(dir, '-c', 'user.name=Rival', '-c', 'user.email=rival@x', 'commit', '-q', '-m', `rival${source ? `\n\nAviary-Source: ${source}` : ''}`);
  return { push: () => execFileSync('git', ['push', '-q', 'origin', 'HEAD:main'], { cwd: dir, env: GIT_ENV, stdio: 'ignore' }) };
}

/** Our files, with the rival pushing while we render. */
const losingTo = (files: readonly ManifestFile[], push: () => void) => () => {
  push();
  return files;
};

describe('publish when another publisher lands first', () => {
  const base = sitesYaml(three);

  it('without an input commit to order by, a lost race is refused and the remote stays as the rival left it', async () => {
    const { root, remote, opts } = await setup();
    await publish(render(base, canaryYaml()), opts());
    const theirs = render(sitesYaml([...three, { id: 'delta' }]), canaryYaml());
    const ours = render(sitesYaml([three[0]!, three[1]!, { id: 'charlie', theme: 'kadence' }]), canaryYaml());
    const other = await rival(root, remote, theirs);
    const error = await publish(losingTo(ours, other.push), opts()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedError);
    expect((error as Error).message).toMatch(/another publish landed on main while this one was running.*Nothing was pushed/s);
    expect((await git(remote, 'log', '-1', '--format=%s', 'main')).trim()).toBe('rival');
    expect(await treeAt(remote, 'main')).toEqual(asMap(theirs));
  });

  it('rebuilds on the new head when the winner published older inputs, and stands down when it published newer ones', async () => {
    const { root, remote, opts } = await setup();
    const config = await configRepo(join(root, 'config'), base);
    const c0 = (await git(config, 'rev-parse', 'HEAD')).trim();
    await publish(render(base, canaryYaml()), opts({ source: c0, configDir: config }));
    // c1 changes charlie; c2 (a descendant) changes it again and adds delta.
    const s1 = sitesYaml([three[0]!, three[1]!, { id: 'charlie', theme: 'kadence' }]);
    const c1 = await commitInputs(config, 'charlie on kadence', s1);
    const s2 = sitesYaml([three[0]!, three[1]!, { id: 'charlie', theme: 'generatepress' }, { id: 'delta' }]);
    const c2 = await commitInputs(config, 'charlie on generatepress, add delta', s2);

    // The older inputs win the race: ours (newer) must replace their charlie, not conflict.
    const older = await rival(root, remote, render(s1, canaryYaml()), c1);
    const newer = await publish(losingTo(render(s2, canaryYaml()), older.push), opts({ source: c2, configDir: config }));
    expect(newer).toMatchObject({ status: 'pushed', attempts: 2 });
    expect(await treeAt(remote, 'main')).toEqual(asMap(render(s2, canaryYaml())));

    // A publish of c3 loses to a publish of c4, a descendant of c3: its inputs are out of date by then, it stands down.
    const s3 = sitesYaml([three[0]!, three[1]!, { id: 'charlie', theme: 'generatepress' }, { id: 'delta' }, { id: 'echo' }]);
    const c3 = await commitInputs(config, 'add echo', s3);
    const s4 = sitesYaml([three[0]!, three[1]!, { id: 'charlie', theme: 'generatepress' }, { id: 'delta' }, { id: 'echo' }, { id: 'foxtrot' }]);
    const c4 = await commitInputs(config, 'add foxtrot', s4);
    const newest = await rival(root, remote, render(s4, canaryYaml()), c4);
    const stale = await publish(losingTo(render(s3, canaryYaml()), newest.push), opts({ source: c3, configDir: config }));
    expect(stale).toMatchObject({ status: 'superseded', attempts: 2 });
    expect(await treeAt(remote, 'main')).toEqual(asMap(render(s4, canaryYaml())));
    expect((await git(remote, 'log', '-1', '--format=%s', 'main')).trim()).toBe('rival');
  });
});

describe('deploys only move forward (checked on every attempt, before anything is written)', () => {
  const base = sitesYaml(three);
  const withDelta = sitesYaml([...three, { id: 'delta' }]);

  it('a stale checkout (an ancestor of the deployed inputs) is superseded at once: nothing pushed', async () => {
    const { root, remote, opts } = await setup();
    const config = await configRepo(join(root, 'config'), base);
    const c0 = (await git(config, 'rev-parse', 'HEAD')).trim();
    const c1 = await commitInputs(config, 'add delta', withDelta);
    expect((await publish(render(withDelta, canaryYaml()), opts({ source: c1, configDir: config }))).status).toBe('pushed');
    const before = await head(remote);
    const stale = await publish(render(base, canaryYaml()), opts({ source: c0, configDir: config }));
    expect(stale).toMatchObject({ status: 'superseded', attempts: 1 });
    expect(await head(remote)).toBe(before);
    expect((await treeAt(remote, 'main')).has('sites/delta/delta.yaml')).toBe(true);
  });

  it('a diverged commit (a feature branch) is refused, naming both commits; the remote is untouched', async () => {
    const { root, remote, opts } = await setup();
    const config = await configRepo(join(root, 'config'), base);
    const c1 = await commitInputs(config, 'add delta', withDelta);
    await publish(render(withDelta, canaryYaml()), opts({ source: c1, configDir: config }));
    await git(config, 'checkout', '-q', '-b', 'feature', 'HEAD~1');
    const feature = await commitInputs(config, 'feature: add echo', sitesYaml([...three, { id: 'echo' }]));
    const before = await head(remote);
    const error = await publish(render(sitesYaml([...three, { id: 'echo' }]), canaryYaml()), opts({ source: feature, configDir: config })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedError);
    expect((error as Error).message).toContain(`last deployed from config commit ${c1.slice(0, 12)}, and neither contains the other`);
    expect((error as Error).message).toContain(feature.slice(0, 12));
    expect(await head(remote)).toBe(before);
  });

  it('a checkout that has not seen the deployed commit fetches it from the config remote before deciding', async () => {
    const { root, opts } = await setup();
    const origin = await bareRepo(join(root, 'config.git'));
    const dev = await configRepo(join(root, 'dev'), base);
    await git(dev, 'push', '-q', origin, 'HEAD:main');
    const ci = join(root, 'ci');
    await git(root, 'clone', '-q', '--depth=1', origin, ci);
    const old = (await git(ci, 'rev-parse', 'HEAD')).trim();
    const newer = await commitInputs(dev, 'add delta', withDelta);
    await git(dev, 'push', '-q', origin, 'HEAD:main');
    await publish(render(withDelta, canaryYaml()), opts({ source: newer, configDir: dev }));
    // The CI clone (shallow, made before `newer` existed) cannot see it until it fetches.
    expect((await git(ci, 'cat-file', '-t', newer).catch(() => 'missing')).trim()).toBe('missing');
    const result = await publish(render(base, canaryYaml()), opts({ source: old, configDir: ci }));
    expect(result.status).toBe('superseded');
    expect((await git(ci, 'cat-file', '-t', newer)).trim()).toBe('commit');
  });

  it('refuses when the deployed commit is nowhere to be found, even after fetching', async () => {
    const { root, remote, opts } = await setup();
    const elsewhere = await configRepo(join(root, 'elsewhere'), base);
    const foreign = await commitInputs(elsewhere, 'add delta', withDelta);
    await publish(render(withDelta, canaryYaml()), opts({ source: foreign, configDir: elsewhere }));
    const config = await configRepo(join(root, 'config'), base);
    const ours = (await git(config, 'rev-parse', 'HEAD')).trim();
    const error = await publish(render(base, canaryYaml()), opts({ source: ours, configDir: config })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedError);
    expect((error as Error).message).toMatch(new RegExp(`${foreign.slice(0, 12)}, which is not in the config repository even after fetching`));
    expect((await treeAt(remote, 'main')).has('sites/delta/delta.yaml')).toBe(true);
  });

  it('two fleets under two paths of one manifests repo each order by their own last deploy', async () => {
    const { root, remote, opts } = await setup();
    const a = await configRepo(join(root, 'fleet-a'), base);
    const b = await configRepo(join(root, 'fleet-b'), sitesYaml([{ id: 'zulu' }]));
    const a0 = (await git(a, 'rev-parse', 'HEAD')).trim();
    const b0 = (await git(b, 'rev-parse', 'HEAD')).trim();
    const forA = (source: string) => opts({ source, configDir: a, path: 'fleet-a' });
    const forB = (source: string) => opts({ source, configDir: b, path: 'fleet-b' });
    expect((await publish(render(base, canaryYaml()), forA(a0))).status).toBe('pushed');
    expect((await publish(render(sitesYaml([{ id: 'zulu' }]), canaryYaml()), forB(b0))).status).toBe('pushed');
    const a1 = await commitInputs(a, 'add delta', withDelta);
    expect((await publish(render(withDelta, canaryYaml()), forA(a1))).status).toBe('pushed');
    const b1 = await commitInputs(b, 'add yankee', sitesYaml([{ id: 'zulu' }, { id: 'yankee' }]));
    expect((await publish(render(sitesYaml([{ id: 'zulu' }, { id: 'yankee' }]), canaryYaml()), forB(b1))).status).toBe('pushed');
    // The head is fleet B's deploy; fleet A's last deploy (a1) is further down, and a0 is older than it.
    expect((await publish(render(base, canaryYaml()), forA(a0))).status).toBe('superseded');
    const tree = await treeAt(remote, 'main');
    expect(tree.has('fleet-a/sites/delta/delta.yaml')).toBe(true);
    expect(tree.has('fleet-b/sites/yankee/yankee.yaml')).toBe(true);
    expect(await git(remote, 'log', '-1', '--format=%(trailers:key=Aviary-Path,valueonly)', 'main')).toContain('fleet-b');
  });
});
