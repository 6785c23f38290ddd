// Hook benchmark: `aviary hook provision` of N new sites by the real CLI against
// moto_server and a private MariaDB (the servers the tests use), one site at a
// time, then with the default concurrency, then a re-run with nothing to do.
// Usage: npm run bench:hook [-- 200]
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMariaDb } from '../test/support/mariadb.js';
import { startMoto } from '../test/support/moto.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'lib/pipeline/cli.js');
const n = Number(process.argv[2]) || 200;
const work = mkdtempSync(join(tmpdir(), 'aviary-bench-hook-'));
const ids = (group: string) => Array.from({ length: n }, (_, i) => `${group}-${i}`);

const sites = ['sites:'];
for (const id of [...ids('one'), ...ids('many')]) {
  sites.push(`  - id: ${id}`, `    name: "Bench ${id}"`, '    theme: astra', `    hostnames: [${id}.bench.example.com]`, '    service: blue');
}
writeFileSync(join(work, 'sites.yaml'), `${sites.join('\n')}\n`);
copyFileSync(join(root, 'canary.yaml'), join(work, 'canary.yaml'));

const moto = await startMoto();
const db = await startMariaDb();
const env = {
  ...process.env,
  AWS_ENDPOINT_URL: moto.endpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  AVIARY_TABLE: 'bench-sites',
  AVIARY_BUCKET: 'bench-files',
  AVIARY_MYSQL_URL: db.url,
};

/** Runs the CLI and returns its wall time. Not spawnSync: this process must keep draining the servers' logs. */
function aviary(...args: string[]): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Number(process.hrtime.bigint() - started) / 1e9);
      else reject(new Error(`aviary ${args.slice(0, 3).join(' ')} failed (${code}): ${stderr}`));
    });
  });
}

try {
  await aviary('hook', 'init');
  const one = await aviary('hook', 'provision', ...ids('one'), '--concurrency', '1', '--json');
  const many = await aviary('hook', 'provision', ...ids('many'), '--json');
  const again = await aviary('hook', 'provision', ...ids('many'), '--json');
  const rate = (s: number) => `${s.toFixed(1)} s, ${((s / n) * 1000).toFixed(0)} ms/site`;
  console.log(`hook provision of ${n} new sites (registry item, 2 secrets, database, user, grant, S3 prefix each):`);
  console.log(`  one at a time (--concurrency 1): ${rate(one)}`);
  console.log(`  default concurrency (8):         ${rate(many)} (${(one / many).toFixed(1)}× faster)`);
  console.log(`  re-run, nothing to do:           ${rate(again)}`);
} finally {
  await db.stop();
  await moto.stop();
  rmSync(work, { recursive: true, force: true });
}
