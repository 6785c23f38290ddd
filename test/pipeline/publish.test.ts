// publish() against real bare repositories on disk: what lands, what does
// not, and what happens when another publisher moves the branch mid-publish.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/pipeline/errors.js';
import { publish, type PublishOptions } from '../../src/pipeline/publish.js';
import type { ManifestFile } from '../../src/charts/render.js';
import { asMap, bareRepo, GIT_ENV, canaryYaml, commitInputs, configRepo, git, render, sitesYaml, tempDir, treeAt } from './git/helpers.js';

const dirs: string[] = [];
const temp = () => {
  const d = tempDir();
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const FAST = { retries: 6, minTimeout: 10, maxTimeout: 50 };
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
    expect(changed).toEqual(['A\tsites/delta/delta.yaml', 'D\tsites/charlie/charlie.yaml', 'M\tsites/alpha/alpha.yaml']);
    expect(await treeAt(remote, 'main')).toEqual(asMap(next));
    const message = await git(remote, 'log', '-1', '--format=%B', 'main');
    expect(message.split('\n')[0]).toBe('Aviary: add site delta; remove site charlie; promote site alpha to green');
    expect(message).toMatch(/site charlie \(torn down\)/);
    expect(message.trimEnd().split('\n').pop()).toBe(`Aviary-Source: ${'c'.repeat(40)}`);
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

  it('reuses its work dir: a second publish only rewrites files whose bytes differ', async () => {
    const { root, opts } = await setup();
    const files = render(sitesYaml(three), canaryYaml());
    await publish(files, opts());
    const workDir = join(root, 'work');
    const [dir] = readdirSync(workDir);
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

  it('replays only its own change on the new head: both changes land, history linear, nothing forced', async () => {
    const { root, remote, opts } = await setup();
    await publish(render(base, canaryYaml()), opts());
    const theirs = render(sitesYaml([...three, { id: 'delta' }]), canaryYaml());
    const ours = render(sitesYaml([three[0]!, three[1]!, { id: 'charlie', theme: 'kadence' }]), canaryYaml());
    const other = await rival(root, remote, theirs);
    const result = await publish(losingTo(ours, other.push), opts());
    expect(result).toMatchObject({ status: 'pushed', attempts: 2 });
    const tree = await treeAt(remote, 'main');
    expect(tree.get('sites/delta/delta.yaml')).toBe(asMap(theirs).get('sites/delta/delta.yaml'));
    expect(tree.get('sites/charlie/charlie.yaml')).toBe(asMap(ours).get('sites/charlie/charlie.yaml'));
    expect((await git(remote, 'log', '--format=%s', 'main')).trim().split('\n')).toEqual(['Aviary: update site charlie', 'rival', expect.stringMatching(/^Aviary: /)]);
    expect((await git(remote, 'rev-list', '--min-parents=2', 'main')).trim()).toBe('');
  });

  it('stops on a real conflict and leaves the remote as the rival left it', async () => {
    const { root, remote, opts } = await setup();
    await publish(render(base, canaryYaml()), opts());
    const theirs = render(sitesYaml([three[0]!, three[1]!, { id: 'charlie', theme: 'generatepress' }]), canaryYaml());
    const ours = render(sitesYaml([three[0]!, three[1]!, { id: 'charlie', theme: 'kadence' }]), canaryYaml());
    const other = await rival(root, remote, theirs);
    const error = await publish(losingTo(ours, other.push), opts()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedError);
    expect((error as Error).message).toMatch(/conflict: another publish changed sites\/charlie\/charlie\.yaml differently.*Nothing was pushed/s);
    expect((await git(remote, 'log', '-1', '--format=%s', 'main')).trim()).toBe('rival');
    expect(await treeAt(remote, 'main')).toEqual(asMap(theirs));
  });

  it('re-applies all of dist/ when the winner published older inputs, and stands down when it published newer ones', async () => {
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

    // A publish of c1 loses to a publish of c3, a descendant of c1: its inputs are out of date, it stands down.
    const s3 = sitesYaml([three[0]!, three[1]!, { id: 'charlie', theme: 'generatepress' }, { id: 'delta' }, { id: 'echo' }]);
    const c3 = await commitInputs(config, 'add echo', s3);
    const newest = await rival(root, remote, render(s3, canaryYaml()), c3);
    const stale = await publish(losingTo(render(s1, canaryYaml()), newest.push), opts({ source: c1, configDir: config }));
    expect(stale).toMatchObject({ status: 'superseded', attempts: 2 });
    expect(await treeAt(remote, 'main')).toEqual(asMap(render(s3, canaryYaml())));
    expect((await git(remote, 'log', '-1', '--format=%s', 'main')).trim()).toBe('rival');
  });
});
