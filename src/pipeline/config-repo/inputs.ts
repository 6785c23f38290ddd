import { dirname, relative, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { RefusedError, UsageError } from '../shared/errors.js';
import { failOnExitCode, SSH_PASSTHROUGH } from '../git/run.js';

/**
 * The config repository (the cwd): where sites.yaml and canary.yaml are
 * versioned. Read only here; rollback.ts writes to it.
 */
export function configRepo(dir: string, extraConfig: readonly string[] = []): SimpleGit {
  return simpleGit({ baseDir: dir, config: ['commit.gpgsign=false', 'core.autocrlf=false', ...extraConfig], ...SSH_PASSTHROUGH, errors: failOnExitCode });
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
  if (!(await hasCommit(dir, ancestor)) || !(await hasCommit(dir, descendant))) return undefined;
  try {
    await configRepo(dir).raw(['merge-base', '--is-ancestor', ancestor, descendant]);
    return true;
  } catch {
    return false;
  }
}

export async function hasCommit(dir: string, sha: string): Promise<boolean> {
  return configRepo(dir)
    .raw(['cat-file', '-e', `${sha}^{commit}`])
    .then(() => true, () => false);
}

/** The remote the config repo is cloned from: `origin`, else its only (or first) remote. */
export async function configRemote(dir: string): Promise<string | undefined> {
  const remotes = (await configRepo(dir).raw(['remote']).catch(() => '')).split('\n').filter(Boolean);
  return remotes.includes('origin') ? 'origin' : remotes[0];
}

/**
 * Brings `commit` into sight when a CI checkout is shallow or of one branch:
 * every branch of the remote with its whole history, then the commit itself
 * where the server allows. Never a shallow fetch: a depth limit would cut
 * the history the deploy order is decided on.
 */
export async function fetchHistory(dir: string, commit: string): Promise<void> {
  const remote = await configRemote(dir);
  if (!remote) return;
  const git = configRepo(dir);
  const shallow = (await git.raw(['rev-parse', '--is-shallow-repository']).catch(() => 'false')).trim() === 'true';
  await git.raw(['fetch', '-q', '--no-tags', ...(shallow ? ['--unshallow'] : []), remote, `+refs/heads/*:refs/remotes/${remote}/*`]).catch(() => undefined);
  if (!(await hasCommit(dir, commit))) await git.raw(['fetch', '-q', '--no-tags', remote, commit]).catch(() => undefined);
}

/** What a deploy may say about where its inputs came from. */
export interface InputsOrigin {
  /** The top of the config repository holding both input files. */
  readonly configDir?: string;
  /** The input commit to record (`Aviary-Source`): the inputs are exactly that commit's files. */
  readonly source?: string;
  /**
   * The commit the inputs build on, for ordering deploys: the source, or
   * HEAD when uncommitted edits were allowed. Undefined outside any repository.
   */
  readonly base?: string;
}

/**
 * Finds the commit the input files are, and refuses when none is: a deploy
 * that names a commit not holding its inputs would make a later rollback
 * undo a change no commit records. With `allowDirty` the deploy goes ahead
 * with no source (and so tears nothing down).
 */
export async function resolveInputs(files: readonly string[], opts: { readonly source?: string; readonly allowDirty?: boolean }): Promise<InputsOrigin> {
  const refuse = (problem: string): InputsOrigin => {
    if (opts.allowDirty) return {};
    throw new RefusedError(
      `${problem}. A deploy records the config commit its inputs come from; commit the inputs and run from a clone of the config repo, ` +
        'or pass --allow-dirty to publish them unrecorded (no Aviary-Source; nothing is torn down)',
    );
  };
  const tops = await Promise.all(files.map((f) => toplevel(dirname(resolve(f)))));
  const top = tops[0];
  if (!top || tops.some((t) => t !== top)) {
    const outside = files.filter((_, i) => !tops[i] || tops[i] !== top);
    return refuse(`${(outside.length ? outside : files).join(' and ')} ${outside.length === 1 ? 'is' : 'are'} not in the git repository of ${files[0]}`);
  }
  const git = configRepo(top);
  const head = (await git.raw(['rev-parse', '-q', '--verify', 'HEAD^{commit}']).catch(() => '')).trim();
  if (!head) return refuse(`the repository ${top} has no commit yet`);
  const source = opts.source ? await fullSha(git, opts.source) : head;
  const differ: string[] = [];
  for (const file of files) {
    const rel = relative(top, resolve(file)).split('\\').join('/');
    const committed = (await git.raw(['rev-parse', '-q', '--verify', `${source}:${rel}`]).catch(() => '')).trim();
    const working = (await git.raw(['hash-object', '--', rel]).catch(() => '')).trim();
    if (committed !== working) differ.push(file);
  }
  if (differ.length === 0) return { configDir: top, source, base: source };
  if (opts.allowDirty) return { configDir: top, base: head };
  return refuse(`${differ.join(' and ')} ${differ.length === 1 ? 'differs' : 'differ'} from commit ${source.slice(0, 12)} (uncommitted edits?)`);
}

async function toplevel(dir: string): Promise<string | undefined> {
  return (await configRepo(dir).raw(['rev-parse', '--show-toplevel']).catch(() => '')).trim() || undefined;
}

async function fullSha(git: SimpleGit, ref: string): Promise<string> {
  const sha = (await git.raw(['rev-parse', '--verify', '-q', `${ref}^{commit}`]).catch(() => '')).trim();
  if (!sha) throw new UsageError(`--source ${ref}: not a commit of the config repo; pass a commit of the repository holding the inputs`);
  return sha;
}
