// Synthesis benchmark: fleets of 1,000 and 10,000 sites, whole processes.
// Reports Aviary's `synth` next to two floors that only serialize and write the
// very same objects (JSON.stringify, and the `yaml` package).
// Usage: npm run bench [-- 1000 10000]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { renderFleet } from '../lib/charts/render.js';
import { loadFleet } from '../lib/sites/load.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const work = mkdtempSync(join(tmpdir(), 'aviary-bench-'));
const themes = ['astra', 'twentytwentyfour', 'kadence', 'generatepress'];

function fleetYaml(n) {
  const lines = ['sites:'];
  for (let i = 0; i < n; i++) {
    const host = `site-${i}.bench.example.com`;
    lines.push(
      `  - id: site-${i}`,
      `    name: "Bench site ${i}"`,
      `    theme: ${themes[i % themes.length]}`,
      `    hostnames: [${host}, www.${host}]`,
      `    canonicalHostname: ${host}`,
      `    service: ${i % 3 === 0 ? 'green' : 'blue'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Runs a node script as its own process; returns wall seconds and peak RSS in MB. */
function measure(args) {
  const rssFile = join(work, 'rss');
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', join(root, 'bench/rss-probe.cjs'), ...args], {
    cwd: root,
    env: { ...process.env, BENCH_RSS_FILE: rssFile },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return { seconds, rssMb: Number(readFileSync(rssFile, 'utf8')) / 1024 };
}

const rows = [];
for (const n of sizes.length ? sizes : [1000, 10000]) {
  const sites = join(work, `sites-${n}.yaml`);
  writeFileSync(sites, fleetYaml(n));
  const canary = join(root, 'canary.yaml');
  const out = join(work, `dist-${n}`);
  const aviary = measure([join(root, 'lib/pipeline/cli.js'), '--sites', sites, '--canary', canary, '--out', out, 'synth']);
  // Then one site changes: every other site file is reused by its recorded input hash.
  writeFileSync(sites, readFileSync(sites, 'utf8').replace('name: "Bench site 7"', 'name: "Bench site seven"'));
  const oneChange = measure([join(root, 'lib/pipeline/cli.js'), '--sites', sites, '--canary', canary, '--out', out, 'synth']);

  // The floors get the exact objects Aviary wrote, parsed back from its output (not timed).
  const objects = join(work, `objects-${n}.json`);
  const files = renderFleet(loadFleet(sites, canary)).map((f) => ({ path: f.path, docs: parseAllDocuments(f.content).map((d) => d.toJS()) }));
  writeFileSync(objects, JSON.stringify(files));
  const json = measure([join(root, 'bench/floor.mjs'), 'json', objects, join(work, `json-${n}`)]);
  const yaml = measure([join(root, 'bench/floor.mjs'), 'yaml', objects, join(work, `yaml-${n}`)]);
  rows.push({ n, aviary, oneChange, json, yaml });
  rmSync(join(work, `json-${n}`), { recursive: true, force: true });
  rmSync(join(work, `yaml-${n}`), { recursive: true, force: true });
}
rmSync(work, { recursive: true, force: true });

const f = (m) => `${m.seconds.toFixed(2)} s, ${Math.round(m.rssMb)} MB`;
console.log('| sites | aviary synth | JSON.stringify floor | yaml floor | aviary / JSON floor | aviary, one site changed |');
console.log('|---|---|---|---|---|---|');
for (const { n, aviary, oneChange, json, yaml } of rows) {
  console.log(`| ${n.toLocaleString('en-US')} | ${f(aviary)} | ${f(json)} | ${f(yaml)} | ${(aviary.seconds / json.seconds).toFixed(2)}× | ${f(oneChange)} |`);
}
if (rows.length >= 2) {
  const [small, large] = [rows[0], rows[rows.length - 1]];
  console.log(`\n${large.n}/${small.n} wall-time ratio: ${(large.aviary.seconds / small.aviary.seconds).toFixed(2)} (sites ratio ${large.n / small.n})`);
}
