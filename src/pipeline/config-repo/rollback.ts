import { relative, resolve } from 'node:path';
import { RefusedError, UsageError } from '../shared/errors.js';
import { configRepo } from './inputs.js';
import { maskedMessage } from '../shared/mask.js';

/**
 * Rolling back is an ordinary forward commit in the config repo: a revert of
 * one input commit, or the input files as they were at an earlier commit.
 * Publishing it afterwards is the same as publishing any other change.
 */

export interface InputFiles {
  /** The config repo (or any folder inside it). */
  readonly dir: string;
  /** Paths of sites.yaml and canary.yaml, relative to `dir` or absolute. */
  readonly files: readonly string[];
}

export interface InputCommitResult {
  /** The new commit in the config repo, or undefined when there was nothing to change. */
  readonly commit?: string;
  /** The commit reverted or restored from. */
  readonly target: string;
  readonly subject: string;
}

/** The repository root and the input files relative to it. */
async function locate({ dir, files }: InputFiles) {
  const git = configRepo(dir);
  let top: string;
  try {
    top = (await git.raw(['rev-parse', '--show-toplevel'])).trim();
  } catch {
    throw new UsageError(`${resolve(dir)} is not in a git repository: run rollback and deploy in the clone of the config repo`);
  }
  // A CI runner often has no git identity: Aviary's own commits (a revert after a failed verification) then carry Aviary's.
  const identity = (await git.raw(['config', '--get', 'user.email']).catch(() => '')).trim() ? [] : ['user.name=Aviary', 'user.email=aviary@localhost'];
  return { git: configRepo(top, identity), paths: files.map((f) => relative(top, resolve(dir, f))) };
}

async function resolveCommit(git: ReturnType<typeof configRepo>, ref: string): Promise<string> {
  try {
    return (await git.raw(['rev-parse', '--verify', '-q', `${ref}^{commit}`])).trim();
  } catch {
    throw new UsageError(`${ref} is not a commit of the config repo: pass a commit id from \`aviary history\` or \`git log\``);
  }
}

/** Refuses to mix a rollback with uncommitted edits of the inputs. */
async function requireClean(git: ReturnType<typeof configRepo>, paths: readonly string[], why = ''): Promise<void> {
  const dirty = (await git.raw(['status', '--porcelain', '--', ...paths])).trim();
  if (dirty) throw new RefusedError(`uncommitted changes in ${paths.join(', ')}:\n${dirty}\n${why}commit or stash them first`);
}

/** Refuses when the inputs have uncommitted edits: a change about to be committed and pushed must carry only itself. */
export async function requireCommittedInputs(inputs: InputFiles, why: string): Promise<void> {
  const { git, paths } = await locate(inputs);
  await requireClean(git, paths, `${why}: `);
}

/** The last commit that changed the inputs: what "roll back" undoes by default. */
export async function lastInputCommit(inputs: InputFiles): Promise<string> {
  const { git, paths } = await locate(inputs);
  const last = (await git.raw(['log', '-1', '--format=%H', '--', ...paths]).catch(() => '')).trim();
  if (!last) throw new RefusedError(`no commit has changed ${paths.join(', ')} yet: there is nothing to roll back`);
  return last;
}

/** `git revert` of `commit` (default: the last input commit) as a new commit. */
export async function revertInputCommit(inputs: InputFiles, commit?: string): Promise<InputCommitResult> {
  const { git, paths } = await locate(inputs);
  await requireClean(git, paths);
  const target = await resolveCommit(git, commit ?? (await lastInputCommit(inputs)));
  const parents = (await git.raw(['rev-list', '--parents', '-n1', target])).trim().split(' ').length - 1;
  try {
    // A merged pull request is undone against its first parent, the branch it landed on.
    await git.raw(['revert', '--no-edit', ...(parents > 1 ? ['-m', '1'] : []), target]);
  } catch (error) {
    await git.raw(['revert', '--abort']).catch(() => undefined);
    const message = maskedMessage(error);
    if (/nothing to commit|working tree clean/i.test(message)) return { target, subject: 'nothing to revert: its changes are already undone' };
    throw new RefusedError(
      `cannot revert ${target.slice(0, 12)} cleanly: later commits changed the same lines. Nothing was changed. ` +
        `Resolve it by hand (git revert ${target.slice(0, 12)}), or restore an earlier state with \`aviary deploy COMMIT\`.\n${message.trim()}`,
    );
  }
  const head = (await git.raw(['rev-parse', 'HEAD'])).trim();
  return { commit: head, target, subject: (await git.raw(['log', '-1', '--format=%s', head])).trim() };
}

/** The input files as they are now (an edit just written), as a new commit. */
export async function commitInputs(inputs: InputFiles, subject: string, body?: string): Promise<InputCommitResult> {
  const { git, paths } = await locate(inputs);
  const changed = (await git.raw(['status', '--porcelain', '--', ...paths])).trim();
  const head = (await git.raw(['rev-parse', 'HEAD'])).trim();
  if (!changed) return { target: head, subject: 'the inputs are already committed' };
  await git.raw(['commit', '-q', '-m', subject, ...(body ? ['-m', body] : []), '--', ...paths]);
  return { commit: (await git.raw(['rev-parse', 'HEAD'])).trim(), target: head, subject };
}

/** The input files exactly as they were at `commit`, as a new forward commit. */
export async function restoreInputs(inputs: InputFiles, commit: string): Promise<InputCommitResult> {
  const { git, paths } = await locate(inputs);
  await requireClean(git, paths);
  const target = await resolveCommit(git, commit);
  for (const path of paths) {
    const exists = await git.raw(['cat-file', '-e', `${target}:${path}`]).then(() => true, () => false);
    if (!exists) throw new RefusedError(`${path} did not exist at ${target.slice(0, 12)}: choose a commit that has both input files`);
  }
  await git.raw(['checkout', target, '--', ...paths]);
  const staged = (await git.raw(['diff', '--cached', '--name-only', '--', ...paths])).trim();
  if (!staged) return { target, subject: `the inputs already match ${target.slice(0, 12)}` };
  const was = (await git.raw(['log', '-1', '--format=%s', target])).trim();
  const subject = `Deploy the inputs of ${target.slice(0, 12)} ("${was}")`;
  await git.raw(['commit', '-q', '-m', subject, '-m', `Restores ${paths.join(' and ')} as of ${target}.`, '--', ...paths]);
  return { commit: (await git.raw(['rev-parse', 'HEAD'])).trim(), target, subject };
}
