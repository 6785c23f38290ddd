import { appendFileSync } from 'node:fs';
import { applyPatch, createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { afterEach, describe, expect, test } from 'vitest';
import { editInputs, unifiedDiff } from '../../../src/pipeline/config-repo/edit-files.js';
import { RefusedError } from '../../../src/pipeline/shared/errors.js';
import { createSite, upgradeSites } from '../../../src/sites/edit.js';
import { InvalidInputError } from '../../../src/sites/problems.js';
import { workdir, type Workdir } from '../../support/cli.js';
import { CANARY_FIXTURE, fleetOf, SITES_FIXTURE } from '../../support/fixtures.js';

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

describe('editInputs', () => {
  let w: Workdir;
  afterEach(() => w.remove());
  const paths = () => ({ sites: w.path('sites.yaml'), canary: w.path('canary.yaml') });
  const stamps = () => [w.stamp('sites.yaml'), w.stamp('canary.yaml')];

  test('writes exactly the edited text, and only the file that changed', () => {
    w = workdir();
    const canary = w.stamp('canary.yaml');
    const applied = editInputs(paths(), (input) => upgradeSites(input, ['alpha']));
    expect(applied).toMatchObject({ changed: [w.path('sites.yaml')], written: true, diff: '' });
    expect(w.read('sites.yaml')).toBe(applied.outcome.texts.sites);
    expect(w.stamp('canary.yaml')).toEqual(canary);
  });

  test('a no-op touches nothing; a dry run returns the diff and touches nothing', () => {
    w = workdir();
    const before = stamps();
    expect(editInputs(paths(), (input) => upgradeSites(input, ['delta']))).toMatchObject({ changed: [], written: false });
    const dry = editInputs(paths(), (input) => upgradeSites(input, ['alpha']), { dryRun: true });
    expect(dry.written).toBe(false);
    expect(applyPatch(SITES_FIXTURE, dry.diff.replaceAll(w.path('sites.yaml'), 'sites.yaml'))).toBe(dry.outcome.texts.sites);
    expect(stamps()).toEqual(before);
  });

  test('an invalid result is refused with the problems located in it, files untouched', () => {
    w = workdir();
    const before = stamps();
    const edit = () => editInputs(paths(), (input) => createSite(input, { id: 'Bad_Id', name: 'x', theme: 'astra', hostnames: ['alpha.example.com'] }));
    expect(edit).toThrow(InvalidInputError);
    try {
      edit();
    } catch (error) {
      const messages = (error as InvalidInputError).problems.map((p) => p.message);
      expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(/is not a DNS-1123 label \(after this edit; refused\)$/), expect.stringMatching(/already used by sites\[0\] \(alpha\)/)]));
    }
    expect(stamps()).toEqual(before);
  });

  test('invalid inputs are refused before the edit runs', () => {
    w = workdir({ 'sites.yaml': 'sites:\n  - id: a\n', 'canary.yaml': CANARY_FIXTURE });
    let ran = false;
    expect(() => editInputs(paths(), (input) => ((ran = true), upgradeSites(input, [])))).toThrow(/missing required field "name"/);
    expect(ran).toBe(false);
  });

  test('a file changed by someone else during the edit is not overwritten', () => {
    w = workdir();
    const edit = () =>
      editInputs(paths(), (input) => {
        appendFileSync(w.path('sites.yaml'), '# a concurrent edit\n');
        return upgradeSites(input, ['alpha']);
      });
    expect(edit).toThrow(RefusedError);
    expect(w.read('sites.yaml')).toBe(`${SITES_FIXTURE}# a concurrent edit\n`);
  });
});
