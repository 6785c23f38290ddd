import { readFileSync } from 'node:fs';
import { diffArrays, FILE_HEADERS_ONLY, formatPatch, type StructuredPatchHunk } from 'diff';
import { overloadOf } from '../../sites/capacity.js';
import type { EditedTexts, EditInput, SiteMove } from '../../sites/edit.js';
import type { Fleet } from '../../sites/types.js';
import { UneditableLayoutError } from '../../sites/edit-text.js';
import { parseFleet, readSource } from '../../sites/load.js';
import { InvalidInputError, type Problem } from '../../sites/problems.js';
import { Source } from '../../sites/source.js';
import { writeFilesAtomic } from '../shared/atomic-file.js';
import { RefusedError } from '../shared/errors.js';
import type { InputPaths } from '../manifests/synth.js';

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
  /** Unified diff of those files, on a dry run only ("" otherwise). */
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
  if (options.dryRun) return { outcome, changed: files.map((f) => f.path), diff: files.map((f) => unifiedDiff(f.path, f.before, f.after)).join(''), written: false };
  for (const f of files) {
    if (readFileSync(f.path, 'utf8') !== f.before) {
      throw new RefusedError(`${f.path} changed while aviary was editing it; nothing was written. Run the command again.`);
    }
  }
  writeFilesAtomic(files.map((f) => ({ path: f.path, content: f.after, previous: f.before })));
  return { outcome, changed: files.map((f) => f.path), diff: '', written: true };
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

/**
 * A unified diff (3 lines of context) of two versions of a file.
 *
 * jsdiff's own line diff is O(lines × changed lines): a bulk edit of 5,000
 * sites took minutes. An edit changes lines in place and keeps the many
 * lines that occur once in the file (ids, names, hostnames) in order, so
 * those lines, kept in their longest common order, split the files into
 * small segments (the idea of patience diff); jsdiff diffs each segment,
 * and the changes are gathered into hunks that jsdiff formats.
 */
export function unifiedDiff(path: string, before: string, after: string): string {
  const a = splitLines(before);
  const b = splitLines(after);
  const ops: Array<{ kind: ' ' | '-' | '+'; line: string }> = [];
  let i = 0;
  let j = 0;
  for (const [ai, bj] of [...uniqueCommonLines(a, b), [a.length, b.length]]) {
    for (const change of diffArrays(a.slice(i, ai), b.slice(j, bj))) {
      const kind = change.added ? '+' : change.removed ? '-' : ' ';
      for (const line of change.value) ops.push({ kind, line });
    }
    if (ai < a.length) ops.push({ kind: ' ', line: a[ai] });
    i = ai + 1;
    j = bj + 1;
  }
  return formatPatch({ oldFileName: path, newFileName: path, oldHeader: undefined, newHeader: undefined, hunks: hunksOf(ops, 3) }, FILE_HEADERS_ONLY);
}

/** Lines with their line ending, so a missing final newline shows as a change. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Pairs (old index, new index) of lines found exactly once in each file, in an order both files agree on. */
function uniqueCommonLines(a: readonly string[], b: readonly string[]): Array<[number, number]> {
  const seen = new Map<string, { a: number; b: number; ia: number; ib: number }>();
  a.forEach((line, ia) => {
    const s = seen.get(line);
    if (s) s.a++;
    else seen.set(line, { a: 1, b: 0, ia, ib: -1 });
  });
  b.forEach((line, ib) => {
    const s = seen.get(line);
    if (s) {
      s.b++;
      s.ib = ib;
    }
  });
  const pairs = [...seen.values()].filter((s) => s.a === 1 && s.b === 1).map((s): [number, number] => [s.ia, s.ib]);
  pairs.sort((x, y) => x[0] - y[0]);
  // Longest increasing subsequence of the new indexes (patience sorting, n log n).
  const tails: number[] = [];
  const back: number[] = [];
  pairs.forEach(([, ib], k) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tails[mid]][1] < ib) lo = mid + 1;
      else hi = mid;
    }
    back[k] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = k;
  });
  const kept: Array<[number, number]> = [];
  for (let k = tails.length ? tails[tails.length - 1] : -1; k >= 0; k = back[k]) kept.push(pairs[k]);
  return kept.reverse();
}

/** Groups line changes into hunks with `context` unchanged lines around them, as `diff -u` does. */
function hunksOf(ops: ReadonlyArray<{ kind: ' ' | '-' | '+'; line: string }>, context: number): StructuredPatchHunk[] {
  const changed = ops.flatMap((op, k) => (op.kind === ' ' ? [] : [k]));
  const hunks: StructuredPatchHunk[] = [];
  // Line numbers before each op, in the old and the new file.
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let o = 1;
  let n = 1;
  for (const op of ops) {
    oldAt.push(o);
    newAt.push(n);
    if (op.kind !== '+') o++;
    if (op.kind !== '-') n++;
  }
  let g = 0;
  while (g < changed.length) {
    let last = g;
    while (last + 1 < changed.length && changed[last + 1] - changed[last] <= 2 * context + 1) last++;
    const start = Math.max(0, changed[g] - context);
    const end = Math.min(ops.length, changed[last] + context + 1);
    const slice = ops.slice(start, end);
    const lines: string[] = [];
    for (const op of slice) {
      lines.push(op.kind + op.line.replace(/\n$/, ''));
      if (!op.line.endsWith('\n')) lines.push('\\ No newline at end of file');
    }
    hunks.push({
      oldStart: oldAt[start],
      oldLines: slice.filter((op) => op.kind !== '+').length,
      newStart: newAt[start],
      newLines: slice.filter((op) => op.kind !== '-').length,
      lines,
    });
    g = last + 1;
  }
  return hunks;
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

/** A bulk promotion that would put most of the traffic on the smaller color is refused (exit 1) unless forced. */
export function refuseOverload(fleet: Fleet, moves: readonly SiteMove[], force: boolean | undefined): void {
  const why = force ? undefined : overloadOf(fleet, moves);
  if (why) throw new RefusedError(why);
}
