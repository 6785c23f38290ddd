import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs the built `aviary` CLI as a user would: a real process, in a temporary
 * directory holding copies of the fixtures. `npm test` builds first; when
 * running vitest alone, run `npm run build` before.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'lib/pipeline/cli.js');

export const DIGEST_BLUE = '1274e8bc5c4d1d6b0f3a52e1b4f0e7d2a9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a';
export const DIGEST_GREEN = '216c0204a7f3e9d8c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4';
export const DIGEST_NEW = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

/**
 * A sites.yaml with what people write by hand: comments above, beside and
 * below entries, blank lines, both quote styles, a flow-style entry, a block
 * and a flow hostname list, an upgraded-not-promoted site (explicit ingress).
 */
export const SITES_FIXTURE = `# The fleet: one entry per site.
sites:
  - id: alpha                     # the first site
    name: "Alpha | one"
    theme: astra
    hostnames: [alpha.example.com]
    canonicalHostname: alpha.example.com
    service: blue                 # on blue for now

  # beta was upgraded, not promoted
  - id: beta
    name: 'Beta'
    theme: kadence
    hostnames:
      - beta.example.com
      - www.beta.example.com
    canonicalHostname: www.beta.example.com
    service: green
    ingress: blue   # traffic stays on blue

  - { id: gamma, name: Gamma, theme: astra, hostnames: [gamma.example.com], service: blue }

  - id: delta
    name: Delta
    theme: twentytwentyfour
    hostnames: [delta.example.com, www.delta.example.com]
    service: green
# end of the fleet
`;

/** green is the active canary; green's digest is double-quoted on purpose (quoting must survive an edit). */
export const CANARY_FIXTURE = `# The two colors.
repository: 123456789012.dkr.ecr.us-west-2.amazonaws.com/wp-fleet
selector: green        # the active canary
services:
  blue:  { imageTag: ${DIGEST_BLUE}, replicas: 2 }
  green:
    imageTag: "${DIGEST_GREEN}"   # pushed by CI
    replicas: 1

previewDomain: preview.example.com
`;

/** A sites.yaml of `n` generated sites, `color` for all, with a comment and a blank line per entry. */
export function fleetOf(n: number, color: 'blue' | 'green' = 'blue'): string {
  const entries = Array.from({ length: n }, (_, i) => {
    const id = `site-${String(i).padStart(5, '0')}`;
    return `  # site number ${i}\n  - id: ${id}\n    name: "Site ${i}"\n    theme: astra\n    hostnames: [${id}.example.com]\n    service: ${color}\n`;
  });
  return `# generated\nsites:\n${entries.join('\n')}`;
}

export interface Workdir {
  readonly dir: string;
  path(name: string): string;
  read(name: string): string;
  write(name: string, text: string): void;
  /** Modification time in ns and bytes, to prove a file was not touched. */
  stamp(name: string): { mtimeNs: bigint; bytes: string };
  /** Runs `aviary` there with the given arguments. */
  run(args: readonly string[]): Promise<CliResult>;
  remove(): void;
}

/** A temporary directory with `files` (default: the two fixtures as sites.yaml and canary.yaml). */
export function workdir(files: Readonly<Record<string, string>> = { 'sites.yaml': SITES_FIXTURE, 'canary.yaml': CANARY_FIXTURE }): Workdir {
  const dir = mkdtempSync(join(tmpdir(), 'aviary-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return {
    dir,
    path: (name) => join(dir, name),
    read: (name) => readFileSync(join(dir, name), 'utf8'),
    write: (name, text) => writeFileSync(join(dir, name), text),
    stamp: (name) => ({ mtimeNs: statSync(join(dir, name), { bigint: true }).mtimeNs, bytes: readFileSync(join(dir, name), 'utf8') }),
    run: (args) => runCli(args, { cwd: dir }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawns `node lib/pipeline/cli.js ARGS` and collects its exit status and output. */
export function runCli(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before these tests (npm test does it)`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ status: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}
