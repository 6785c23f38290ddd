// (5) Two merges in quick succession start two pipelines at once (two Drone
// builds, each in its own checkout of its own merge commit), racing on the
// same manifests branch and on the same registry. Whichever finishes first,
// the branch ends at the newer merge: the older one either lands first and
// is moved forward, or finds the newer deploy and stands down (superseded)
// without tearing anything down. Both orders end in the same state, which is
// all this test asserts, so it cannot depend on who wins.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { droneEnv, runStep } from '../support/ci.js';
import type { SiteSpec } from '../support/fixtures.js';
import { bareRepo, ConfigForge, gitSync, hasSiteFiles, treeAt } from '../support/git.js';
import { filesUnder } from '../support/manifests.js';
import { awsSide, uniq, useFreshStore } from '../support/store.js';

const { aws, store: fleet } = useFreshStore();

describe('two pipelines at once', () => {
  it('(5) two merges, two concurrent pipelines: both land', async () => {
    const [a, b, c, d] = [uniq('a-'), uniq('b-'), uniq('c-'), uniq('d-')];
    const base: SiteSpec[] = [{ id: a }, { id: b }];
    const forge = new ConfigForge(base);
    const bare = bareRepo();
    const env = () => droneEnv('pipeline', fleet, { manifests_repo: bare });

    const first = await runStep(forge.checkout(forge.main), env());
    expect(first.stderr).not.toContain('error');
    expect(first.code).toBe(0);

    // Two pull requests, each adding one site (at either end, so they merge cleanly), merged one after the other.
    forge.pullRequest('add-c', [{ id: c }, ...base]);
    forge.pullRequest('add-d', [...base, { id: d }]);
    const m1 = forge.merge('add-c');
    const m2 = forge.merge('add-d');
    expect(gitSync(forge.dev, 'show', `${m2}:sites.yaml`)).toContain(c);
    const [ci1, ci2] = [forge.checkout(m1), forge.checkout(m2)];

    const [r1, r2] = await Promise.all([runStep(ci1, env()), runStep(ci2, env())]);
    for (const r of [r1, r2]) {
      if (r.code !== 0) throw new Error(`a pipeline failed (${r.code}):\n${r.stderr}`);
    }

    // The branch ends at the newer inputs: exactly what the second checkout synthesized.
    expect(hasSiteFiles(bare, c)).toBe(true);
    expect(hasSiteFiles(bare, d)).toBe(true);
    expect(treeAt(bare)).toEqual(filesUnder(join(ci2, 'dist')));
    // Both deploys are in the history (or the older one was superseded by the newer), none forced.
    const sources = gitSync(bare, 'log', '--format=%(trailers:key=Aviary-Source,valueonly)', 'main').split('\n').filter(Boolean);
    expect(sources[0]).toBe(m2);
    for (const id of [c, d]) expect((await awsSide(aws, fleet, id)).registry).toBe('ready');
    expect((await awsSide(aws, fleet, a)).registry).toBe('ready');
  }, 180_000);
});
