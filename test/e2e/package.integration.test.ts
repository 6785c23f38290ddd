// `npm pack` gives a package that installs and runs on its own, as a user
// installs it for a config repo of their own: no clone, no build.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, scratchDir, SITES_FIXTURE } from '../support/fixtures.js';

const root = scratchDir('aviary-package-');
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string>; bin: Record<string, string> };
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });

describe('the npm package', () => {
  it('installs from its tarball and runs: --version, --help, synth', { timeout: 300_000 }, () => {
    // lib/ is already built (npm test builds it); packing must not rebuild it under the other tests' feet.
    const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', root], REPO_ROOT)) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain('lib/pipeline/cli.js');
    expect(files).toContain('canary.yaml'); // the example a new fleet starts from (README, "Use it for your fleet")
    expect(files.filter((f) => /^(src|test|dist|node_modules)\//.test(f))).toEqual([]);

    const app = join(root, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{ "name": "my-fleet", "private": true }\n');
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(root, packed[0]!.filename)], app);
    const aviary = (...args: string[]) => spawnSync('npx', ['--no-install', 'aviary', ...args], { cwd: app, encoding: 'utf8' });

    expect(aviary('--version').stdout).toBe(`${pkg.version}\n`);
    const help = aviary('--help');
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: aviary/);
    writeFileSync(join(app, 'sites.yaml'), SITES_FIXTURE);
    writeFileSync(join(app, 'canary.yaml'), readFileSync(join(app, 'node_modules/aviary/canary.yaml'), 'utf8'));
    const synth = aviary('synth');
    expect(synth.status, synth.stderr).toBe(0);
    expect(synth.stderr).toBe('');
    expect(readdirSync(join(app, 'dist'))).toEqual(expect.arrayContaining(['argocd', 'services', 'sites']));
  });

  it('a git install builds itself (prepare compiles lib/, which is not committed) and runs', { timeout: 400_000 }, () => {
    expect(readFileSync(join(REPO_ROOT, '.gitignore'), 'utf8').split('\n')).toContain('lib/');
    // What `npm i github:your-org/aviary` does, from this repository's committed HEAD.
    const app = join(root, 'from-git');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{ "name": "my-fleet", "private": true }\n');
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', `git+file://${REPO_ROOT}`], app);
    const version = spawnSync('npx', ['--no-install', 'aviary', '--version'], { cwd: app, encoding: 'utf8' });
    expect(version.stderr).toBe('');
    expect(version.stdout).toBe(`${pkg.version}\n`);
  });
});
