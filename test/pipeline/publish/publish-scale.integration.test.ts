// publish() at fleet size, against a real bare repository: a one-site change
// to a sharded 10,000-site fleet is a one-file commit.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publish } from '../../../src/pipeline/publish/publish.js';
import { canaryYaml, fleetOf, swap, tempDir } from '../../support/fixtures.js';
import { bareRepo, git } from '../../support/git.js';
import { render } from '../../support/manifests.js';

const root = tempDir();
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('publish at fleet size', () => {
  it('in a fleet of 10,000 sites in Argo CD shards, a one-site change commits one file', { timeout: 600_000 }, async () => {
    const remote = bareRepo(join(root, 'manifests.git'));
    const opts = { repo: remote, workRoot: join(root, 'work') };
    const canary = canaryYaml({ extra: 'argocd:\n  shards: 64\n' });
    const fleet = fleetOf(10_000);
    await publish(render(fleet, canary), opts);
    const first = (await git(remote, 'rev-parse', 'main')).trim();
    await publish(render(swap(fleet, 'name: "Site 4242"', 'name: "Site 4242, renamed"'), canary), opts);
    const changed = (await git(remote, 'diff', '--name-only', first, 'main')).trim().split('\n');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^sites\/\d\d\/site-04242\.yaml$/);
  });
});
