// A gated deploy through `aviary ci` (Drone settings verify, expect_text,
// connect_to), in a detached CI checkout: the merge that promotes a site is
// published, the site fails verification, and the pipeline reverts the merge
// on the config repo's default branch (pushed, never forced) and publishes
// the revert: the manifests end byte-identical to before. The test's web
// server plays the cluster: it serves each site from the color the manifests
// route it to right now, and green is broken.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployedFleet } from '../support/ci.js';
import { canaryYaml } from '../support/fixtures.js';
import { gitSync, treeAt } from '../support/git.js';
import { routedColor } from '../support/manifests.js';
import { closeServer, listenLocal } from '../support/ports.js';
import { useFreshStore } from '../support/store.js';

const { store: fleet } = useFreshStore();
let web: Server;
let port: number;
let manifestsRepo = '';


beforeAll(async () => {
  web = createServer((req, res) => {
    const id = String(req.headers.host).split('.')[0]!;
    if (routedColor(manifestsRepo, id) === 'blue') res.writeHead(200).end('<html>Welcome to WordPress</html>');
    else res.writeHead(502).end('bad gateway');
  });
  port = await listenLocal(web);
});
afterAll(() => web && closeServer(web));

describe('aviary ci pipeline with verify: true', () => {
  it('a merge whose site fails verification is reverted on the default branch and the revert published; the manifests are as before', { timeout: 300_000 }, async () => {
    const { base, forge, manifests, run } = await deployedFleet(fleet);
    manifestsRepo = manifests;
    const [a, b] = [base[0]!.id, base[1]!.id];
    // Sites are served over plain HTTP here (scheme http), reached through --connect-to.
    writeFileSync(join(forge.dev, 'canary.yaml'), canaryYaml({ extra: 'ingress:\n  scheme: http\n' }));
    gitSync(forge.dev, 'commit', '-q', '-am', 'serve over http');
    gitSync(forge.dev, 'push', '-q', 'origin', 'main');
    const settings = { verify: 'true', expect_text: 'Welcome', connect_to: `${a}.example.com:80:127.0.0.1:${port} ${b}.example.com:80:127.0.0.1:${port}` };
    const http = await run(forge.checkout(forge.main), settings);
    expect(http.code, http.stderr).toBe(0);
    expect(http.stderr).toContain('==> verify');
    const before = treeAt(manifests);

    // The pull request that promotes a to green, merged.
    forge.pullRequest('promote-a', [{ id: a, service: 'green' }, { id: b }]);
    const merge = forge.merge('promote-a');
    const r = await run(forge.checkout(merge), settings);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`verification failed for ${a} \\(http://${a}\\.example\\.com/ answered 502, not 200; .*\\)\\. Reverted ${merge.slice(0, 12)} in the config repo`));

    // The config repo's main: the merge, then its revert on top, pushed (a fast-forward of what the forge had).
    gitSync(forge.dev, 'pull', '-q', '--ff-only', 'origin', 'main');
    expect(gitSync(forge.dev, 'rev-parse', 'main^')).toBe(merge);
    expect(gitSync(forge.dev, 'log', '-1', '--format=%s', 'main')).toBe('Revert "Merge promote-a"');
    // The manifests: byte-identical to before the merge, and a is served again.
    expect(treeAt(manifests)).toEqual(before);
    expect(routedColor(manifestsRepo, a)).toBe('blue');
  });
});
