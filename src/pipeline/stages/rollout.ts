import { canarySites, promoteSites } from '../../sites/edit.js';
import { rolloutRings } from '../../sites/rings.js';
import type { Color } from '../../sites/types.js';
import { editInputs, readInputs, refuseOverload } from '../config-repo/edit-files.js';
import { configRepo } from '../config-repo/inputs.js';
import { pushInputs, type Upstream } from '../config-repo/push-upstream.js';
import { publishInputs } from '../publish/from-inputs.js';
import { RefusedError } from '../shared/errors.js';
import { plural } from '../shared/words.js';
import { landGated, readyToGate, verifyPublished, type GateOptions } from './gate.js';

/**
 * A fleet rollout in rings: the sites not yet fully on `to` are promoted ring
 * by ring (stable rings: sites/rings.ts), or with `weight` taken through a
 * canary step (run on `to`, that share of their traffic), each ring one config commit, one
 * push, one publish and, with `verify`, one verification that reverts the
 * ring and stops on a failure. Rings already done are skipped, so a rollout
 * is resumed by running it again; `resume` first re-publishes and verifies
 * the last ring committed, in case an interruption left it unverified.
 */

/** The trailers of a rollout's ring commit: `Aviary-Rollout: green ring 2/4` and the ring's sites, space-separated. */
export const ROLLOUT_TRAILER = 'Aviary-Rollout';
const SITES_TRAILER = 'Aviary-Rollout-Sites';

export interface RolloutOptions extends Omit<GateOptions, 'subject' | 'ids' | 'trailer'> {
  readonly to: Color;
  /** A canary step instead of a promotion: each site runs on `to` and sends it this percentage of its traffic. @default none (promote) */
  readonly weight?: number;
  /** Cumulative percentages of the fleet, ending at 100 (e.g. 1, 10, 50, 100). */
  readonly rings: readonly number[];
  /** A ring of more sites than this goes in several commits of at most this many (their Jobs run at once). */
  readonly maxPerRing: number;
  /** Wait between rings, once one is verified. @default 0 */
  readonly pauseMs?: number;
  readonly resume?: boolean;
  /** Promote even when most of the fleet's traffic would end on the color that can run fewer pods (sites/capacity.ts). */
  readonly force?: boolean;
}

export interface RolloutResult {
  readonly rings: readonly { readonly number: number; readonly sites: readonly string[] }[];
}

export async function runRollout(o: RolloutOptions): Promise<RolloutResult> {
  const dir = o.dir ?? process.cwd();
  const paths = { sites: o.sites, canary: o.canary };
  let input = readInputs(paths);
  const { selector } = input.fleet.canary;
  if (selector !== o.to) throw new RefusedError(`a rollout moves sites to the active canary, which is ${selector}: select ${o.to} first (aviary canary select ${o.to}), or roll out to ${selector}`);
  const upstream = await readyToGate({ ...o, dir });
  if (o.resume) {
    await reverifyLastRing(o, dir, upstream);
    // Read again: pushing the last ring may have pulled in the remote's newer commits.
    input = readInputs(paths);
  }
  const done: { number: number; sites: string[] }[] = [];
  const rings = rolloutRings(input.fleet, o.to, o.rings, o.weight);
  // Where the whole rollout ends, checked before its first ring as a bulk promote is.
  if (o.weight === undefined) refuseOverload(input.fleet, promoteSites(input, rings.flatMap((ring) => ring.ids)).moved, o.force);
  const step = o.weight === undefined ? o.to : `${o.to} ${o.weight}%`;
  const total = rings.length;
  for (const ring of rings) {
    if (ring.ids.length === 0) continue;
    for (let start = 0; start < ring.ids.length; start += o.maxPerRing) {
      const batch = ring.ids.slice(start, start + o.maxPerRing);
      const part = ring.ids.length > o.maxPerRing ? ` part ${start / o.maxPerRing + 1}` : '';
      const label = `ring ${ring.number}/${total}${part}`;
      editInputs(paths, (input) => (o.weight === undefined ? promoteSites(input, batch) : canarySites(input, batch, o.to, o.weight)));
      o.log(`Rollout to ${step}, ${label} (${ring.percent} % of the fleet): ${plural(batch.length, 'site')}.`);
      const trailer = `${ROLLOUT_TRAILER}: ${step} ${label}\n${SITES_TRAILER}: ${batch.join(' ')}`;
      const { verdicts } = await landGated({ ...o, dir, subject: `Roll out ${step}: ${label}, ${plural(batch.length, 'site')}`, ids: batch, trailer });
      if (o.verify) o.log(`Verified ${label}: ${plural(verdicts.length, 'site')}, every check passed.`);
      done.push({ number: ring.number, sites: batch });
    }
    if (o.pauseMs && ring.number < total) {
      o.log(`Pausing ${Math.round(o.pauseMs / 1000)} s before the next ring.`);
      await new Promise((resolve) => setTimeout(resolve, o.pauseMs));
    }
  }
  return { rings: done };
}

/**
 * After an interruption the last ring may be committed but not pushed,
 * published or verified: HEAD, when it is a ring commit, is pushed and
 * published again (no-ops when done) and its sites verified, reverting on a
 * failure as the ring itself would have.
 */
async function reverifyLastRing(o: RolloutOptions, dir: string, upstream: Upstream): Promise<void> {
  const git = configRepo(dir);
  const head = (await git.raw(['rev-parse', 'HEAD'])).trim();
  const trailer = (await git.raw(['log', '-1', `--format=%(trailers:key=${ROLLOUT_TRAILER},valueonly)`, head])).trim();
  if (!trailer) return;
  const ids = (await git.raw(['log', '-1', `--format=%(trailers:key=${SITES_TRAILER},valueonly)`, head])).trim().split(/\s+/).filter(Boolean);
  o.log(`Resuming: the last ring commit ${head.slice(0, 12)} (${trailer}) is published again and verified.`);
  // Killed between its commit and its push, the ring is pushed first: a deploy's input commit must be on the config repo.
  const source = await pushInputs(dir, upstream, { log: o.log });
  const publish = await publishInputs({ ...o, mode: 'push', source });
  if (o.verify && ids.length > 0) await verifyPublished({ ...o, dir, source, publish, verify: o.verify, ids });
}
