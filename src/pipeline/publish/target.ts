import { PLACEHOLDER_REPO_URL } from '../../sites/schema.js';
import type { Canary } from '../../sites/types.js';
import { normalisePrefix } from '../git/sync.js';
import { splitUrlCredentials } from '../git/credentials.js';
import { UsageError } from '../shared/errors.js';

/**
 * Where the manifests go. canary.yaml's `argocd` settings say where Argo CD
 * reads them (repoURL, targetRevision, path); publishing anywhere else would
 * deploy nothing, so they are the defaults of --repo, --branch and --path,
 * and a flag that says otherwise is refused unless forced.
 */
export interface ManifestsTarget {
  /** Absent when neither a flag nor canary.yaml names one. */
  readonly repo?: string;
  readonly branch: string;
  readonly path: string;
}

/** What the user gave as a flag or variable (absent: not given). */
export interface TargetFlags {
  readonly repo?: string;
  readonly branch?: string;
  readonly path?: string;
  /** Publish where the flags say even where canary.yaml says otherwise. */
  readonly force?: boolean;
}

/** The names of the flags, as the command calls them (`--manifests-repo` in the pipeline). */
export interface TargetFlagNames {
  readonly repo: string;
}

export function manifestsTarget(argocd: Canary['settings']['argocd'], flags: TargetFlags, names: TargetFlagNames = { repo: '--repo' }): ManifestsTarget {
  const declaredRepo = argocd.repoURL === PLACEHOLDER_REPO_URL ? undefined : argocd.repoURL;
  // HEAD is the repository's default branch, whose name only the remote knows.
  const declaredBranch = argocd.targetRevision === 'HEAD' ? undefined : argocd.targetRevision;
  const contradictions = [
    flags.repo && declaredRepo && !sameRepository(flags.repo, declaredRepo) && `${names.repo} ${shown(flags.repo)} is not argocd.repoURL ${shown(declaredRepo)}`,
    flags.branch && declaredBranch && flags.branch !== declaredBranch && `--branch ${flags.branch} is not argocd.targetRevision ${declaredBranch}`,
    flags.path && normalisePrefix(flags.path) !== normalisePrefix(argocd.path) && `--path ${flags.path} is not argocd.path ${argocd.path}`,
  ].filter((c): c is string => Boolean(c));
  if (contradictions.length > 0 && !flags.force) {
    throw new UsageError(
      `${contradictions.join('; ')} in canary.yaml, where the generated Argo CD objects read the manifests: published there, they would deploy nothing.\n` +
        'Drop the flag (canary.yaml is the default), fix canary.yaml, or pass --force to publish there anyway.',
    );
  }
  return { repo: flags.repo ?? declaredRepo, branch: flags.branch ?? declaredBranch ?? 'main', path: flags.path ?? argocd.path };
}

/** One repository however it is spelled: with or without credentials, `.git`, a trailing slash, or case in the host. */
function sameRepository(a: string, b: string): boolean {
  return canonical(a) === canonical(b);
}

function canonical(repo: string): string {
  const url = splitUrlCredentials(repo).url.replace(/\/+$/, '').replace(/\.git$/, '');
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/]+)/i, (origin) => origin.toLowerCase());
}

const shown = (repo: string) => splitUrlCredentials(repo).url;
