// The built `aviary` CLI as a user runs it: a real process (`npm test` builds
// lib/ first; when running vitest alone, run `npm run build` before), in a
// folder of the test's, with PATH, HOME and only the environment the test gives.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { CANARY_FIXTURE, canaryYaml, REPO_ROOT, SITES_FIXTURE, sitesYaml, tempDir, type SiteSpec } from './fixtures.js';

export const CLI = join(REPO_ROOT, 'lib/pipeline/cli.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Variables for the CLI's environment; an undefined one is left out. */
export type CliEnv = Readonly<Record<string, string | undefined>>;

export interface CliRun {
  cwd: string;
  env?: CliEnv;
}

const MAX_BUFFER = 64 * 1024 * 1024;

/** PATH and HOME, and `env`: nothing else of the test process leaks into a run. */
function environment(env: CliEnv = {}): Record<string, string> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before these tests (npm test does it)`);
  const out: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Runs `node lib/pipeline/cli.js ARGS` in `cwd` and collects its exit status and output. */
export function runCli(args: readonly string[], run: CliRun): Promise<CliResult>;
/** The same, in the order of the publishing tests: the folder first. */
export function runCli(cwd: string, args: readonly string[], env?: CliEnv): Promise<CliResult>;
export function runCli(first: string | readonly string[], second: readonly string[] | CliRun, third?: CliEnv): Promise<CliResult> {
  const [args, { cwd, env }]: [readonly string[], CliRun] = typeof first === 'string' ? [second as readonly string[], { cwd: first, env: third }] : [first, second as CliRun];
  const options = { cwd, env: environment(env), timeout: 120_000, maxBuffer: MAX_BUFFER };
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], options, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** runCli for a synchronous test. */
export function runCliSync(args: readonly string[], { cwd, env }: CliRun): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: environment(env), encoding: 'utf8', timeout: 120_000, maxBuffer: MAX_BUFFER });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Fails with the run's whole output, so a broken run explains itself; returns the run. */
export function expectOk<T extends CliResult>(r: T): T {
  if (r.code !== 0) throw new Error(`step failed with ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

// ---- a folder to run it in ----

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

/** A temporary directory with `files` (default: the two hand-written fixtures as sites.yaml and canary.yaml). */
export function workdir(files: Readonly<Record<string, string>> = { 'sites.yaml': SITES_FIXTURE, 'canary.yaml': CANARY_FIXTURE }): Workdir {
  const dir = tempDir('aviary-cli-');
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

/** `workdir` for a test file: every folder it made is removed after the file's tests. */
export function workdirs(): (files?: Readonly<Record<string, string>>) => Workdir {
  const made: Workdir[] = [];
  afterAll(() => made.forEach((w) => w.remove()));
  return (files) => {
    const w = workdir(files);
    made.push(w);
    return w;
  };
}

/** A workdir with a generated sites.yaml of `sites` and the minimal canary.yaml, plus `canaryExtra` (YAML text). */
export function fleetDir(sites: readonly SiteSpec[], canaryExtra = ''): Workdir {
  return workdir({ 'sites.yaml': sitesYaml(sites), 'canary.yaml': canaryYaml({ extra: canaryExtra }) });
}
