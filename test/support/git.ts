// Real git repositories for the tests: bare remotes, config repos holding
// sites.yaml / canary.yaml histories, a config repo on its "forge" (pull
// requests as branches merged with --no-ff, fresh CI checkouts), a manifests
// repo published to with Aviary-Source trailers, and reading trees back.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { canaryYaml, sitesYaml, tempDir, type SiteSpec } from './fixtures.js';

const exec = promisify(execFile);
const MAX_BUFFER = 64 * 1024 * 1024;

/**
 * git with no system config and a global config of the tests' own
 * (test/support/gitconfig: an identity, which a repository's own config
 * overrides), and none of the caller's GIT_* variables, so the machine's
 * settings cannot change a result.
 */
export const GIT_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_'))),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: resolve(import.meta.dirname, 'gitconfig'),
  GIT_TERMINAL_PROMPT: '0',
};

/** git's output as it wrote it. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('git', args, { cwd, env: GIT_ENV, maxBuffer: MAX_BUFFER });
  return stdout;
}

function gitRaw(cwd: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', maxBuffer: MAX_BUFFER });
}

/** git, waited for, its output trimmed: for the scripted worlds of the end-to-end tests. */
export function gitSync(cwd: string, ...args: string[]): string {
  return gitRaw(cwd, args).trim();
}

// ---- repositories ----

/**
 * An empty bare repository on main at `dir` (made with its parents).
 * `allowFilter`: it serves partial fetches (--filter=blob:none), as a hosted forge does.
 */
export function bareRepo(dir: string = tempDir('aviary-bare-'), { allowFilter = false } = {}): string {
  mkdirSync(dir, { recursive: true });
  gitSync(dir, 'init', '-q', '--bare', '--initial-branch=main');
  if (allowFilter) gitSync(dir, 'config', 'uploadpack.allowFilter', 'true');
  return dir;
}

/** An empty repository on main at `dir` (made with its parents). */
export function initRepo(dir: string = tempDir('aviary-config-')): string {
  mkdirSync(dir, { recursive: true });
  gitSync(dir, 'init', '-q', '--initial-branch=main');
  return dir;
}

/** Writes the files (paths relative to `repo`) and commits them; returns the commit. */
export function commitFiles(repo: string, files: Readonly<Record<string, string>>, message = 'change'): string {
  for (const [path, text] of Object.entries(files)) writeFileSync(join(repo, path), text);
  gitSync(repo, 'add', '-A');
  gitSync(repo, 'commit', '-q', '--allow-empty', '-m', message);
  return gitSync(repo, 'rev-parse', 'HEAD');
}

/** Writes the inputs (canary.yaml only when given) and commits them; returns the commit. */
export async function commitInputs(dir: string, message: string, sites: string, canary?: string): Promise<string> {
  return commitFiles(dir, { 'sites.yaml': sites, ...(canary === undefined ? {} : { 'canary.yaml': canary }) }, message);
}

/** A config repo (committing as Ann Operator) with a first commit of the given inputs; returns its dir. */
export function configRepo(dir: string, sites: string, canary = canaryYaml()): string {
  initRepo(dir);
  gitSync(dir, 'config', 'user.name', 'Ann Operator');
  gitSync(dir, 'config', 'user.email', 'ann@example.com');
  gitSync(dir, 'config', 'commit.gpgsign', 'false');
  commitFiles(dir, { '.gitignore': '.aviary/\ndist/\n', 'sites.yaml': sites, 'canary.yaml': canary }, 'initial fleet');
  return dir;
}

/** A bare manifests repo and a working clone of it to publish from, with or without an Aviary-Source trailer. */
export function manifestsRepo(): { bare: string; publish: (source: string | undefined, branch?: string) => void } {
  const bare = bareRepo(tempDir('aviary-manifests-bare-'));
  const work = initRepo();
  let n = 0;
  return {
    bare,
    publish: (source, branch = 'main') => {
      gitSync(work, 'checkout', '-q', '-B', branch);
      commitFiles(work, { 'n.txt': String(++n) }, source ? `Publish manifests\n\nAviary-Source: ${source}\n` : 'A hand-made fix\n');
      gitSync(work, 'push', '-q', bare, `HEAD:refs/heads/${branch}`);
    },
  };
}

// ---- the config repo on its forge ----

export class ConfigForge {
  readonly origin: string;
  /** A developer's clone, where pull requests are written and merged. */
  readonly dev: string;

  constructor(sites: readonly SiteSpec[]) {
    const root = tempDir('aviary-e2e-config-');
    this.origin = bareRepo(join(root, 'config.git'));
    this.dev = configRepo(join(root, 'dev'), sitesYaml(sites));
    gitSync(this.dev, 'remote', 'add', 'origin', this.origin);
    gitSync(this.dev, 'push', '-q', '-u', 'origin', 'main');
  }

  get main(): string {
    return gitSync(this.dev, 'rev-parse', 'main');
  }

  /** Opens a "pull request": a branch off main with the new sites.yaml. Returns the branch head. */
  pullRequest(branch: string, sites: readonly SiteSpec[], base = 'main'): string {
    gitSync(this.dev, 'checkout', '-q', '-B', branch, base);
    writeFileSync(join(this.dev, 'sites.yaml'), sitesYaml(sites));
    gitSync(this.dev, 'commit', '-q', '-am', `${branch}`);
    gitSync(this.dev, 'push', '-q', '-f', 'origin', branch);
    gitSync(this.dev, 'checkout', '-q', 'main');
    return gitSync(this.dev, 'rev-parse', branch);
  }

  /** Merges the branch into main as GitHub's merge button does (a merge commit) and pushes main. */
  merge(branch: string): string {
    gitSync(this.dev, 'checkout', '-q', 'main');
    gitSync(this.dev, 'pull', '-q', '--ff-only', 'origin', 'main');
    gitSync(this.dev, 'merge', '-q', '--no-ff', '-m', `Merge ${branch}`, branch);
    gitSync(this.dev, 'push', '-q', 'origin', 'main');
    return this.main;
  }

  /** A fresh CI checkout of `commit` with full history (fetch-depth: 0). */
  checkout(commit: string): string {
    const dir = tempDir('aviary-e2e-ci-');
    gitSync(dir, 'clone', '-q', this.origin, '.');
    gitSync(dir, 'fetch', '-q', 'origin', commit);
    gitSync(dir, 'checkout', '-q', '--detach', commit);
    return dir;
  }
}

// ---- reading a repository back ----

/** path → content of every file of `ref` under `prefix` (paths relative to it) in a (bare) repo. */
export function treeAt(repo: string, ref = 'main', prefix = ''): Map<string, string> {
  const names = gitSync(repo, 'ls-tree', '-r', '--name-only', ref, ...(prefix ? ['--', prefix] : [])).split('\n').filter(Boolean);
  return new Map(names.map((name) => [prefix ? name.slice(prefix.length + 1) : name, gitRaw(repo, ['show', `${ref}:${name}`])]));
}

export function treeOf(bare: string, ref = 'main'): string {
  return gitSync(bare, 'rev-parse', `${ref}^{tree}`);
}

export function hasSiteFiles(bare: string, id: string, ref = 'main'): boolean {
  return gitSync(bare, 'ls-tree', '-r', '--name-only', ref, '--', `sites/${id}/`) !== '';
}
