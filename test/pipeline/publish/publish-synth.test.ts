// aviary publish pushes exactly what aviary synth writes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { canaryYaml, scratchDir, sitesYaml } from '../../support/fixtures.js';
import { bareRepo, configRepo, treeAt } from '../../support/git.js';

const root = scratchDir('aviary-publish-synth-');

describe('aviary synth and aviary publish', () => {
  it('write the same bytes: the published tree equals a synth of the same inputs', { timeout: 120_000 }, async () => {
    const remote = await bareRepo(join(root, 'same', 'm.git'));
    const config = await configRepo(join(root, 'same', 'config'), sitesYaml([{ id: 'alpha' }, { id: 'bravo', service: 'green' }]), canaryYaml());
    const synth = await runCli(config, ['synth', '--out', join(root, 'same', 'synth-out')]);
    expect(synth.code, synth.stderr).toBe(0);
    const published = await runCli(config, ['publish', '--repo', remote]);
    expect(published.code, published.stderr).toBe(0);
    const tree = await treeAt(remote, 'main');
    expect(tree.size).toBeGreaterThan(4);
    for (const [path, content] of tree) expect(readFileSync(join(root, 'same', 'synth-out', path), 'utf8'), path).toBe(content);
    for (const [path, content] of tree) expect(readFileSync(join(config, 'dist', path), 'utf8'), path).toBe(content);
  });
});
