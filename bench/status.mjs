// Fleet status benchmark: a manifests repo holding N sites (default 10,000)
// and a history of 500 one-site deploys, read by the real CLI; then the page
// of `status --html` opened in Debian's headless Chromium: load time and the
// time one search takes to filter every row.
// Usage: npm run bench:status [-- 10000]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'lib/pipeline/cli.js');
const n = Number(process.argv[2]) || 10_000;
const deploys = 500;
const work = mkdtempSync(join(tmpdir(), 'aviary-bench-status-'));
const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
const git = (cwd, ...args) => execFileSync('git', args, { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });

function sitesYaml() {
  const lines = ['sites:'];
  for (let i = 0; i < n; i++) {
    lines.push(`  - id: site-${i}`, `    name: "Bench site ${i}"`, '    theme: astra', `    hostnames: [site-${i}.bench.example.com]`, `    service: ${i % 3 === 0 ? 'green' : 'blue'}`);
  }
  return `${lines.join('\n')}\n`;
}

function timed(args, cwd) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`aviary ${args[0]} failed (${r.status}): ${r.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

try {
  const manifests = join(work, 'manifests.git');
  git(work, 'init', '-q', '--bare', '--initial-branch=main', manifests);
  const config = join(work, 'config');
  git(work, 'init', '-q', '--initial-branch=main', config);
  execFileSync('cp', [join(root, 'canary.yaml'), join(config, 'canary.yaml')]);
  writeFileSync(join(config, 'sites.yaml'), sitesYaml());
  timed(['publish', '--repo', manifests, '--allow-dirty', '--force'], config);

  // A history: one-site deploys, made with git directly (a publish each would take hours to set up).
  const clone = join(work, 'history');
  git(work, 'clone', '-q', manifests, clone);
  for (let d = 0; d < deploys; d++) {
    const id = `site-${(d * 7919) % n}`;
    execFileSync('sh', ['-c', `printf '# deploy ${d}\\n' >> sites/${id}/${id}.yaml`], { cwd: clone });
    git(clone, '-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'commit', '-q', '-am', `Aviary: deploy ${d} of ${id}`);
  }
  git(clone, 'push', '-q', 'origin', 'main');

  const page = join(work, 'status.html');
  const cold = timed(['status', '--repo', manifests, '--html', page], config);
  const warm = timed(['status', '--repo', manifests, '--html', page], config);
  console.log(`aviary status --html of ${n} sites, ${deploys + 1} deploys: ${cold.toFixed(2)} s (first, clones the branch), ${warm.toFixed(2)} s (work dir reused)`);
  console.log(`page: ${(statSync(page).size / 1024 / 1024).toFixed(1)} MB, one file`);

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = await (await browser.newContext()).newPage();
    const loadStarted = Date.now();
    await tab.goto(`file://${page}`, { waitUntil: 'load' });
    const loaded = Date.now() - loadStarted;
    const search = async (text) =>
      tab.evaluate((value) => {
        const input = document.getElementById('search');
        input.value = value;
        const started = performance.now();
        input.dispatchEvent(new Event('input'));
        return { ms: performance.now() - started, shown: document.getElementById('shown').textContent };
      }, text);
    const one = await search(`site-${n - 1} `);
    const many = await search('green');
    const all = await search('');
    console.log(`Chromium: loaded in ${loaded} ms; a search filters ${n} rows in ${one.ms.toFixed(0)} ms (${one.shown}), ${many.ms.toFixed(0)} ms (${many.shown}), clearing it ${all.ms.toFixed(0)} ms`);
  } finally {
    await browser.close();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
