import { createHash } from 'node:crypto';
import { trafficOf, type Color, type Fleet, type Site } from './types.js';

/**
 * Rollout rings: each site's place in a fleet rollout is a stable hash of its
 * id (0 ≤ bucket < 100), so ring 1 is the same canary sites every time, and a
 * site never changes ring as others come and go. Ring k holds the sites whose
 * bucket is below its percentage `rings[k]` and not below the one before.
 */

/** The site's bucket in [0, 100): the first 32 bits of sha256("ring:" + id), scaled. */
export function ringBucket(id: string): number {
  return (createHash('sha256').update(`ring:${id}`).digest().readUInt32BE(0) / 2 ** 32) * 100;
}

/** Ring percentages must grow and end at 100 (every site in some ring). */
export function ringProblem(rings: readonly number[]): string | undefined {
  if (rings.length === 0) return 'name at least one ring';
  if (rings.some((r) => !Number.isFinite(r) || r <= 0 || r > 100)) return 'each ring is a percentage of the fleet above 0 and at most 100';
  if (rings.some((r, i) => i > 0 && r <= rings[i - 1]!)) return 'the percentages must grow from ring to ring';
  if (rings[rings.length - 1] !== 100) return 'the last ring must be 100, so every site is in one';
  return undefined;
}

export interface Ring {
  /** 1-based. */
  readonly number: number;
  readonly percent: number;
  /** The sites of this ring not yet fully on the color, in fleet order. */
  readonly ids: readonly string[];
}

/**
 * The rings of a rollout to `to`: for each ring, its sites not there yet.
 * A promotion (no `weight`) moves a site's service and all its traffic; a
 * canary step (`weight`) runs the site on `to` with that share of its
 * traffic, and leaves a site that already has as much or more: a rollout
 * never moves traffic back.
 */
export function rolloutRings(fleet: Fleet, to: Color, rings: readonly number[], weight?: number): Ring[] {
  const done = (site: Site) => site.service === to && (weight === undefined ? site.ingress === to && !site.weights : trafficOf(site)[to] >= weight);
  return rings.map((percent, i) => {
    const floor = i === 0 ? 0 : rings[i - 1]!;
    const ids = fleet.sites
      .filter((site) => !done(site))
      .filter((site) => {
        const bucket = ringBucket(site.id);
        return bucket >= floor && bucket < percent;
      })
      .map((site) => site.id);
    return { number: i + 1, percent, ids };
  });
}
