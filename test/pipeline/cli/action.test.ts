// The GitHub Action's prebuilt bundle (action/aviary.mjs): in step with src/,
// and the same CLI as lib/ when run as the runner runs it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOutputs } from '../../support/ci.js';
import { CLI, fleetDir } from '../../support/cli.js';
import { filesUnder } from '../../support/manifests.js';
import { REPO_ROOT, scratchDir } from '../../support/fixtures.js';

const BUNDLE = join(REPO_ROOT, 'action/aviary.mjs');
const root = scratchDir('aviary-action-');


describe('action/aviary.mjs', () => {
  it('is what `npm run bundle` builds from src/ now (run it and commit the result when this fails)', () => {
    const fresh = join(root, 'fresh.mjs');
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/bundle-action.mjs'), fresh], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(BUNDLE).size).toBe(statSync(fresh).size);
    expect(readFileSync(BUNDLE).equals(readFileSync(fresh))).toBe(true);
  });

  it('run by the runner (no arguments, inputs as INPUT_*) is aviary ci: validates and writes the step outputs', () => {
    const w = fleetDir([{ id: 'alpha' }, { id: 'bravo' }]);
    const output = join(w.dir, 'github-output');
    writeFileSync(output, '');
    const r = spawnSync(process.execPath, [BUNDLE], {
      cwd: w.dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: w.dir, GITHUB_OUTPUT: output, INPUT_COMMAND: 'validate', 'INPUT_MANIFESTS-REPO': '' },
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(parseOutputs(readFileSync(output, 'utf8'))).toMatchObject({ valid: 'true' });
    expect(r.stderr).not.toMatch(/Warning|warn/i);
    w.remove();
  });

  it('synthesizes byte for byte what lib/ does', () => {
    const w = fleetDir([{ id: 'alpha' }, { id: 'bravo', service: 'green' }], 'argocd:\n  shards: 4\n');
    mkdirSync(join(root, 'synth'), { recursive: true });
    for (const [cli, out] of [[BUNDLE, 'by-bundle'], [CLI, 'by-lib']] as const) {
      const r = spawnSync(process.execPath, [cli, 'synth', '--out', join(root, 'synth', out)], { cwd: w.dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    const bundle = filesUnder(join(root, 'synth/by-bundle'));
    expect(bundle.size).toBeGreaterThan(5);
    expect(bundle).toEqual(filesUnder(join(root, 'synth/by-lib')));
    w.remove();
  });
});
