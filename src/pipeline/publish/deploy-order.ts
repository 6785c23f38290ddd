import { RefusedError } from '../shared/errors.js';
import { fetchHistory, isAncestor } from '../config-repo/inputs.js';

/**
 * Deploys only move forward along the config repo's history. Where the
 * inputs being published stand relative to the last deploy of the same
 * manifests folder:
 * - first: nothing was deployed there yet;
 * - same: the same input commit (a re-run);
 * - forward: the deployed commit is an ancestor of ours: publish;
 * - superseded: ours is an ancestor of the deployed one: a newer deploy
 *   already landed, and this run must change nothing (no teardown either).
 * Anything else (a feature branch, a stale fork, history we cannot see even
 * after fetching) is refused: guessing here is how live sites lose data.
 */
export type DeployOrder = 'first' | 'same' | 'forward' | 'superseded';

export interface OrderCheck {
  /** The config repository. */
  readonly configDir: string;
  /** The input commit of the last deploy of the folder, if any. */
  readonly deployed: string | undefined;
  /** Our input commit (or HEAD under uncommitted edits). */
  readonly ours: string;
  /** "main of https://…, folder fleet/": for messages. */
  readonly where: string;
}

export async function deployOrder({ configDir, deployed, ours, where }: OrderCheck): Promise<DeployOrder> {
  if (!deployed) return 'first';
  if (deployed === ours) return 'same';
  let order = await relate(configDir, deployed, ours);
  if (order === 'diverged' || order === 'unknown') {
    // CI checkouts are often shallow or of one branch: the deployed commit may just be out of sight.
    await fetchHistory(configDir, deployed);
    order = await relate(configDir, deployed, ours);
  }
  const d = deployed.slice(0, 12);
  const o = ours.slice(0, 12);
  if (order === 'diverged') {
    throw new RefusedError(
      `refusing to deploy config commit ${o}: ${where} was last deployed from config commit ${d}, and neither contains the other ` +
        '(a feature branch, or a checkout of a stale fork?). Deploys only move forward: deploy from a commit that contains ' +
        `${d} (merge or rebase onto it), or move back with aviary rollback / aviary deploy COMMIT, which make forward commits.`,
    );
  }
  if (order === 'unknown') {
    throw new RefusedError(
      `refusing to deploy config commit ${o}: ${where} was last deployed from config commit ${d}, which is not in the config repository ` +
        `even after fetching from its remote, so whether ${o} is newer cannot be told. Fetch the history that holds ${d} ` +
        '(e.g. fetch-depth: 0 and its branch), then run again.',
    );
  }
  return order;
}

async function relate(dir: string, deployed: string, ours: string): Promise<'forward' | 'superseded' | 'diverged' | 'unknown'> {
  const forward = await isAncestor(dir, deployed, ours);
  if (forward === undefined) return 'unknown';
  if (forward) return 'forward';
  return (await isAncestor(dir, ours, deployed)) ? 'superseded' : 'diverged';
}
