// Publishing benchmark: a manifests repo holding 10,000 sites, then a
// one-site change published by the real CLI (validate → synth → commit →
// push) from a reused work dir, as a CI runner with a cached .aviary/ does.
// Checks that the commit holds only that site's file.
// Usage: npm run bench:publish [-- 10000]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'lib/pipeline/cli.js');
const n = Number(process.argv[2]) || 10_000;
const work = mkdtempSync(join(tmpdir(), 'aviary-bench-publish-'));
const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
const git = (cwd, ...args) => execFileSync('git', args, { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });

function sitesYaml(changed) {
  const lines = ['sites:'];
  for (let i = 0; i < n; i++) {
    const host = `site-${i}.bench.example.com`;
    lines.push(`  - id: site-${i}`, `    name: "Bench site ${i}"`, `    theme: ${i === changed ? 'kadence' : 'astra'}`, `    hostnames: [${host}]`, `    service: ${i % 3 === 0 ? 'green' : 'blue'}`);
  }
  return `${lines.join('\n')}\n`;
}

function publish(config, manifests) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, 'publish', '--repo', manifests, '--json'], { cwd: config, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`publish failed (${r.status}): ${r.stderr}`);
  return { seconds, result: JSON.parse(r.stdout) };
}

try {
  const manifests = join(work, 'manifests.git');
  git(work, 'init', '-q', '--bare', '--initial-branch=main', manifests);
  const config = join(work, 'config');
  git(work, 'init', '-q', '--initial-branch=main', config);
  git(config, 'config', 'user.name', 'Bench');
  git(config, 'config', 'user.email', 'bench@example.com');
  writeFileSync(join(config, '.gitignore'), '.aviary/\ndist/\n');
  execFileSync('cp', [join(root, 'canary.yaml'), join(config, 'canary.yaml')]);
  writeFileSync(join(config, 'sites.yaml'), sitesYaml(-1));
  git(config, 'add', '-A');
  git(config, 'commit', '-q', '-m', `${n} sites`);

  const cold = publish(config, manifests);
  console.log(`first publish of ${n} sites (clone, full render, ${cold.result.plan.files.added} files): ${cold.seconds.toFixed(2)} s`);

  const changed = Math.floor(n / 2);
  writeFileSync(join(config, 'sites.yaml'), sitesYaml(changed));
  git(config, 'commit', '-q', '-am', `site-${changed} on kadence`);
  const warm = publish(config, manifests);
  const files = git(manifests, 'show', '--name-only', '--format=', 'main').trim().split('\n');
  const expected = [`sites/site-${changed}/site-${changed}.yaml`];
  const ok = JSON.stringify(files) === JSON.stringify(expected);
  console.log(`one-site change, validate → synth → commit → push: ${warm.seconds.toFixed(2)} s (target ≤ 5 s: ${warm.seconds <= 5 ? 'met' : 'missed'})`);
  console.log(`files in the commit: ${files.join(', ')} (${ok ? 'only that site' : 'UNEXPECTED'})`);
  if (!ok || warm.result.status !== 'pushed') process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
