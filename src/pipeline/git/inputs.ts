import { simpleGit, type SimpleGit } from 'simple-git';
import { failOnExitCode, SSH_PASSTHROUGH } from './run.js';

/**
 * The config repository (the cwd): where sites.yaml and canary.yaml are
 * versioned. Read only here; rollback.ts writes to it.
 */
export function configRepo(dir: string): SimpleGit {
  return simpleGit({ baseDir: dir, config: ['commit.gpgsign=false', 'core.autocrlf=false'], ...SSH_PASSTHROUGH, errors: failOnExitCode });
}

/** HEAD of the config repo, or undefined when `dir` is not in a git repository. */
export async function inputCommit(dir: string): Promise<string | undefined> {
  try {
    return (await configRepo(dir).raw(['rev-parse', '-q', '--verify', 'HEAD'])).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** `Name <email>` of a commit's author, or undefined when the commit is unknown here. */
export async function authorOf(dir: string, commit: string): Promise<string | undefined> {
  try {
    return (await configRepo(dir).raw(['log', '-1', '--format=%an <%ae>', commit])).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `ancestor` is `descendant` or one of its ancestors; undefined when
 * either commit is not known locally (a shallow CI checkout, say).
 */
export async function isAncestor(dir: string, ancestor: string, descendant: string): Promise<boolean | undefined> {
  const git = configRepo(dir);
  try {
    await git.raw(['cat-file', '-e', `${ancestor}^{commit}`]);
    await git.raw(['cat-file', '-e', `${descendant}^{commit}`]);
  } catch {
    return undefined;
  }
  try {
    await git.raw(['merge-base', '--is-ancestor', ancestor, descendant]);
    return true;
  } catch {
    return false;
  }
}
