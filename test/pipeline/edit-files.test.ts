import { applyPatch, createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { describe, expect, test } from 'vitest';
import { unifiedDiff } from '../../src/pipeline/edit-files.js';
import { fleetOf, SITES_FIXTURE } from './cli-helpers.js';

/** jsdiff's own (slow, exact) diff: the reference the fast one must agree with. */
function reference(before: string, after: string): string {
  return createTwoFilesPatch('sites.yaml', 'sites.yaml', before, after, undefined, undefined, { context: 3, headerOptions: FILE_HEADERS_ONLY });
}

describe('unifiedDiff', () => {
  const cases: Array<[string, string]> = [
    ['one changed line', SITES_FIXTURE.replace('service: blue }', 'service: green, ingress: blue }')],
    ['a removed entry', SITES_FIXTURE.replace(/  # beta was[\s\S]*?\n\n/, '')],
    ['an appended entry', `${SITES_FIXTURE}  - id: x\n    name: X\n`],
    ['changes close together share a hunk', SITES_FIXTURE.replace('theme: astra\n', 'theme: kadence\n').replace('canonicalHostname: alpha', 'canonicalHostname: www.alpha')],
    ['a lost final newline', SITES_FIXTURE.slice(0, -1)],
    ['the first and the last line', `#${SITES_FIXTURE}x\n`],
    ['an emptied file', ''],
  ];

  test.each(cases)('%s: the same diff as jsdiff, and it applies', (_, after) => {
    const diff = unifiedDiff('sites.yaml', SITES_FIXTURE, after);
    expect(diff).toBe(reference(SITES_FIXTURE, after));
    expect(applyPatch(SITES_FIXTURE, diff)).toBe(after);
  });

  test('no change, no hunk', () => {
    expect(unifiedDiff('sites.yaml', SITES_FIXTURE, SITES_FIXTURE)).toBe('--- sites.yaml\n+++ sites.yaml\n');
  });

  test('a bulk edit of 5,000 sites diffs in linear time and applies back', () => {
    const before = fleetOf(5000);
    const after = before.replaceAll('    service: blue\n', '    service: green\n    ingress: blue\n');
    const started = performance.now();
    const diff = unifiedDiff('sites.yaml', before, after);
    // jsdiff alone needs minutes here (O(lines × changes)).
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(diff.match(/^\+    ingress: blue$/gm)).toHaveLength(5000);
    expect(diff.match(/^-    service: blue$/gm)).toHaveLength(5000);
    expect(applyPatch(before, diff)).toBe(after);
  });
});
