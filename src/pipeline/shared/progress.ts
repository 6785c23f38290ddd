/**
 * Progress of a long run (the pipeline), per stage and per site, written so a
 * CI log reads well: one plain line per event, nothing rewritten. Only an
 * interactive terminal gets a counter that updates in place, and GitHub
 * Actions gets each stage folded into a collapsible log group.
 */

/** plain: CI logs and pipes; tty: a person at a terminal; github: plain lines inside `::group::` folds. */
export type ProgressStyle = 'plain' | 'tty' | 'github';

export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface ProgressOptions {
  readonly style?: ProgressStyle;
  /** Applied to every line before it is written (masks secrets). */
  readonly scrub?: (line: string) => string;
  /** Milliseconds since some origin; injectable so tests get stable durations. */
  readonly now?: () => number;
}

/** One stage of the run, between `stage()` and exactly one of done / skip / fail. */
export interface StageProgress {
  /** A line of detail. */
  note(text: string): void;
  /** One unit of bulk work finished, e.g. the third of 1,200 sites. */
  item(index: number, total: number, text: string): void;
  done(summary?: string): void;
  skip(reason: string): void;
  fail(reason?: string): void;
}

export interface Progress {
  stage(name: string, detail?: string): StageProgress;
  /** A line outside any stage (the final summary). */
  say(text: string): void;
}

/** The style for a stream: GitHub's folds under Actions, in-place counters only on an interactive terminal. */
export function progressStyle(sink: ProgressSink, env: NodeJS.ProcessEnv = process.env): ProgressStyle {
  if (env.GITHUB_ACTIONS === 'true') return 'github';
  if (sink.isTTY && !env.CI && env.TERM !== 'dumb') return 'tty';
  return 'plain';
}

const INDENT = '    ';

export function createProgress(sink: ProgressSink, options: ProgressOptions = {}): Progress {
  const style = options.style ?? progressStyle(sink);
  const scrub = options.scrub ?? ((s: string) => s);
  const now = options.now ?? (() => performance.now());
  /** Whether the last thing written is an in-place counter line that the next line must clear. */
  let counterShown = false;

  const line = (text: string) => {
    const clean = scrub(text).replace(/\r/g, '');
    if (counterShown) {
      sink.write('\r\x1b[2K');
      counterShown = false;
    }
    sink.write(`${clean}\n`);
  };
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

  return {
    say: line,
    stage(name, detail) {
      const started = now();
      let open = true;
      if (style === 'github') sink.write(`::group::${scrub(name)}${detail ? ` (${scrub(detail)})` : ''}\n`);
      else line(`==> ${name}${detail ? ` (${detail})` : ''}`);
      const close = (text: string) => {
        if (!open) return;
        open = false;
        line(`${INDENT}${text}`);
        if (style === 'github') sink.write('::endgroup::\n');
      };
      return {
        note: (text) => line(`${INDENT}${text}`),
        item(index, total, text) {
          const counter = `[${String(index).padStart(String(total).length)}/${total}]`;
          // In place only for bulk work at a terminal; every other case keeps one line per item for the log.
          if (style === 'tty' && total > 20 && index < total) {
            sink.write(`\r\x1b[2K${INDENT}${counter} ${scrub(text).replace(/[\r\n]/g, ' ')}`);
            counterShown = true;
            return;
          }
          line(`${INDENT}${counter} ${text}`);
        },
        done: (summary) => close(`${summary ? `${summary} ` : ''}(${name} done in ${seconds(now() - started)})`),
        skip: (reason) => close(`skipped: ${reason}`),
        fail: (reason) => close(`FAILED${reason ? `: ${reason}` : ''} (${name}, after ${seconds(now() - started)})`),
      };
    },
  };
}

/** A Progress that writes nothing (library use, tests that only look at results). */
export const silentProgress: Progress = createProgress({ write: () => true }, { style: 'plain' });
