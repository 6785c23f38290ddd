import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/sites/problems.js';
import { errorReport, exitCodeOf, OutsideSystemError, RefusedError, SitesFailedError, UsageError } from '../../../src/pipeline/shared/errors.js';

describe('one place errors become messages and exit statuses', () => {
  it('two sites failing in one run is a reported failure (exit 3 for an outside system), not an internal error', () => {
    const error = new SitesFailedError(
      [
        { id: 'shop', error: new OutsideSystemError('MySQL', 'site shop: drop user wp_shop', new Error('connect ECONNREFUSED')) },
        { id: 'blog', error: new RefusedError('site blog is live') },
      ],
      5,
    );
    expect(errorReport(error)).toMatch(/^error: 2 of 5 sites failed .*\n {2}shop: MySQL: site shop: drop user wp_shop failed: connect ECONNREFUSED\n {2}blog: site blog is live$/s);
    expect(errorReport(error)).not.toContain('internal error');
    expect(exitCodeOf(error)).toBe(3);
  });

  it('each class keeps its status; invalid input lists every problem; anything else is a bug with its stack', () => {
    expect([exitCodeOf(new RefusedError('x')), exitCodeOf(new UsageError('x')), exitCodeOf(new OutsideSystemError('git', 'push', 'x'))]).toEqual([1, 2, 3]);
    const invalid = new InvalidInputError([{ file: 'sites.yaml', line: 3, column: 5, path: 'sites[0].id', message: 'bad id' }]);
    expect(errorReport(invalid)).toBe('sites.yaml:3:5: sites[0].id: bad id\n1 problem(s); nothing was written.');
    expect(exitCodeOf(invalid)).toBe(1);
    expect(errorReport(new TypeError('oops'))).toMatch(/^internal error \(please report it\): TypeError: oops\n\s+at /);
  });
});
