import { readFileSync } from 'node:fs';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import type { EditedTexts, EditInput } from '../sites/edit.js';
import { UneditableLayoutError } from '../sites/edit-text.js';
import { parseFleet, readSource } from '../sites/load.js';
import { InvalidInputError, type Problem } from '../sites/problems.js';
import { Source } from '../sites/source.js';
import { writeFileAtomic } from './atomic-file.js';
import { RefusedError } from './errors.js';
import type { InputPaths } from './synth.js';

/**
 * The one way the CLI changes `sites.yaml` / `canary.yaml`: read and validate
 * both, apply a pure edit (src/sites/edit.ts), validate the result, then
 * either show it as a diff (dry run) or write the changed files atomically.
 * Nothing is written when nothing changes, when the result would be invalid,
 * or when a file changed on disk while we were editing it.
 */

export interface AppliedEdit<T> {
  readonly outcome: T;
  /** The files whose text the edit changed, as the user named them. */
  readonly changed: readonly string[];
  /** Unified diff of those files ("" when nothing changed). */
  readonly diff: string;
  readonly written: boolean;
}

/** Reads and validates both inputs; invalid inputs are refused before any edit (exit 1). */
export function readInputs(paths: InputPaths): EditInput {
  const sites = readSource(paths.sites);
  const canary = readSource(paths.canary);
  const unreadable = [sites, canary].filter((s): s is Problem => !(s instanceof Source));
  if (unreadable.length > 0) throw new InvalidInputError(unreadable);
  const fleet = parseFleet(sites as Source, canary as Source);
  return { fleet, sites: sites as Source, canary: canary as Source };
}

export function editInputs<T extends { readonly texts: EditedTexts }>(
  paths: InputPaths,
  edit: (input: EditInput) => T,
  options: { readonly dryRun?: boolean } = {},
): AppliedEdit<T> {
  const input = readInputs(paths);
  const outcome = runEdit(input, edit);
  const files = [
    { path: paths.sites, before: input.sites.text, after: outcome.texts.sites },
    { path: paths.canary, before: input.canary.text, after: outcome.texts.canary },
  ].filter((f) => f.before !== f.after);
  if (files.length === 0) return { outcome, changed: [], diff: '', written: false };

  validateResult(paths, outcome.texts);
  const diff = files.map((f) => createTwoFilesPatch(f.path, f.path, f.before, f.after, undefined, undefined, { context: 3, headerOptions: FILE_HEADERS_ONLY })).join('');
  if (!options.dryRun) {
    for (const f of files) {
      if (readFileSync(f.path, 'utf8') !== f.before) {
        throw new RefusedError(`${f.path} changed while aviary was editing it; nothing was written. Run the command again.`);
      }
    }
    for (const f of files) writeFileAtomic(f.path, f.after);
  }
  return { outcome, changed: files.map((f) => f.path), diff, written: !options.dryRun };
}

function runEdit<T>(input: EditInput, edit: (input: EditInput) => T): T {
  try {
    return edit(input);
  } catch (error) {
    if (!(error instanceof UneditableLayoutError)) throw error;
    const line = input.sites.text.slice(0, error.offset).split('\n').length;
    throw new RefusedError(`${input.sites.file}:${line}: ${error.message}; aviary cannot edit this layout safely. Make the change by hand in a pull request.`);
  }
}

/** The edited files must be as valid as the originals; the problems point into the would-be files. */
function validateResult(paths: InputPaths, texts: EditedTexts): void {
  try {
    parseFleet(new Source(paths.sites, texts.sites), new Source(paths.canary, texts.canary));
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    throw new InvalidInputError(error.problems.map((p) => ({ ...p, message: `${p.message} (after this edit; refused)` })));
  }
}

/** How an editing command reports itself: its one or two lines for people, and its facts for --json. */
export interface EditReport {
  /** Printed when the edit changed something. */
  readonly summary: readonly string[];
  /** Printed instead when there was nothing to do. */
  readonly noop: string;
  /** Merged into the --json output. */
  readonly facts: Readonly<Record<string, unknown>>;
}

export function printEdit(applied: AppliedEdit<unknown>, report: EditReport, options: { readonly json?: boolean; readonly dryRun?: boolean }): void {
  const changed = applied.changed.length > 0;
  if (options.json) {
    const out = { changed, written: applied.written, dryRun: Boolean(options.dryRun), files: applied.changed, ...report.facts, ...(options.dryRun ? { diff: applied.diff } : {}) };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  if (!changed) {
    process.stdout.write(`${report.noop}\n`);
    return;
  }
  if (options.dryRun) process.stdout.write(applied.diff);
  process.stdout.write(`${report.summary.join('\n')}\n`);
  if (options.dryRun) process.stdout.write(`Dry run: nothing was written.\n`);
}

/** "a, b, c and 997 more": long bulk lists stay readable on one line. */
export function listIds(ids: readonly string[], max = 8): string {
  if (ids.length <= max) return ids.join(', ');
  return `${ids.slice(0, max).join(', ')} and ${ids.length - max} more`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
