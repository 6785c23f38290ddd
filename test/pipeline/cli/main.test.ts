// The `aviary` executable as a shell runs it: its version, and no stack
// trace when its reader goes away.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI, expectOk, fleetDir, runCli } from '../../support/cli.js';
import { REPO_ROOT } from '../../support/fixtures.js';

describe('aviary', () => {
  it('--version prints the version of the package', async () => {
    const { version } = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')) as { version: string };
    const r = expectOk(await runCli(['--version'], { cwd: REPO_ROOT }));
    expect(r.stdout).toBe(`${version}\n`);
  });

  it('prints no runtime warning of its dependencies (the AWS SDK warns on every run under Node 20)', async () => {
    const r = await runCli(['hook', 'provision', 'rrr', '--table', 't', '--bucket', 'b', '--mysql-url', 'mysql://root:x@127.0.0.1:9', '--retries', '0'], {
      cwd: REPO_ROOT,
      env: { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_ENDPOINT_URL: 'http://127.0.0.1:9' },
    });
    expect(r.code).not.toBe(0); // nothing answers on port 9: the SDK was loaded and used
    expect(r.stderr).not.toMatch(/Warning|DeprecationWarning|\(node:\d+\)/);
  });

  it('a path that cannot be written is an error naming it, not a stack trace', async () => {
    const w = fleetDir([{ id: 'alpha' }]);
    for (const out of ['sites.yaml', 'sites.yaml/dist']) {
      const r = await w.run(['synth', '--out', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: .*sites\.yaml.*: a part of the path is a file, not a folder \(\w+\)\. Check the paths given/);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    w.remove();
  });

  it('`aviary plan | head -c 100` ends quietly with exit 0 when head stops reading (EPIPE), no stack trace', () => {
    const w = fleetDir(Array.from({ length: 300 }, (_, i) => ({ id: `site-${i}` })));
    mkdirSync(w.path('empty'));
    // pipefail: the pipeline's status is node's when node fails.
    const r = spawnSync('bash', ['-c', `set -o pipefail; node "${CLI}" plan --against empty | head -c 100 >/dev/null`], { cwd: w.dir, encoding: 'utf8' });
    w.remove();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
