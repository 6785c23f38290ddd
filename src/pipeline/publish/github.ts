import { Octokit } from '@octokit/rest';
import { OutsideSystemError, UsageError } from '../shared/errors.js';
import { mask, registerSecret } from '../shared/mask.js';
import { retry, type RetryPolicy } from '../shared/retry.js';

/** Where pull requests are opened: a repository on github.com or a GitHub Enterprise server. */
export interface GitHubTarget {
  /** The REST API root: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise. */
  readonly baseUrl: string;
  readonly token: string;
  readonly owner: string;
  readonly repo: string;
}

export interface PullRequestSpec {
  /** The branch with the change. */
  readonly head: string;
  /** The branch it should land on. */
  readonly base: string;
  readonly title: string;
  readonly body: string;
}

export interface PullRequestResult {
  readonly url: string;
  readonly number: number;
  /** false when an open pull request for the branch existed and was updated. */
  readonly created: boolean;
}

export const DEFAULT_GITHUB_API = 'https://api.github.com';

/** `owner/repo` from `--github-repo`, or from the last two segments of the manifests repo URL. */
export function githubRepoOf(explicit: string | undefined, remoteUrl: string): { owner: string; repo: string } | undefined {
  const path = explicit ?? remoteUrl.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]+\//i, '').replace(/^[^/@]+@[^:]+:/, '');
  const parts = path.replace(/\.git$/, '').split('/').filter(Boolean);
  if (parts.length < 2) return undefined;
  return { owner: parts[parts.length - 2]!, repo: parts[parts.length - 1]! };
}

/**
 * Where a pull request for the repository at `remoteUrl` is opened. A missing
 * token, or a repository that cannot be told from the URL, is a usage error
 * raised before anything is pushed.
 */
export function pullRequestTarget(opts: {
  readonly baseUrl?: string;
  readonly token?: string;
  /** `--github-repo`, else the last two segments of `remoteUrl`. */
  readonly repo?: string;
  readonly remoteUrl: string;
  /** How messages name the repository, e.g. "the config repo's GitHub repository". */
  readonly what: string;
}): GitHubTarget {
  if (!opts.token) throw new UsageError('--mode pr needs a GitHub token: set GITHUB_TOKEN (or AVIARY_GIT_TOKEN)');
  const repo = githubRepoOf(opts.repo, opts.remoteUrl);
  if (!repo) throw new UsageError(`cannot tell ${opts.what} from ${opts.remoteUrl}: pass --github-repo OWNER/NAME`);
  return { baseUrl: opts.baseUrl ?? DEFAULT_GITHUB_API, token: opts.token, owner: repo.owner, repo: repo.repo };
}

interface HttpError {
  status?: number;
  message?: string;
  response?: { data?: { message?: string; errors?: { message?: string; code?: string; field?: string }[] } };
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Opens a pull request from `spec.head`, or updates the open one that
 * already exists for that branch: one branch, one pull request, however
 * often the pipeline runs.
 */
export async function ensurePullRequest(target: GitHubTarget, spec: PullRequestSpec): Promise<PullRequestResult> {
  registerSecret(target.token);
  const octokit = new Octokit({ auth: target.token, baseUrl: target.baseUrl.replace(/\/+$/, ''), log: quiet, userAgent: 'aviary' });
  const { owner, repo } = target;
  const call = <T>(step: string, run: () => Promise<T>) => withGitHubRetry(step, target, run);

  const findOpen = async () => {
    const open = await call('looking for an open pull request', () =>
      octokit.rest.pulls.list({ owner, repo, head: `${owner}:${spec.head}`, base: spec.base, state: 'open', per_page: 10 }),
    );
    return open.data[0];
  };
  const update = async (number: number): Promise<PullRequestResult> => {
    const updated = await call('updating the pull request', () => octokit.rest.pulls.update({ owner, repo, pull_number: number, title: spec.title, body: spec.body }));
    return { url: updated.data.html_url, number: updated.data.number, created: false };
  };

  const existing = await findOpen();
  if (existing) return update(existing.number);
  try {
    const created = await call('opening the pull request', () =>
      octokit.rest.pulls.create({ owner, repo, head: spec.head, base: spec.base, title: spec.title, body: spec.body, maintainer_can_modify: true }),
    );
    return { url: created.data.html_url, number: created.data.number, created: true };
  } catch (error) {
    // Another run opened it between our look-up and our create.
    if (error instanceof OutsideSystemError && /already exists/i.test(error.message)) {
      const raced = await findOpen();
      if (raced) return update(raced.number);
    }
    throw error;
  }
}

/** How hard to try a GitHub API call: a few quick retries of a busy or briefly unreachable server. */
const GITHUB_RETRY: RetryPolicy = { retries: 3, minTimeoutMs: 200, maxTimeoutMs: 2_000 };

/** Server errors, rate limits and dropped connections (which Octokit reports without a status, or as 500) are worth another try. */
function isTransientGitHubError(error: unknown): boolean {
  const status = (error as HttpError | undefined)?.status;
  return status === undefined || status >= 500 || status === 429;
}

/** Retries server errors and dropped connections; explains the rest and masks the token. */
async function withGitHubRetry<T>(step: string, target: GitHubTarget, run: () => Promise<T>): Promise<T> {
  try {
    return await retry(GITHUB_RETRY, isTransientGitHubError, run);
  } catch (error) {
    throw new OutsideSystemError('GitHub', step, new Error(mask(explainGitHubError(error as HttpError, target))));
  }
}

function explainGitHubError(error: HttpError, { owner, repo, baseUrl }: GitHubTarget): string {
  const said = error.response?.data?.message ?? error.message ?? String(error);
  const details = (error.response?.data?.errors ?? []).map((e) => e.message ?? [e.field, e.code].filter(Boolean).join(' ')).filter(Boolean);
  switch (error.status) {
    case 401:
      return `GitHub refused the token (401 ${said}): set GITHUB_TOKEN to a valid token with pull-request write access to ${owner}/${repo}.`;
    case 403:
      return `GitHub denied access (403 ${said}): the token needs pull-request write access to ${owner}/${repo}.`;
    case 404:
      return `${owner}/${repo} was not found at ${baseUrl} (404): check --github-repo and --github-url, and that the token can see the repository.`;
    case 422:
      return `GitHub rejected the request (422 ${said}${details.length ? `: ${details.join('; ')}` : ''}): check that the base branch exists and the branch was pushed.`;
    default:
      return `${error.status ? `HTTP ${error.status} ` : ''}${said} (after retries; GitHub API at ${baseUrl}).`;
  }
}
