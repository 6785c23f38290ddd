import { describe, expect, it } from 'vitest';
import { overloadOf } from '../../src/sites/capacity.js';
import type { SiteMove } from '../../src/sites/edit.js';
import { buildFleet, canaryDoc, DIGEST_BLUE, DIGEST_GREEN, siteEntry } from '../support/fixtures.js';

const fleetWith = (blue: Record<string, unknown>, green: Record<string, unknown>, n = 4) =>
  buildFleet(Array.from({ length: n }, (_, i) => siteEntry(`s${i}`)), canaryDoc({ services: { blue: { imageTag: DIGEST_BLUE, ...blue }, green: { imageTag: DIGEST_GREEN, ...green } } }));
const promote = (ids: number[]): SiteMove[] => ids.map((i) => ({ id: `s${i}`, from: { service: 'blue', ingress: 'blue' }, to: { service: 'green', ingress: 'green' } }));

describe('overloadOf', () => {
  it('refuses moving more than half of the traffic onto a color that can run fewer pods', () => {
    expect(overloadOf(fleetWith({ replicas: 4 }, { replicas: 1 }), promote([0, 1, 2]))).toMatch(/3 of 4 sites onto green, which can run 1 pod\(s\), from blue, which can run 4/);
  });

  it('allows half or less, an equal or larger color, and counts an autoscaler by its maximum', () => {
    expect(overloadOf(fleetWith({ replicas: 4 }, { replicas: 1 }), promote([0, 1]))).toBeUndefined();
    expect(overloadOf(fleetWith({ replicas: 2 }, { replicas: 2 }), promote([0, 1, 2, 3]))).toBeUndefined();
    expect(overloadOf(fleetWith({ replicas: 4 }, { replicas: 1, autoscale: { maxReplicas: 8 } }), promote([0, 1, 2, 3]))).toBeUndefined();
    expect(overloadOf(fleetWith({ replicas: 2, autoscale: { maxReplicas: 8 } }, { replicas: 4 }), promote([0, 1, 2, 3]))).toMatch(/can run 4 pod\(s\), from blue, which can run 8/);
  });

  it('ignores moves that leave the traffic where it is (an upgrade)', () => {
    const upgrade: SiteMove[] = [0, 1, 2, 3].map((i) => ({ id: `s${i}`, from: { service: 'blue', ingress: 'blue' }, to: { service: 'green', ingress: 'blue' } }));
    expect(overloadOf(fleetWith({ replicas: 4 }, { replicas: 1 }), upgrade)).toBeUndefined();
  });
});
