// The README's walkthrough is a real session: this test runs each `$ aviary …`
// line of it, in order, on the example fleet (the repository's own
// sites.yaml and canary.yaml), and fails when what the CLI prints differs
// from what the README shows (commit hashes, times and dates aside). The
// config and manifests repositories are local bare repositories that git
// reaches under the example's GitHub URLs (`url.<path>.insteadOf`); the
// cluster is a local HTTPS server that serves each site from the color the
// published manifests route it to, with the new image broken on
// maple-dental. Where a message names the URL git resolved (the local copy),
// the example's URL is put back. `AVIARY_WALKTHROUGH_UPDATE=1` writes the
// output of this run into the README instead.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../support/cli.js';
import { REPO_ROOT, scratchDir } from '../support/fixtures.js';
import { bareRepo, git } from '../support/git.js';
import { routedColor } from '../support/manifests.js';
import { closeServer, listenLocal } from '../support/ports.js';

const README = join(REPO_ROOT, 'README.md');
const START = '<!-- walkthrough: test/e2e/walkthrough.integration.test.ts runs this block -->';
const CONFIG_URL = 'https://github.com/example/wp-fleet.git';
const MANIFESTS_URL = 'https://github.com/example/wp-fleet-manifests.git';
const BROKEN = 'maple-dental';

interface Step {
  readonly command: string;
  readonly output: string;
}

/** The walkthrough's console block: each `$ ` line and the lines up to the next one. */
function walkthrough(readme: string): { steps: Step[]; start: number; end: number } {
  const at = readme.indexOf(START);
  if (at < 0) throw new Error(`README.md has no ${START}`);
  const start = readme.indexOf('```console\n', at) + '```console\n'.length;
  const end = readme.indexOf('```\n', start);
  const steps: Step[] = [];
  for (const line of readme.slice(start, end).replace(/\n$/, '').split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), output: '' });
    else steps[steps.length - 1] = { ...steps.at(-1)!, output: `${steps.at(-1)!.output}${line}\n` };
  }
  return { steps, start, end };
}

/** A shell's words: spaces split, double quotes group. */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** What changes from run to run: commit hashes, times, dates. Image digests are 12 hex digits too, and fixed, but told apart only by place. */
function normalise(text: string): string {
  return text
    .replace(/\b[0-9a-f]{40}\b/g, '<commit>')
    .replace(/\b[0-9a-f]{12}\b/g, '<hex>')
    .replace(/\b\d+ ms\b/g, 'N ms')
    .replace(/\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?/g, '<date>');
}

const root = scratchDir('aviary-walkthrough-');
const dir = join(root, 'wp-fleet');
const manifests = join(root, 'manifests.git');
const config = join(root, 'config.git');
let server: Server;
let env: Record<string, string>;

beforeAll(async () => {
  const hosts: Record<string, { id: string; name: string }> = {};
  for (const site of (parse(readFileSync(join(REPO_ROOT, 'sites.yaml'), 'utf8')) as { sites: { id: string; name: string; hostnames: string[] }[] }).sites) {
    for (const host of site.hostnames) hosts[host] = { id: site.id, name: site.name };
  }
  // A certificate for every host, trusted by the CLI through NODE_EXTRA_CA_CERTS.
  const key = join(root, 'key.pem');
  const cert = join(root, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=fleet.example', '-keyout', key, '-out', cert, '-addext', `subjectAltName=${Object.keys(hosts).map((h) => `DNS:${h}`).join(',')}`], { stdio: 'ignore' });
  server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const site = hosts[String(req.headers.host)];
    if (!site) return void res.writeHead(404).end();
    const color = routedColor(manifests, site.id);
    if (site.id === BROKEN && color === 'green') return void res.writeHead(500).end('<h1>Error establishing a database connection</h1>');
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<title>${site.name}</title><p>Welcome to WordPress (${color}).</p>`);
  });
  const port = await listenLocal(server);

  bareRepo(manifests);
  bareRepo(config);
  // In HOME: Aviary drops GIT_* variables from what its git sees (simple-git's guard), as it would a runner's.
  const gitconfig = join(root, '.gitconfig');
  writeFileSync(gitconfig, `[user]\n\tname = Ann Operator\n\temail = ann@example.com\n[url "${manifests}"]\n\tinsteadOf = ${MANIFESTS_URL}\n[url "${config}"]\n\tinsteadOf = ${CONFIG_URL}\n`);
  env = {
    PATH: process.env.PATH ?? '',
    HOME: root,
    GIT_CONFIG_NOSYSTEM: '1',
    NODE_EXTRA_CA_CERTS: cert,
    NO_COLOR: '1',
    AVIARY_CONNECT_TO: Object.keys(hosts).map((h) => `${h}:443:127.0.0.1:${port}`).join(','),
  };
  const run = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, stdio: 'pipe' });
  run(root, 'clone', '-q', CONFIG_URL, dir);
  for (const file of ['sites.yaml', 'canary.yaml']) copyFileSync(join(REPO_ROOT, file), join(dir, file));
  run(dir, 'checkout', '-q', '-b', 'main');
  run(dir, 'add', 'sites.yaml', 'canary.yaml');
  run(dir, 'commit', '-q', '-m', 'The fleet');
  run(dir, 'push', '-q', '-u', 'origin', 'main');
  // The fleet as the pipeline last deployed it.
  const published = spawnSync(process.execPath, [CLI, 'publish'], { cwd: dir, env, encoding: 'utf8' });
  if (published.status !== 0) throw new Error(`the first publish failed:\n${published.stderr}`);
}, 120_000);
afterAll(() => server && closeServer(server));

/** One command as a terminal shows it: stdout and stderr interleaved as written. */
function runStep(command: string): Promise<string> {
  const [program, ...args] = words(command);
  if (program !== 'aviary') throw new Error(`the walkthrough runs aviary only, not: ${command}`);
  return new Promise((done, fail) => {
    const child = spawn('sh', ['-c', 'exec "$@" 2>&1', 'sh', process.execPath, CLI, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString('utf8')));
    child.on('error', fail);
    // git pushes to the local copies under the example's URLs; messages name what it pushed to.
    child.on('close', () => done(out.replaceAll(config, CONFIG_URL).replaceAll(manifests, MANIFESTS_URL)));
  });
}

describe("the README's walkthrough", () => {
  it('prints, command by command, what the README shows', { timeout: 300_000 }, async () => {
    const readme = readFileSync(README, 'utf8');
    const { steps, start, end } = walkthrough(readme);
    expect(steps.length).toBeGreaterThan(2);
    const actual: Step[] = [];
    for (const step of steps) actual.push({ command: step.command, output: await runStep(step.command) });
    if (process.env.AVIARY_WALKTHROUGH_UPDATE === '1') {
      writeFileSync(README, readme.slice(0, start) + actual.map((s) => `$ ${s.command}\n${s.output}`).join('') + readme.slice(end));
      return;
    }
    for (const [i, step] of steps.entries()) expect(normalise(actual[i]!.output), `$ ${step.command}`).toBe(normalise(step.output));
    // And what the session did to the fleet, read from git rather than from its own words.
    expect(['rrr', BROKEN, 'studio-lumen', 'harbor-cafe'].map((id) => routedColor(manifests, id))).toEqual(['blue', 'blue', 'green', 'green']);
    expect(await git(config, 'log', '-1', '--format=%s', 'main')).toMatch(/^Revert "Roll out green: ring 2\/2/);
  });
});
