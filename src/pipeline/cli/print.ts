import { mask } from '../shared/mask.js';

/**
 * A command's answer goes to stdout, its progress and notes to stderr, so
 * `--json` output stays parseable. Both are masked here as well as by the
 * bin's stream mask, for callers that run `main()` in-process.
 */
export const say = (text: string): void => void process.stdout.write(`${mask(text)}\n`);
export const note = (text: string): void => void process.stderr.write(`${mask(text)}\n`);

/** JSON for `--json`, else the text. */
export function answer(json: boolean | undefined, value: unknown, text: () => string): void {
  say(json ? JSON.stringify(value, null, 2) : text());
}

/** Colour for a person at a terminal; never in a pipe, a file, a CI log, or with NO_COLOR set (no-color.org). */
export function colourOn(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}
