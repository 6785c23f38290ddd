import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutsideSystemError } from '../shared/errors.js';
import { mask } from '../shared/mask.js';
import { PATH_TRAILER, SOURCE_TRAILER } from './message.js';
import type { GitCredentials } from '../git/credentials.js';
import { explainGitFailure, gitIn } from '../git/run.js';
import { normalisePrefix } from '../git/sync.js';

/**
 * The manifests branch is a log of deploys: each Aviary commit names the
 * config commit it was made from (`Aviary-Source`) and the folder it wrote
 * (`Aviary-Path`). This reads that log.
 */

export interface DeployLookup {
  /** Skip deploys of this config commit (a pipeline re-run looks past its own deploy). */
  readonly exclude?: string;
  /** Sent as an Authorization header, never in the URL. @default none (credentials in the URL, if any) */
  readonly credentials?: GitCredentials;
  /**
   * Only deploys to this folder of the manifests repo (its `Aviary-Path`
   * trailer); deploys written before that trailer existed count for every path.
   * @default '.'
   */
  readonly path?: string;
}

/** The config commit named by the newest manifests commit with the trailer, or undefined. */
export async function lastDeployedSource(manifestsRepo: string, branch: string, lookup: DeployLookup = {}): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'aviary-manifests-'));
  try {
    const git = gitIn(dir, lookup.credentials);
    await git.init();
    const shown = mask(manifestsRepo);
    try {
      const heads = await git.listRemote(['--heads', manifestsRepo, `refs/heads/${branch}`]);
      if (heads.trim() === '') return undefined; // an empty repository or a branch not yet created: never published
      // Commits only: the trailer is in the message, so no file contents are needed.
      await git.raw(['fetch', '--quiet', '--no-tags', '--filter=blob:none', manifestsRepo, `refs/heads/${branch}`]);
    } catch (error) {
      const message = explainGitFailure(mask((error as Error).message));
      throw new OutsideSystemError('git', `read branch ${branch} of the manifests repository ${shown}`, new Error(message));
    }
    // One record per commit, newest first; a commit with a trailer twice counts by its last one.
    const trailer = (key: string) => `%(trailers:key=${key},valueonly,separator=%x20)`;
    const log = await git.raw(['log', `--format=%x01${trailer(SOURCE_TRAILER)}%x02${trailer(PATH_TRAILER)}`, 'FETCH_HEAD']);
    const path = normalisePrefix(lookup.path ?? '.');
    for (const record of log.split('\x01')) {
      const [sources = '', paths = ''] = record.split('\x02');
      const sha = sources.trim().split(/\s+/).pop();
      const at = paths.trim().split(/\s+/).pop();
      if (sha && sha !== lookup.exclude && (!at || samePrefix(at, path))) return sha;
    }
    return undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Whether a commit's path trailer names `prefix` (a path that leaves the repo names nothing). */
function samePrefix(trailer: string, prefix: string): boolean {
  try {
    return normalisePrefix(trailer) === prefix;
  } catch {
    return false;
  }
}

/** Where a fleet deploys, in words: "main of https://…/manifests.git, folder fleet/". */
export function deployTarget(branch: string, url: string, path: string): string {
  const prefix = normalisePrefix(path);
  return `${branch} of ${url}${prefix === '.' ? '' : `, folder ${prefix}/`}`;
}
