import { loadFleet } from '../../sites/load.js';
import { commitInputs, requireCommittedInputs, revertInputCommit, type InputFiles } from '../config-repo/rollback.js';
import { deployUpstream, pushInputs, upstreamOf, type Upstream } from '../config-repo/push-upstream.js';
import { publishInputs, type PublishInputsOptions } from '../publish/from-inputs.js';
import type { PublishResult } from '../publish/publish.js';
import { ChecksFailedError, RefusedError } from '../shared/errors.js';
import { plural } from '../shared/words.js';
import { undoOnFailure } from './input-commit.js';
import { verifyPublishedSites, type SiteVerdict, type VerifyPlan } from './verify.js';

/**
 * A change that must prove itself: the edit just written to the inputs is
 * committed in the config repo, pushed, published, and the sites it touched
 * verified. If verification fails, the commit is reverted (a new commit,
 * pushed, never forced) and the revert published, so the manifests end
 * byte-identical to before; then it exits 1 naming what failed.
 */

export interface GateOptions extends Omit<PublishInputsOptions, 'source' | 'mode'> {
  /** The config repo's clone. @default process.cwd() */
  readonly dir?: string;
  /** The commit's subject, e.g. "Promote shop to green". */
  readonly subject: string;
  /** The ids of the sites to verify once published. */
  readonly ids: readonly string[];
  /** How to verify them (the sites are read from the inputs as committed); none: published without verification. */
  readonly verify?: VerifyPlan;
  /** A trailer for the commit (`Aviary-Rollout: green ring 2/4`). @default none */
  readonly trailer?: string;
}

export interface GateOutcome {
  readonly commit: string;
  readonly publish: PublishResult;
  readonly verdicts: readonly SiteVerdict[];
}

/**
 * What a gated change needs before its edit is written: a branch that tracks
 * the config repo's remote (where it is pushed, and reverted if it fails),
 * and inputs with no uncommitted edit, which its commit would otherwise
 * carry to production unreviewed.
 */
export async function readyToGate(o: { readonly dir?: string; readonly sites: string; readonly canary: string }): Promise<Upstream> {
  const dir = o.dir ?? process.cwd();
  const upstream = await trackedUpstream(dir);
  await requireCommittedInputs({ dir, files: [o.sites, o.canary] }, 'a gated change commits and pushes the inputs as they are, so these would be deployed with it');
  return upstream;
}

/** Where a gated change is pushed, and reverted if it fails: the remote branch the checkout tracks. */
async function trackedUpstream(dir: string): Promise<Upstream> {
  const upstream = await upstreamOf(dir);
  if (!upstream) throw new RefusedError('a gated change is pushed to the config repo and reverted there if it fails, but the checked-out branch tracks no remote branch: set one with git branch -u origin/main');
  return upstream;
}

export async function landGated(o: GateOptions): Promise<GateOutcome> {
  const dir = o.dir ?? process.cwd();
  const inputs: InputFiles = { dir, files: [o.sites, o.canary] };
  const upstream = await trackedUpstream(dir);
  const done = await commitInputs(inputs, o.subject, o.trailer);
  if (!done.commit) throw new RefusedError('nothing to gate: the inputs have no uncommitted change');
  o.log(`Committed "${o.subject}" (${done.commit.slice(0, 12)}) in the config repo.`);
  // A commit that could not be pushed is taken back with its edit: running the command again starts over.
  const source = await undoOnFailure(dir, done, () => pushInputs(dir, upstream, { log: o.log }));
  o.log(`Pushed it to ${upstream.branch} of ${upstream.url}.`);
  const publish = await publishInputs({ ...o, mode: 'push', source });
  if (!o.verify) {
    o.log(`Published ${publish.commit?.slice(0, 12) ?? '(no change)'}.`);
    return { commit: source, publish, verdicts: [] };
  }
  o.log(`Published ${publish.commit?.slice(0, 12) ?? '(no change)'}; verifying ${plural(o.ids.length, 'site')}…`);
  return verifyPublished({ ...o, dir, source, publish, verify: o.verify });
}

/** Verifies the sites of a published input commit; a failure is reverted and published (see revertFailed). */
export async function verifyPublished(
  o: Omit<GateOptions, 'verify' | 'subject'> & { readonly dir: string; readonly source: string; readonly publish: PublishResult; readonly verify: VerifyPlan },
): Promise<GateOutcome> {
  const { source, publish } = o;
  const fleet = loadFleet(o.sites, o.canary);
  const sites = o.ids.map((id) => fleet.sites.find((s) => s.id === id)!);
  const verdicts = await verifyPublishedSites(sites, fleet.canary, o.verify, publish.commit);
  const failed = verdicts.filter((v) => v.outcome !== 'ok');
  if (failed.length === 0) return { commit: source, publish, verdicts };

  throw await revertFailed(failed, o);
}

/**
 * After a failed verification: reverts `source` in the config repo (a new
 * commit, pushed to the branch the clone tracks, never forced), publishes the
 * revert, and returns the error to exit with, naming what failed.
 */
export async function revertFailed(
  failed: readonly SiteVerdict[],
  o: Omit<PublishInputsOptions, 'source' | 'mode'> & { readonly dir: string; readonly source: string },
): Promise<ChecksFailedError> {
  for (const v of failed) for (const problem of v.problems) o.log(`  ${v.id}: ${problem}`);
  const what = `verification failed for ${failed.map((v) => v.id).join(', ')} (${failed.flatMap((v) => v.problems).join('; ')})`;
  const upstream = await deployUpstream(o.dir);
  if (!upstream) return new ChecksFailedError(`${what}. Not reverted: the config repo has no remote to push a revert to; revert ${o.source.slice(0, 12)} there (aviary rollback ${o.source.slice(0, 12)}).`);
  const revert = await revertInputCommit({ dir: o.dir, files: [o.sites, o.canary] }, o.source);
  const reverted = revert.commit ? await pushInputs(o.dir, upstream, { log: o.log }) : o.source;
  const back = await publishInputs({ ...o, mode: 'push', source: reverted });
  return new ChecksFailedError(
    `${what}. Reverted ${o.source.slice(0, 12)} in the config repo (${reverted.slice(0, 12)}, pushed) and published it (${back.status}${back.commit ? ` ${back.commit.slice(0, 12)}` : ''}): the manifests are as before.`,
  );
}
