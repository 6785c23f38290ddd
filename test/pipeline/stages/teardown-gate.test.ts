// The teardown gate against a real manifests repo on disk: a site whose file
// is still published anywhere in the published folder is live, whatever the
// layout (its own folder, an Argo CD shard's, a cluster's), so its data stays.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { whereStillLive } from '../../../src/pipeline/stages/teardown-gate.js';
import { scratchDir, sitesYaml } from '../../support/fixtures.js';
import { bareRepo, configRepo, gitSync, initRepo } from '../../support/git.js';

/** A manifests branch holding exactly these files (paths under the repo root). */
function manifestsWith(paths: readonly string[]): string {
  const bare = bareRepo(join(scratchDir(), 'manifests.git'));
  const work = initRepo(join(scratchDir(), 'work'));
  for (const path of paths) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), 'kind: ConfigMap\n');
  }
  gitSync(work, 'add', '-A');
  gitSync(work, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '-m', 'publish');
  gitSync(work, 'push', '-q', bare, 'HEAD:refs/heads/main');
  return bare;
}

describe('teardown gate: published sites in every layout', () => {
  it.each([
    ['one Application per site', 'sites/alpha/alpha.yaml'],
    ['Argo CD shards', 'sites/07/alpha.yaml'],
    ['several clusters', 'clusters/eu/sites/alpha/alpha.yaml'],
    ['several clusters in shards', 'clusters/us/sites/3/alpha.yaml'],
  ])('%s: a site still published is live, another is not', async (_, file) => {
    const config = configRepo(join(scratchDir(), 'config'), sitesYaml([{ id: 'charlie' }]));
    const repo = manifestsWith([file, 'services/blue.yaml', 'clusters/eu/services/green.yaml', 'argocd/sites.yaml']);
    const live = await whereStillLive(['alpha', 'bravo'], {
      declared: new Set(),
      configDir: config,
      sitesPath: join(config, 'sites.yaml'),
      manifests: { repo, branch: 'main', path: '.', workRoot: join(scratchDir(), 'work-root') },
    });
    expect([...live.keys()]).toEqual(['alpha']);
    expect(live.get('alpha')![0]).toMatch(/^published on /);
  });

  it('under --path, only site files in that folder count', async () => {
    const config = configRepo(join(scratchDir(), 'config'), sitesYaml([{ id: 'charlie' }]));
    const repo = manifestsWith(['fleet/clusters/eu/sites/alpha/alpha.yaml', 'other/sites/bravo/bravo.yaml']);
    const live = await whereStillLive(['alpha', 'bravo'], {
      declared: new Set(),
      configDir: config,
      sitesPath: join(config, 'sites.yaml'),
      manifests: { repo, branch: 'main', path: 'fleet', workRoot: join(scratchDir(), 'work-root') },
    });
    expect([...live.keys()]).toEqual(['alpha']);
  });
});
