// A gated promotion end to end: `aviary site promote --verify` commits, pushes
// and publishes, then checks the site over HTTP. The test's web server plays
// the cluster: it serves each site from the color the manifests repo routes
// it to right now, and green is broken. A failure reverts the config commit
// (pushed, never forced) and publishes the revert, leaving the manifests
// byte-identical to before.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { canaryYaml, scratchDir, sitesYaml } from '../../support/fixtures.js';
import { bareRepo, configRepo, git, treeAt } from '../../support/git.js';
import { closeServer, listenLocal } from '../../support/ports.js';
import { routedColor } from '../../support/manifests.js';

const root = scratchDir('aviary-gate-');
let web: Server;
let port: number;
let manifests: string;


beforeAll(async () => {
  web = createServer((req, res) => {
    const id = String(req.headers.host).split('.')[0]!;
    const color = routedColor(manifests, id);
    if (color === 'blue') res.writeHead(200).end('<html>Welcome to WordPress</html>');
    else res.writeHead(502).end(`bad gateway (${color ?? 'not routed'})`);
  });
  port = await listenLocal(web);
});
afterAll(() => web && closeServer(web));

/** A config repo with an upstream, its first deploy published to a manifests repo of its own (the one the web server reads). */
async function fleet(name: string) {
  manifests = bareRepo(join(root, `${name}-manifests.git`));
  const upstream = bareRepo(join(root, `${name}-config.git`));
  const dir = configRepo(join(root, name), sitesYaml([{ id: 'alpha' }, { id: 'bravo' }]), canaryYaml({ extra: 'ingress:\n  scheme: http\n' }));
  await git(dir, 'remote', 'add', 'origin', upstream);
  await git(dir, 'push', '-q', '-u', 'origin', 'main');
  const first = await runCli(dir, ['publish', '--repo', manifests]);
  expect(first.code, first.stderr).toBe(0);
  return { dir, upstream };
}

const connect = (...ids: string[]) => ids.flatMap((id) => ['--connect-to', `${id}.example.com:80:127.0.0.1:${port}`]);

describe('site promote --verify', () => {
  it('a promotion whose sites fail verification is reverted in the config repo and in the manifests, exit 1 naming the failure', { timeout: 180_000 }, async () => {
    const { dir, upstream } = await fleet('failing');
    const before = await treeAt(manifests, 'main');
    const sitesBefore = readFileSync(join(dir, 'sites.yaml'), 'utf8');
    const configBefore = (await git(upstream, 'rev-parse', 'main')).trim();

    const r = await runCli(dir, ['site', 'promote', 'alpha', '--verify', '--repo', manifests, '--expect-text', 'Welcome', ...connect('alpha')]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/error: verification failed for alpha \(http:\/\/alpha\.example\.com\/ answered 502, not 200; .*\)\. Reverted [0-9a-f]{12} in the config repo \([0-9a-f]{12}, pushed\) and published it \(pushed [0-9a-f]{12}\): the manifests are as before\./);

    // The config repo: the promotion and its revert, both pushed; the inputs as they were.
    const log = (await git(upstream, 'log', '--format=%s', `${configBefore}..main`)).trim().split('\n');
    expect(log).toEqual([expect.stringMatching(/^Revert "Promote alpha to green"$/), 'Promote alpha to green']);
    expect(readFileSync(join(dir, 'sites.yaml'), 'utf8')).toBe(sitesBefore);
    // The manifests: byte-identical to before, and the site is served again.
    expect(await treeAt(manifests, 'main')).toEqual(before);
    expect(routedColor(manifests, 'alpha')).toBe('blue');
  });

  it('a promotion whose sites pass stays, exit 0', { timeout: 180_000 }, async () => {
    const { dir, upstream } = await fleet('passing');
    // bravo's traffic stays on blue (upgrade: service moves, ingress stays), which this cluster serves.
    const r = await runCli(dir, ['site', 'upgrade', 'bravo', '--verify', '--repo', manifests, ...connect('bravo')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^ok {3}bravo {2}http:\/\/bravo\.example\.com\/ {2}200 in \d+ ms$/m);
    expect((await git(upstream, 'log', '-1', '--format=%s', 'main')).trim()).toBe('Upgrade bravo to green');
    expect(routedColor(manifests, 'bravo')).toBe('blue');
  });

  it('a push the config remote refuses takes the commit and its edit back: a re-run starts over and lands', { timeout: 180_000 }, async () => {
    const { dir, upstream } = await fleet('refused');
    const head = (await git(dir, 'rev-parse', 'HEAD')).trim();
    const sitesBefore = readFileSync(join(dir, 'sites.yaml'), 'utf8');
    const hook = join(upstream, 'hooks/pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "protected branch" >&2\nexit 1\n', { mode: 0o755 });

    const refused = await runCli(dir, ['site', 'upgrade', 'bravo', '--verify', '--repo', manifests, ...connect('bravo')]);
    expect(refused.code).not.toBe(0);
    expect((await git(dir, 'rev-parse', 'HEAD')).trim()).toBe(head);
    expect(readFileSync(join(dir, 'sites.yaml'), 'utf8')).toBe(sitesBefore);

    rmSync(hook);
    const again = await runCli(dir, ['site', 'upgrade', 'bravo', '--verify', '--repo', manifests, ...connect('bravo')]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect((await git(upstream, 'log', '-1', '--format=%s', 'main')).trim()).toBe('Upgrade bravo to green');
  });

  it('refuses, before editing, when the inputs have uncommitted edits that its commit would carry to production', { timeout: 180_000 }, async () => {
    const { dir, upstream } = await fleet('dirty');
    const configBefore = (await git(upstream, 'rev-parse', 'main')).trim();
    // Someone's unfinished edit: bravo deleted from sites.yaml, not committed.
    const unfinished = readFileSync(join(dir, 'sites.yaml'), 'utf8').replace(/ {2}- id: bravo[\s\S]*?# end of bravo\n/, '');
    writeFileSync(join(dir, 'sites.yaml'), unfinished);
    const manifestsBefore = treeAt(manifests, 'main');

    for (const args of [['site', 'promote', 'alpha', '--verify', '--force'], ['rollout', '--to', 'green', '--rings', '100', '--force']]) {
      const r = await runCli(dir, [...args, '--repo', manifests, ...connect('alpha')]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain('uncommitted changes in sites.yaml');
      expect(r.stderr).toContain('these would be deployed with it: commit or stash them first');
      // Nothing edited, committed, pushed or published: bravo is still deployed.
      expect(readFileSync(join(dir, 'sites.yaml'), 'utf8')).toBe(unfinished);
      expect((await git(upstream, 'rev-parse', 'main')).trim()).toBe(configBefore);
      expect(treeAt(manifests, 'main')).toEqual(manifestsBefore);
    }
  });
});
