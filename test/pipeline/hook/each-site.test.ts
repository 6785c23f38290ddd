// eachSite: bounded concurrency, every site attempted, failures gathered.
import { describe, expect, it } from 'vitest';
import { OutsideSystemError, RefusedError, SitesFailedError, exitCodeOf } from '../../../src/pipeline/shared/errors.js';
import type { StepReport } from '../../../src/pipeline/hook/context.js';
import { eachSite } from '../../../src/pipeline/hook/each-site.js';

const report = (site: string): StepReport => ({ site, system: 'MySQL', step: 'database', outcome: 'created' });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('eachSite', () => {
  it('never runs more than `concurrency` sites at once, and returns the reports in the order of the sites', async () => {
    let running = 0;
    let most = 0;
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const reports = await eachSite(
      ids,
      async (id) => {
        most = Math.max(most, ++running);
        await pause(ids.indexOf(id) % 3 === 0 ? 15 : 2); // finish out of order
        running--;
        return [report(id)];
      },
      { concurrency: 4 },
    );
    expect(most).toBe(4);
    expect(reports.map((r) => r.site)).toEqual(ids);
  });

  it('reports each finished site with a running count', async () => {
    const seen: string[] = [];
    await eachSite(['a', 'b', 'c'], async (id) => [report(id)], { concurrency: 1, onSite: (id, r, done) => seen.push(`${done}:${id}:${r.length}`) });
    expect(seen).toEqual(['1:a:1', '2:b:1', '3:c:1']);
  });

  it('finishes every other site when one fails, then rethrows that failure as it was', async () => {
    const finished: string[] = [];
    const failure = new OutsideSystemError('MySQL', 'site b: user wp_b', new Error('access denied'));
    const error = await eachSite(
      ['a', 'b', 'c', 'd'],
      async (id) => {
        if (id === 'b') throw failure;
        await pause(5);
        finished.push(id);
        return [report(id)];
      },
      { concurrency: 2 },
    ).catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(finished.sort()).toEqual(['a', 'c', 'd']);
  });

  it('gathers several failures into one error naming each site in order, with the highest exit status', async () => {
    const error = await eachSite(
      [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
      async ({ id }) => {
        if (id === 'c') throw new RefusedError('c refused');
        if (id === 'a') {
          await pause(10); // fails last, still listed first
          throw new OutsideSystemError('AWS S3', 'site a: prefix', new Error('AccessDenied'));
        }
        return [report(id)];
      },
      { concurrency: 3 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SitesFailedError);
    expect((error as Error).message).toBe(
      '2 of 3 sites failed (the others are done; running the same command again finishes these):\n' +
        '  a: AWS S3: site a: prefix failed: AccessDenied\n' +
        '  c: c refused',
    );
    expect(exitCodeOf(error)).toBe(3);
  });
});
