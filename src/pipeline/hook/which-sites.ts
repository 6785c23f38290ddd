import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { parseFleet } from '../../sites/load.js';
import { Source } from '../../sites/source.js';
import type { Fleet, Site } from '../../sites/types.js';
import { OutsideSystemError, RefusedError } from '../errors.js';
import { mask } from '../git/mask.js';
import { SOURCE_TRAILER } from '../git/message.js';
import type { GitCredentials } from '../git/credentials.js';
import { explainGitFailure, gitIn } from '../git/run.js';


/** What the hooks should do for a deploy: provision the new sites, tear down the removed ones. */
export interface HookPlan {
  readonly provision: Site[];
  readonly teardown: string[];
}

/**
 * New and removed sites between the last published deploy and now. With no
 * previous deploy, every declared site is new and none is removed.
 */
export function hookPlan(previous: readonly Site[] | undefined, current: Fleet): HookPlan {
  const before = new Set((previous ?? []).map((s) => s.id));
  const now = new Set(current.sites.map((s) => s.id));
  return {
    provision: current.sites.filter((s) => !before.has(s.id)),
    teardown: [...before].filter((id) => !now.has(id)),
  };
}

/** Explicit ids for provision: each must be declared in sites.yaml. */
export function declaredSites(ids: readonly string[], fleet: Fleet, sitesFile: string): Site[] {
  const unknown = ids.filter((id) => !fleet.sites.some((s) => s.id === id));
  if (unknown.length > 0) {
    throw new RefusedError(`not declared in ${sitesFile}: ${unknown.join(', ')}; add the site(s) to ${sitesFile} before provisioning`);
  }
  return [...new Set(ids)].map((id) => fleet.sites.find((s) => s.id === id)!);
}

/** Explicit ids for teardown: none may still be declared, or its manifests would outlive its data. */
export function undeclaredIds(ids: readonly string[], fleet: Fleet, sitesFile: string): string[] {
  const declared = ids.filter((id) => fleet.sites.some((s) => s.id === id));
  if (declared.length > 0) {
    throw new RefusedError(
      `still declared in ${sitesFile}: ${declared.join(', ')}; remove the site(s) from ${sitesFile} (and publish) before tearing them down`,
    );
  }
  return [...new Set(ids)];
}

export interface LastDeployOptions {
  /** URL or path of the manifests repository. */
  readonly manifestsRepo: string;
  /** @default 'main' */
  readonly branch?: string;
  /** The input files, in the config repository (the cwd's git repository). */
  readonly sitesPath: string;
  readonly canaryPath: string;
}

/**
 * The sites of the last published deploy: the newest commit of the manifests
 * branch that carries an `Aviary-Source` trailer names a config commit, and
 * sites.yaml is read at that commit. `undefined` when nothing was published yet.
 */
export async function lastDeployedSites(opts: LastDeployOptions): Promise<readonly Site[] | undefined> {
  const source = await lastDeployedSource(opts.manifestsRepo, opts.branch ?? 'main');
  if (!source) return undefined;
  return sitesAt(source, opts.sitesPath, opts.canaryPath);
}

export interface DeployLookup {
  /** Skip deploys of this config commit (a pipeline re-run looks past its own deploy). */
  readonly exclude?: string;
  /** Sent as an Authorization header, never in the URL. @default none (credentials in the URL, if any) */
  readonly credentials?: GitCredentials;
}

/** The config commit named by the newest manifests commit with the trailer, or undefined. */
export async function lastDeployedSource(manifestsRepo: string, branch: string, lookup: DeployLookup = {}): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'aviary-manifests-'));
  try {
    const git = gitIn(dir, lookup.credentials);
    await git.init();
    const shown = redactUrl(manifestsRepo);
    try {
      const heads = await git.listRemote(['--heads', manifestsRepo, `refs/heads/${branch}`]);
      if (heads.trim() === '') return undefined; // an empty repository or a branch not yet created: never published
      // Commits only: the trailer is in the message, so no file contents are needed.
      await git.raw(['fetch', '--quiet', '--no-tags', '--filter=blob:none', manifestsRepo, `refs/heads/${branch}`]);
    } catch (error) {
      const message = explainGitFailure(mask(redactUrl((error as Error).message)));
      throw new OutsideSystemError('git', `read branch ${branch} of the manifests repository ${shown}`, new Error(message));
    }
    // One record per commit, newest first; a commit with the trailer twice counts by its last one.
    const log = await git.raw(['log', `--format=%x01%(trailers:key=${SOURCE_TRAILER},valueonly,separator=%x20)`, 'FETCH_HEAD']);
    for (const record of log.split('\x01')) {
      const sha = record.trim().split(/\s+/).pop();
      if (sha && sha !== lookup.exclude) return sha;
    }
    return undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads and validates sites.yaml (and canary.yaml) as they were at `sha` in the config repository. */
export async function sitesAt(sha: string, sitesPath: string, canaryPath: string): Promise<readonly Site[]> {
  const git = gitIn(dirname(resolve(sitesPath)));
  const top = (await git.revparse(['--show-toplevel'])).trim();
  if (!/^[0-9a-f]{7,64}$/i.test(sha)) {
    throw new OutsideSystemError('git', 'read the last deploy', new Error(`the ${SOURCE_TRAILER} trailer "${sha}" is not a commit id`));
  }
  if (!(await hasCommit(git, sha))) {
    // CI checkouts are often shallow: try to fetch just that commit before giving up.
    await git.raw(['fetch', '--quiet', '--depth=1', 'origin', sha]).catch(() => undefined);
    if (!(await hasCommit(git, sha))) {
      throw new OutsideSystemError(
        'git',
        `read the inputs of the last deploy (commit ${sha})`,
        new Error(`commit ${sha} is not in the config repository ${top}; fetch its full history (e.g. fetch-depth: 0) and run again`),
      );
    }
  }
  const show = async (path: string): Promise<string | undefined> => {
    const rel = relative(top, resolve(path)).split('\\').join('/');
    return git.show([`${sha}:${rel}`]).catch(() => undefined);
  };
  const sitesText = await show(sitesPath);
  if (sitesText === undefined) return []; // the file did not exist yet: no sites then
  // Problems are reported against e.g. `sites.yaml@1a2b3c4d5e6f`, so nobody edits today's file to fix them.
  const at = sha.slice(0, 12);
  const canaryText = (await show(canaryPath)) ?? readFileSync(canaryPath, 'utf8');
  return parseFleet(new Source(`${sitesPath}@${at}`, sitesText), new Source(`${canaryPath}@${at}`, canaryText)).sites;
}

async function hasCommit(git: SimpleGit, sha: string): Promise<boolean> {
  return git
    .raw(['cat-file', '-e', `${sha}^{commit}`])
    .then(() => true)
    .catch(() => false);
}

/** Credentials in a remote URL must not reach a message. */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1***@').replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^:/@\s]+@/gi, '$1***@');
}
