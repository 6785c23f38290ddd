import type { SimpleGit } from 'simple-git';
import { gitStep } from './run.js';

/**
 * Stages everything under `prefix` (additions, changes, deletions) and
 * commits it. The author is the person behind the input commit when known,
 * so the manifests history says who deployed what; the committer is Aviary.
 */
export async function commitAll(git: SimpleGit, prefix: string, message: string, author?: string, changed?: readonly string[]): Promise<string> {
  return gitStep('committing the manifests', async () => {
    // Naming the changed files spares git a scan of every file under the prefix; a long list would not fit on a command line.
    const paths = changed && changed.length <= MAX_NAMED_PATHS ? changed.map((p) => (prefix === '.' ? p : `${prefix}/${p}`)) : [prefix];
    await git.raw(['add', '-A', '--', ...paths]);
    await git.raw(['commit', '-q', '--no-verify', '--cleanup=verbatim', ...(author ? [`--author=${author}`] : []), '-m', message]);
    return (await git.raw(['rev-parse', 'HEAD'])).trim();
  });
}

const MAX_NAMED_PATHS = 500;

/** The value of the trailer `key` in `commit`'s message. */
export async function trailerOf(git: SimpleGit, commit: string, key: string): Promise<string | undefined> {
  const out = await git.raw(['log', '-1', `--format=%(trailers:key=${key},valueonly,separator=%x2C)`, commit]);
  return out.trim().split(',')[0] || undefined;
}
