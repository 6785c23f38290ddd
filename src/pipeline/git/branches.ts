import { tmpdir } from 'node:os';
import { UsageError } from '../shared/errors.js';
import { mask } from '../shared/mask.js';
import { gitIn, outsideGitError } from './run.js';
import type { ManifestsRemote } from './workdir.js';

/**
 * A publish to a branch that does not exist starts it, which is what a first
 * publish into an empty repository wants and what a typo (`--branch mian`)
 * must not do: in a repository that has branches, starting one is asked for.
 */
export async function checkBranch(remote: ManifestsRemote, branch: string, create: boolean): Promise<void> {
  if (create) return;
  const heads = await remoteBranches(remote);
  if (heads.length === 0 || heads.includes(branch)) return;
  const listed = heads.length > 10 ? `${heads.slice(0, 10).join(', ')}, …` : heads.join(', ');
  throw new UsageError(
    `branch ${branch} does not exist in the manifests repository ${mask(remote.url)} (it has ${listed}). ` +
      'Check --branch and argocd.targetRevision, or pass --create-branch to start it.',
  );
}

async function remoteBranches(remote: ManifestsRemote): Promise<string[]> {
  return [...(await remoteHeads(remote)).keys()];
}

/** The commit `branch` of the remote points at, or undefined when it has no such branch. */
export async function remoteHead(remote: ManifestsRemote, branch: string): Promise<string | undefined> {
  return (await remoteHeads(remote)).get(branch);
}

async function remoteHeads(remote: ManifestsRemote): Promise<Map<string, string>> {
  try {
    const out = await gitIn(tmpdir(), remote.credentials).listRemote(['--heads', remote.url]);
    const heads = new Map<string, string>();
    for (const line of out.split('\n')) {
      const [sha, ref] = line.split('\t');
      if (sha && ref) heads.set(ref.replace(/^refs\/heads\//, ''), sha);
    }
    return heads;
  } catch (error) {
    throw outsideGitError(`listing the branches of ${mask(remote.url)}`, error);
  }
}
