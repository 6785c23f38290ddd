// Hook benchmark: `aviary hook provision` of N new sites by the real CLI against
// moto_server and a private MariaDB (the servers the tests use), one site at a
// time, then with the default concurrency, then a re-run with nothing to do;
// and the inventory every pipeline run takes of the whole fleet (one registry
// scan, one MySQL listing, one S3 listing, one Secrets Manager listing).
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

/** The pipeline's inventory of every site, timed in-process (it is a library call, not a command). */
async function timeInventory(): Promise<number> {
  const { awsClients } = await import('../src/pipeline/hook/aws.js');
  const { hookContext } = await import('../src/pipeline/hook/context.js');
  const { takeInventory } = await import('../src/pipeline/hook/inventory.js');
  const { Redactor } = await import('../src/pipeline/hook/redact.js');
  Object.assign(process.env, env);
  const aws = awsClients();
  try {
    const url = new URL(db.url);
    const config = {
      table: env.AVIARY_TABLE,
      bucket: env.AVIARY_BUCKET,
      secretPrefix: 'aviary/sites',
      mysql: { host: url.hostname, port: Number(url.port), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
      dbHost: url.hostname,
      dbPort: Number(url.port),
    };
    const ctx = hookContext({ config, aws, redactor: new Redactor(), retry: { retries: 0, minTimeoutMs: 10, maxTimeoutMs: 10 } });
    const started = process.hrtime.bigint();
    const found = await takeInventory(ctx);
    if (found.registry.size < 2 * n) throw new Error(`inventory found ${found.registry.size} registry items, expected ${2 * n}`);
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    aws.destroy();
  }
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
  const inventory = await timeInventory();
  console.log(`inventory of the ${2 * n} sites (what every pipeline run reads to converge): ${inventory.toFixed(2)} s`);
} finally {
  await db.stop();
  await moto.stop();
  rmSync(work, { recursive: true, force: true });
}
