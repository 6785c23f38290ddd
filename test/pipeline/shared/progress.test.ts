import { describe, expect, it } from 'vitest';
import { createProgress, progressStyle, type ProgressStyle } from '../../../src/pipeline/shared/progress.js';

function capture(style: ProgressStyle, scrub?: (s: string) => string) {
  let text = '';
  let t = 0;
  const progress = createProgress({ write: (s: string) => (text += s) }, { style, scrub, now: () => (t += 250) });
  return { progress, text: () => text };
}

function bulk(style: ProgressStyle) {
  const c = capture(style);
  const s = c.progress.stage('provision', '30 new sites');
  for (let i = 1; i <= 30; i++) s.item(i, 30, `site-${i}: 8 steps: 8 created`);
  s.done('30 sites ready.');
  return c.text();
}

describe('progress', () => {
  it('plain: one line per stage, per site and per outcome; nothing rewritten', () => {
    const c = capture('plain');
    const v = c.progress.stage('validate');
    v.done('2 sites.');
    const p = c.progress.stage('provision', '2 new sites');
    p.item(1, 2, 'shop: 8 steps: 8 created');
    p.item(2, 2, 'blog: 8 steps: 8 created');
    p.done();
    c.progress.stage('teardown').skip('no removed sites');
    c.progress.stage('publish').fail('git: push failed');
    expect(c.text()).toBe(
      [
        '==> validate',
        '    2 sites. (validate done in 0.3 s)',
        '==> provision (2 new sites)',
        '    [1/2] shop: 8 steps: 8 created',
        '    [2/2] blog: 8 steps: 8 created',
        '    (provision done in 0.3 s)',
        '==> teardown',
        '    skipped: no removed sites',
        '==> publish',
        '    FAILED: git: push failed (publish, after 0.3 s)',
        '',
      ].join('\n'),
    );
  });

  it('plain keeps a line per site for bulk work, with aligned counters, and no cursor tricks', () => {
    const text = bulk('plain');
    expect(text.split('\n').filter((l) => /^\s+\[\s*\d+\/30\]/.test(l))).toHaveLength(30);
    expect(text).toContain('    [ 9/30] site-9');
    expect(text).not.toMatch(/[\r\x1b]/);
  });

  it('a terminal gets one counter updated in place for bulk work, cleared before the next line', () => {
    const text = bulk('tty');
    expect(text).toContain('\r\x1b[2K    [ 1/30] site-1');
    // The last item and the outcome are ordinary lines.
    expect(text).toContain('\r\x1b[2K    [30/30] site-30: 8 steps: 8 created\n    30 sites ready.');
    expect(text.split('\n')).toHaveLength(4);
  });

  it('GitHub Actions folds each stage into a group', () => {
    const c = capture('github');
    const s = c.progress.stage('publish', 'push to main');
    s.note('Pushed.');
    s.done();
    expect(c.text()).toBe('::group::publish (push to main)\n    Pushed.\n    (publish done in 0.3 s)\n::endgroup::\n');
    expect(bulk('github')).not.toMatch(/[\r\x1b]/);
  });

  it('closes a stage once, and scrubs every line', () => {
    const c = capture('plain', (s) => s.replaceAll('hunter2', '***'));
    const s = c.progress.stage('publish');
    s.note('token hunter2');
    s.fail('bad hunter2');
    s.done();
    expect(c.text()).toBe('==> publish\n    token ***\n    FAILED: bad *** (publish, after 0.3 s)\n');
  });

  it('chooses the style from the stream and the environment', () => {
    expect(progressStyle({ write: () => true, isTTY: true }, {})).toBe('tty');
    expect(progressStyle({ write: () => true, isTTY: true }, { CI: 'true' })).toBe('plain');
    expect(progressStyle({ write: () => true, isTTY: false }, {})).toBe('plain');
    expect(progressStyle({ write: () => true }, { GITHUB_ACTIONS: 'true' })).toBe('github');
    expect(progressStyle({ write: () => true, isTTY: true }, { TERM: 'dumb' })).toBe('plain');
  });
});
