import { describePublish } from '../publish/describe.js';
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
  readonly json?: boolean;
}

/** Where the manifests go: shared by publish, plan, history, rollback and deploy. */
export const MANIFESTS_OPTIONS: readonly OptionUse[] = ['branch', 'path', 'token', 'workDir', 'gitToken', 'gitUsername'];
export const PUBLISH_OPTIONS: readonly OptionUse[] = ['repo', ...MANIFESTS_OPTIONS, 'mode', 'githubUrl', 'githubRepo', 'githubToken', 'allowDirty', 'json'];

export function requireRepo(repo: string | undefined): string {
  if (!repo) throw new UsageError('no manifests repository: pass --repo URL|PATH or set AVIARY_MANIFESTS_REPO');
  return repo;
}

export function publishInputsOptions(g: GlobalOptions, opts: PublishFlags, repo: string): PublishInputsOptions {
  return {
    ...g,
    repo,
    branch: opts.branch,
    path: opts.path,
    mode: opts.mode,
    workRoot: opts.workDir,
    token: opts.token,
    github: { url: opts.githubUrl, repo: opts.githubRepo, token: process.env.GITHUB_TOKEN || undefined },
    allowDirty: opts.allowDirty,
    log: note,
  };
}

export function reportPublish(result: PublishResult, opts: PublishFlags, repo: string): void {
  answer(opts.json, result, () => describePublish(result, { repo, branch: opts.branch }));
}
