// Argo CD layout benchmark: fleets of 10,000 and 100,000 sites, one
// Application per site and in shards (argocd.shards). Per layout: the synth
// of the whole fleet as its own process (wall time, peak RSS), and what Argo
// CD would hold: Applications, objects and bytes per Application, and the
// size of the ApplicationSet's status (one status.resources entry per
// Application, as its controller writes it).
// Usage: npm run bench:layout [-- 10000 100000]
// The synth runs as `aviary` runs by default (its bin sets V8's heap growth
// step); BENCH_HEAP_MB also caps the V8 heap (--max-old-space-size), to find
// what synth keeps alive.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const work = mkdtempSync(join(tmpdir(), 'aviary-bench-layout-'));
const DIGEST = (c) => c.repeat(64);

function fleetYaml(n) {
  const lines = ['sites:'];
  for (let i = 0; i < n; i++) {
    const host = `site-${i}.bench.example.com`;
    lines.push(`  - id: site-${i}`, `    name: "Bench site ${i}"`, '    theme: astra', `    hostnames: [${host}, www.${host}]`, `    service: ${i % 3 === 0 ? 'green' : 'blue'}`);
  }
  return `${lines.join('\n')}\n`;
}

function canaryYaml(argocdShards) {
  return stringify({
    repository: 'registry.example.com/wp-fleet',
    selector: 'green',
    services: { blue: { imageTag: DIGEST('b'), replicas: 20 }, green: { imageTag: DIGEST('c'), replicas: 20 } },
    previewDomain: 'preview.example.com',
    ingress: { tlsClusterIssuer: 'letsencrypt' },
    web: { shards: 256 },
    argocd: { repoURL: 'https://git.example.com/wp-fleet-manifests.git', ...(argocdShards ? { shards: argocdShards } : {}) },
  });
}

/** Runs the CLI as its own process; returns wall seconds and peak RSS in MB. */
function measure(args) {
  const rssFile = join(work, 'rss');
  const started = process.hrtime.bigint();
  const heap = process.env.BENCH_HEAP_MB ? [`--max-old-space-size=${process.env.BENCH_HEAP_MB}`] : [];
  const r = spawnSync(process.execPath, [...heap, '--require', join(root, 'bench/rss-probe.cjs'), join(root, 'lib/pipeline/cli.js'), ...args], {
    cwd: root,
    env: { ...process.env, BENCH_RSS_FILE: rssFile },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`aviary ${args.join(' ')} exited ${r.status}`);
  return { seconds, rssMb: Number(readFileSync(rssFile, 'utf8')) / 1024 };
}

/** Objects and bytes of each Application: one per folder under sites/. */
function applications(out) {
  const apps = [];
  for (const folder of readdirSync(join(out, 'sites'))) {
    let objects = 0;
    let bytes = 0;
    for (const file of readdirSync(join(out, 'sites', folder))) {
      const path = join(out, 'sites', folder, file);
      bytes += statSync(path).size;
      objects += (readFileSync(path, 'utf8').match(/^apiVersion: /gm) ?? []).length;
    }
    apps.push({ name: folder, objects, bytes });
  }
  return apps;
}

/** The ApplicationSet's status.resources as its controller writes it: one entry per Application, healthy and synced. */
function appSetStatusBytes(names, perSite) {
  const entry = (name) => ({
    group: 'argoproj.io', version: 'v1alpha1', kind: 'Application', namespace: 'argocd', name: perSite ? `site-${name}` : `sites-${name}`,
    status: 'Synced', health: { status: 'Healthy', lastTransitionTime: '2026-11-30T00:00:00Z' },
  });
  return Buffer.byteLength(JSON.stringify({ resources: names.map(entry) }));
}

const rows = [];
for (const n of sizes.length ? sizes : [10000, 100000]) {
  const sites = join(work, `sites-${n}.yaml`);
  writeFileSync(sites, fleetYaml(n));
  // About 200 sites per shard: well under the 300 aviary validate allows, with room to grow.
  const shards = Math.min(1000, 2 ** Math.ceil(Math.log2(n / 200)));
  for (const argocdShards of [undefined, shards]) {
    const canary = join(work, `canary-${n}-${argocdShards ?? 'per-site'}.yaml`);
    writeFileSync(canary, canaryYaml(argocdShards));
    const out = join(work, `dist-${n}-${argocdShards ?? 'per-site'}`);
    const synth = measure(['--sites', sites, '--canary', canary, '--out', out, 'synth']);
    const apps = applications(out);
    const max = (key) => Math.max(...apps.map((a) => a[key]));
    const mean = (key) => apps.reduce((s, a) => s + a[key], 0) / apps.length;
    rows.push({
      n, layout: argocdShards ? `${argocdShards} shards` : 'one per site', synth, apps: apps.length,
      objects: { max: max('objects'), mean: mean('objects') }, bytes: { max: max('bytes'), mean: mean('bytes') },
      status: appSetStatusBytes(apps.map((a) => a.name), !argocdShards),
    });
    rmSync(out, { recursive: true, force: true });
  }
}
rmSync(work, { recursive: true, force: true });

const kb = (b) => (b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
console.log('| sites | layout | synth | Applications | objects per Application (mean / max) | bytes per Application (mean / max) | ApplicationSet status |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.n.toLocaleString('en-US')} | ${r.layout} | ${r.synth.seconds.toFixed(1)} s, ${Math.round(r.synth.rssMb)} MB | ${r.apps.toLocaleString('en-US')} | ` +
      `${r.objects.mean.toFixed(0)} / ${r.objects.max} | ${kb(r.bytes.mean)} / ${kb(r.bytes.max)} | ${kb(r.status)} |`,
  );
}
