// Real repositories for the publishing tests: bare remotes, config repos
// with sites.yaml/canary.yaml histories, and the CLI as a real process.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { renderFleet } from '../../../src/charts/render.js';
import { parseFleet } from '../../../src/sites/load.js';
import { Source } from '../../../src/sites/source.js';
import type { ManifestFile } from '../../../src/charts/render.js';

const exec = promisify(execFile);
export const CLI = fileURLToPath(new URL('../../../lib/pipeline/cli.js', import.meta.url));

/** git with no user or system config, so the machine's settings cannot change a result. */
export const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('git', args, { cwd, env: GIT_ENV, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

export function tempDir(prefix = 'aviary-publish-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function bareRepo(dir: string): Promise<string> {
  await exec('git', ['init', '-q', '--bare', '--initial-branch=main', dir], { env: GIT_ENV });
  return dir;
}

export interface SiteSpec {
  id: string;
  service?: 'blue' | 'green';
  ingress?: 'blue' | 'green';
  theme?: string;
}

/** One block per site, far enough apart that edits of different sites never touch the same lines. */
export function sitesYaml(sites: readonly SiteSpec[]): string {
  const blocks = sites.map((s) =>
    [
      `  - id: ${s.id}`,
      `    name: "Site ${s.id}"`,
      `    service: ${s.service ?? 'blue'}`,
      ...(s.ingress ? [`    ingress: ${s.ingress}`] : []),
      `    theme: ${s.theme ?? 'astra'}`,
      `    hostnames: [${s.id}.example.com]`,
      `    # end of ${s.id}`,
    ].join('\n'),
  );
  return `sites:\n${blocks.join('\n\n')}\n`;
}

export const BLUE = '1274e8bc5c4d1d6b0f3a52e1b4f0e7d2a9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a';
export const GREEN = '216c0204a7f3e9d8c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4';

export function canaryYaml({ selector = 'green', blue = BLUE, green = GREEN } = {}): string {
  return [
    'repository: 123456789012.dkr.ecr.us-west-2.amazonaws.com/wp-fleet',
    `selector: ${selector}`,
    'services:',
    '  blue:',
    `    imageTag: ${blue}`,
    '    replicas: 2',
    '  green:',
    `    imageTag: ${green}`,
    '    replicas: 1',
    '',
  ].join('\n');
}

/** The manifests of inputs given as text (no salt: tests compare renders with renders). */
export function render(sites: string, canary: string): ManifestFile[] {
  return renderFleet(parseFleet(new Source('sites.yaml', sites), new Source('canary.yaml', canary)));
}

/** A config repo with a first commit of the given inputs; returns its dir. */
export async function configRepo(dir: string, sites: string, canary = canaryYaml()): Promise<string> {
  await exec('git', ['init', '-q', '--initial-branch=main', dir], { env: GIT_ENV });
  await git(dir, 'config', 'user.name', 'Ann Operator');
  await git(dir, 'config', 'user.email', 'ann@example.com');
  await git(dir, 'config', 'commit.gpgsign', 'false');
  writeFileSync(join(dir, '.gitignore'), '.aviary/\ndist/\n');
  await commitInputs(dir, 'initial fleet', sites, canary);
  return dir;
}

/** Writes the inputs and commits them; returns the commit. */
export async function commitInputs(dir: string, message: string, sites: string, canary?: string): Promise<string> {
  writeFileSync(join(dir, 'sites.yaml'), sites);
  if (canary !== undefined) writeFileSync(join(dir, 'canary.yaml'), canary);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', message);
  return (await git(dir, 'rev-parse', 'HEAD')).trim();
}

/** path → content of every file of `commit` under `prefix` in a (bare) repo. */
export async function treeAt(repo: string, commit: string, prefix = ''): Promise<Map<string, string>> {
  const names = (await git(repo, 'ls-tree', '-r', '--name-only', commit, ...(prefix ? ['--', prefix] : []))).split('\n').filter(Boolean);
  const out = new Map<string, string>();
  for (const name of names) out.set(prefix ? name.slice(prefix.length + 1) : name, await git(repo, 'show', `${commit}:${name}`));
  return out;
}

export function asMap(files: readonly ManifestFile[]): Map<string, string> {
  return new Map(files.map((f) => [f.path, f.content]));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI as a real process (npm test builds first). */
export function runCli(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const base: NodeJS.ProcessEnv = { ...GIT_ENV };
    for (const key of ['AVIARY_MANIFESTS_REPO', 'AVIARY_GIT_TOKEN', 'AVIARY_GIT_USERNAME', 'GITHUB_TOKEN']) delete base[key];
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...base, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });
}
