import { normaliseRemote } from '../git/workdir.js';
import { formatPlan } from './plan.js';
import type { PublishResult } from './publish.js';

/** What a publish did, in the words a person reads after `aviary publish`, `rollback` or `deploy`. */
export function describePublish(result: PublishResult, where: { readonly repo: string; readonly branch: string }): string {
  const target = normaliseRemote(where.repo).url;
  const retried = result.attempts > 1 ? ` after ${result.attempts} attempts` : '';
  switch (result.status) {
    case 'unchanged':
      return `Nothing to publish: ${where.branch} of ${target} already holds these manifests. No commit was made.`;
    case 'superseded':
      return `Nothing to publish: ${where.branch} of ${target} already holds a deploy of newer inputs (deploys only move forward).`;
    case 'pushed':
      return `Published ${result.commit?.slice(0, 12)} to ${where.branch} of ${target}${retried}.\n${formatPlan(result.plan, 'text')}`;
    case 'pull-request':
      return `${result.pullRequest?.created ? 'Opened' : 'Updated'} pull request #${result.pullRequest?.number} from ${result.branch}${retried}:\n${result.pullRequest?.url ?? ''}`;
  }
}
