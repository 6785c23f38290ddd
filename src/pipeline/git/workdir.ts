import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { splitUrlCredentials, type GitCredentials } from './credentials.js';
import { gitIn, gitStep, outsideGitError } from './run.js';

/** The manifests repository as Aviary talks to it. */
export interface ManifestsRemote {
  /** URL or local path, without credentials. */
  readonly url: string;
  readonly credentials?: GitCredentials;
}

/** Where a remote's work dir lives under `root`: one per remote, reused across runs. */
export function workDirFor(root: string, url: string): string {
  return join(root, createHash('sha256').update(url).digest('hex').slice(0, 16));
}

/** A local path given as the remote: resolved so the work dir does not depend on the cwd of later runs. */
export function normaliseRemote(repo: string, credentials?: GitCredentials): ManifestsRemote {
  const split = splitUrlCredentials(repo);
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(split.url) || /^[^/]+@[^/]+:/.test(split.url);
  return { url: isUrl ? split.url : resolve(split.url), credentials: credentials ?? split.credentials };
}

const WORK_BRANCH = 'aviary-work';

/**
 * The work root ignores itself, as pytest's cache does: `git add -A` in the
 * config repo must not commit the clones in it as embedded repositories.
 */
function ignoreItself(root: string): void {
  mkdirSync(root, { recursive: true });
  const ignore = join(root, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# Created by Aviary: its work dirs are clones, never part of your repository.\n*\n');
}

/**
 * A private clone of the manifests repository under `.aviary/`, kept between
 * runs so that publishing a one-site change into a big repo fetches and
 * checks out only what changed. It is always reset to a remote head before
 * use; nothing in it is precious.
 */
export class WorkDir {
  private constructor(
    readonly dir: string,
    readonly git: SimpleGit,
    readonly remote: ManifestsRemote,
  ) {}

  static async open(root: string, remote: ManifestsRemote): Promise<WorkDir> {
    ignoreItself(resolve(root));
    const dir = workDirFor(resolve(root), remote.url);
    const fresh = !existsSync(join(dir, '.git'));
    mkdirSync(dir, { recursive: true });
    const git = gitIn(dir, remote.credentials);
    if (fresh) {
      await gitStep('preparing the work dir', async () => {
        await git.raw(['init', '-q', `--initial-branch=${WORK_BRANCH}`]);
        await git.raw(['remote', 'add', 'origin', remote.url]);
      });
    }
    return new WorkDir(dir, git, remote);
  }

  /**
   * Fetches `branch` (shallow unless `full`) and returns its head, or
   * undefined when the remote has no such branch yet (e.g. an empty repo).
   */
  async fetch(branch: string, { full = false }: { full?: boolean } = {}): Promise<string | undefined> {
    const ref = `refs/remotes/origin/${branch}`;
    const depth = full ? (existsSync(join(this.dir, '.git', 'shallow')) ? ['--unshallow'] : []) : ['--depth=1'];
    try {
      await this.git.raw(['fetch', '-q', '--no-tags', ...depth, 'origin', `+refs/heads/${branch}:${ref}`]);
    } catch (error) {
      if (!/couldn't find remote ref/i.test(String((error as Error).message))) throw outsideGitError(`fetching ${branch} from ${this.remote.url}`, error);
      await this.git.raw(['update-ref', '-d', ref]).catch(() => undefined);
      return undefined;
    }
    return (await this.git.raw(['rev-parse', ref])).trim();
  }

  /** Makes the index and the files exactly `commit`'s tree (or empty, for a branch that does not exist yet). */
  async resetTo(commit: string | undefined): Promise<void> {
    await gitStep('resetting the work dir', async () => {
      if (commit) {
        await this.git.raw(['checkout', '-q', '-f', '-B', WORK_BRANCH, commit]);
      } else {
        await this.git.raw(['symbolic-ref', 'HEAD', `refs/heads/${WORK_BRANCH}`]);
        await this.git.raw(['update-ref', '-d', `refs/heads/${WORK_BRANCH}`]).catch(() => undefined);
        await this.git.raw(['read-tree', '--empty']);
      }
      await this.git.raw(['clean', '-q', '-f', '-d', '-x']);
    });
  }

  async head(): Promise<string | undefined> {
    return (await this.git.raw(['rev-parse', '-q', '--verify', 'HEAD']).catch(() => '')).trim() || undefined;
  }
}
