import { describe, expect, test } from 'vitest';
import { ringBucket, ringProblem, rolloutRings } from '../../src/sites/rings.js';
import { parseFleet } from '../../src/sites/load.js';
import { Source } from '../../src/sites/source.js';
import type { Fleet, Site } from '../../src/sites/types.js';
import { CANARY_FIXTURE, site } from '../support/fixtures.js';

const { canary } = parseFleet(new Source('sites.yaml', 'sites: []\n'), new Source('canary.yaml', CANARY_FIXTURE));
const fleetWith = (sites: Site[]): Fleet => ({ sites, canary });
const ids = Array.from({ length: 400 }, (_, i) => `s${i}`);

describe('rings', () => {
  test('a bucket is a stable function of the id, spread over [0, 100)', () => {
    expect(ids.map(ringBucket)).toEqual(ids.map(ringBucket));
    expect(Math.min(...ids.map(ringBucket))).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ids.map(ringBucket))).toBeLessThan(100);
    expect(ids.filter((id) => ringBucket(id) < 50).length).toBeGreaterThan(150);
    expect(ids.filter((id) => ringBucket(id) < 50).length).toBeLessThan(250);
  });

  test('percentages must grow and end at 100', () => {
    expect(ringProblem([1, 10, 50, 100])).toBeUndefined();
    expect(ringProblem([])).toMatch(/at least one ring/);
    expect(ringProblem([10, 5, 100])).toMatch(/grow/);
    expect(ringProblem([10, 50])).toMatch(/last ring must be 100/);
    expect(ringProblem([0, 100])).toMatch(/above 0/);
  });

  test('a promotion leaves out the sites fully on the color; a canary step those already on it with at least the share', () => {
    const fleet = fleetWith([
        site('blue-all'),
        site('green-all', { service: 'green', ingress: 'green' }),
        site('green-half', { service: 'green', ingress: 'green', weights: { blue: 50, green: 50 } }),
        site('green-five', { service: 'green', ingress: 'blue', weights: { blue: 95, green: 5 } }),
        site('blue-routed-green', { service: 'blue', ingress: 'green' }),
    ]);
    const pending = (weight?: number) => rolloutRings(fleet, 'green', [100], weight)[0]!.ids;
    expect(pending()).toEqual(['blue-all', 'green-half', 'green-five', 'blue-routed-green']);
    expect(pending(10)).toEqual(['blue-all', 'green-five', 'blue-routed-green']);
    expect(pending(50)).toEqual(['blue-all', 'green-five', 'blue-routed-green']);
    expect(pending(60)).toEqual(['blue-all', 'green-half', 'green-five', 'blue-routed-green']);
  });

  test('each site is in exactly one ring', () => {
    const fleet = fleetWith(ids.map((id) => site(id)));
    const rings = rolloutRings(fleet, 'green', [1, 10, 50, 100]);
    expect(rings.flatMap((r) => r.ids).sort()).toEqual([...ids].sort());
    expect(rings.map((r) => r.number)).toEqual([1, 2, 3, 4]);
  });
});
