import type { Command } from 'commander';
import { loadCanary } from '../../sites/load.js';
import type { Canary } from '../../sites/types.js';
import { describePublish } from '../publish/describe.js';
import { DEFAULT_GITHUB_API } from '../publish/github.js';
import { manifestsTarget, type ManifestsTarget } from '../publish/target.js';
import type { PublishInputsOptions } from '../publish/from-inputs.js';
import type { PublishMode, PublishResult } from '../publish/publish.js';
import { UsageError } from '../shared/errors.js';
import { answer, note } from './print.js';
import type { GlobalOptions, OptionUse } from './options.js';

/** The flags of publish, rollback and deploy, as commander gives them. */
export interface PublishFlags {
  readonly repo?: string;
  readonly branch: string;
  readonly path: string;
  readonly token?: string;
  readonly workDir: string;
  readonly mode: PublishMode;
  readonly githubUrl: string;
  readonly githubRepo?: string;
  readonly allowDirty?: boolean;
  readonly force?: boolean;
  readonly createBranch?: boolean;
  readonly json?: boolean;
}

/** Where the manifests go: shared by publish, plan, history, rollback and deploy. */
export const MANIFESTS_OPTIONS: readonly OptionUse[] = ['branch', 'path', 'token', 'workDir', 'gitToken', 'gitUsername'];
export const PUBLISH_OPTIONS: readonly OptionUse[] = ['repo', ...MANIFESTS_OPTIONS, 'force', 'createBranch', 'mode', 'githubUrl', 'githubRepo', 'githubToken', 'allowDirty', 'json'];

/**
 * --repo (or `repoFlag`), --branch and --path as given, else as canary.yaml's
 * `argocd` settings say (see manifestsTarget). `readOnly` commands (plan,
 * history) go where asked without refusing: they change nothing.
 */
export function targetOf(
  cmd: Command,
  canary: string | Canary,
  {
    repoFlag = 'repo',
    readOnly = false,
    force,
  }: { readonly repoFlag?: 'repo' | 'manifestsRepo'; readonly readOnly?: boolean; /** @default --force */ readonly force?: boolean } = {},
): ManifestsTarget {
  const opts = cmd.opts<Record<string, unknown>>();
  // commander's own defaults do not count as asked; a flag or its variable does.
  const given = (name: string) => (['cli', 'env'].includes(cmd.getOptionValueSource(name) ?? '') ? (opts[name] as string) : undefined);
  const settings = (typeof canary === 'string' ? loadCanary(canary) : canary).settings.argocd;
  const flags = { repo: given(repoFlag) ?? (repoFlag === 'manifestsRepo' ? given('repo') : undefined), branch: given('branch'), path: given('path') };
  return manifestsTarget(settings, { ...flags, force: readOnly || (force ?? opts.force === true) }, { repo: repoFlag === 'repo' ? '--repo' : '--manifests-repo' });
}

export function requireRepo(target: ManifestsTarget, flag = '--repo'): string {
  if (!target.repo) throw new UsageError(`no manifests repository: pass ${flag} URL|PATH, set AVIARY_MANIFESTS_REPO, or set argocd.repoURL in canary.yaml`);
  return target.repo;
}

/** The flags publishing reads; a command without --mode (a gate, a rollout) pushes. */
type PublishingFlags = Pick<PublishFlags, 'workDir' | 'token'> & Partial<Pick<PublishFlags, 'mode' | 'githubUrl' | 'githubRepo' | 'allowDirty' | 'createBranch'>>;

export function publishInputsOptions(g: GlobalOptions, opts: PublishingFlags, target: ManifestsTarget): PublishInputsOptions {
  return {
    ...g,
    repo: target.repo ?? '',
    branch: target.branch,
    path: target.path,
    createBranch: opts.createBranch,
    mode: opts.mode ?? 'push',
    workRoot: opts.workDir,
    token: opts.token,
    github: { url: opts.githubUrl ?? DEFAULT_GITHUB_API, repo: opts.githubRepo, token: process.env.GITHUB_TOKEN || undefined },
    allowDirty: opts.allowDirty,
    log: note,
  };
}

export function reportPublish(result: PublishResult, opts: PublishFlags, target: ManifestsTarget): void {
  answer(opts.json, result, () => describePublish(result, { repo: target.repo ?? '', branch: target.branch }));
}
