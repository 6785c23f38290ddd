/** One thing wrong with the inputs, located for a person to fix it. */
export interface Problem {
  /** The file as the user named it, e.g. `sites.yaml`. */
  readonly file: string;
  /** 1-based; 0 when the problem has no position (e.g. a missing file). */
  readonly line: number;
  readonly column: number;
  /** Where in the document, e.g. `sites[2].hostnames[0]`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
  /** What to do about it. */
  readonly hint?: string;
}

export function formatProblem(p: Problem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  const what = p.path ? `${p.path}: ${p.message}` : p.message;
  return `${where}: ${what}${p.hint ? `\n    hint: ${p.hint}` : ''}`;
}

/** The inputs are invalid; carries every problem found, so the user fixes them in one pass. */
export class InvalidInputError extends Error {
  constructor(
    /** The problems listed (a very long list ends with a line saying how many more there are). */
    readonly problems: readonly Problem[],
    /** How many problems were found in all. */
    readonly total: number = problems.length,
  ) {
    super(`${total} problem${total === 1 ? '' : 's'} in the inputs:\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'InvalidInputError';
  }
}

/** Renders a document path like `sites[2].hostnames[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/**
 * A value as a message shows it: JSON-quoted, and cut short, because a hostile
 * file can hold a megabyte in one string and a message must stay readable.
 */
export function quote(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

/** A short list for a hint: the first few items, then how many more. */
export function listSome(items: readonly string[], max = 5): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}
