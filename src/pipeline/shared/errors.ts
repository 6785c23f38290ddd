import { formatProblem, InvalidInputError } from '../../sites/problems.js';

/**
 * The failures the CLI knows how to report, each with its exit status
 * (see the README): 1 invalid input or refused, 2 usage, 3 outside system.
 */

/*
 * Exit statuses are getters on the prototype, not instance fields: an error
 * scrubbed of secrets is a copy that keeps only the prototype (redact.ts),
 * and it must still exit with its status.
 */

/** The user asked for something Aviary will not do as asked (e.g. a mass teardown without --confirm). */
export class RefusedError extends Error {
  get exitCode(): number {
    return 1;
  }
  override name = 'RefusedError';
}

/** Checks ran and some did not pass (`aviary verify`); each failure was printed. */
export class ChecksFailedError extends Error {
  get exitCode(): number {
    return 1;
  }
  override name = 'ChecksFailedError';
}

/** The command line itself is wrong. */
export class UsageError extends Error {
  get exitCode(): number {
    return 2;
  }
  override name = 'UsageError';
}

/** git, GitHub, AWS or MySQL failed after retries. `system` names which, `step` what we were doing. */
export class OutsideSystemError extends Error {
  get exitCode(): number {
    return 3;
  }
  override name = 'OutsideSystemError';
  constructor(
    readonly system: string,
    readonly step: string,
    cause: unknown,
  ) {
    super(`${system}: ${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Several sites failed in one hook run, each with its own error; the others finished. */
export class SitesFailedError extends Error {
  override name = 'SitesFailedError';
  /** The highest exit status among the failures: any outside-system failure makes it 3. */
  readonly exitCode: number;
  constructor(
    readonly failures: readonly { readonly id: string; readonly error: unknown }[],
    total: number,
  ) {
    super(
      `${failures.length} of ${total} sites failed (the others are done; running the same command again finishes these):\n` +
        failures.map((f) => `  ${f.id}: ${f.error instanceof Error ? f.error.message : String(f.error)}`).join('\n'),
    );
    this.exitCode = Math.max(...failures.map((f) => exitCodeOf(f.error)));
  }
}

/** The failures Aviary reports as `error: …` with their own exit status; anything else is a bug. */
function known(error: unknown): error is RefusedError | ChecksFailedError | UsageError | OutsideSystemError | SitesFailedError {
  return error instanceof RefusedError || error instanceof ChecksFailedError || error instanceof UsageError || error instanceof OutsideSystemError || error instanceof SitesFailedError;
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof InvalidInputError) return 1;
  return known(error) ? error.exitCode : 1;
}

/** A file or folder Aviary could not read or write (a path given by the user, a full disk): said as such, not as a crash. */
type FileSystemError = Error & { readonly code: string; readonly syscall: string; readonly path: string };

function isFileSystemError(error: unknown): error is FileSystemError {
  const e = error as Partial<FileSystemError> | undefined;
  return error instanceof Error && typeof e?.code === 'string' && typeof e.syscall === 'string' && typeof e.path === 'string';
}

const FILE_SYSTEM_WORDS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'a folder, where a file was expected',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'a read-only file system',
  ENOSPC: 'no space left on the device',
  EEXIST: 'already exists',
};

/** What the CLI prints for a failure: the one place an error becomes a message. */
export function errorReport(error: unknown): string {
  if (error instanceof InvalidInputError) return `${error.problems.map(formatProblem).join('\n')}\n${error.total} problem(s); nothing was written.`;
  if (known(error)) return `error: ${error.message}`;
  if (isFileSystemError(error)) {
    return `error: ${error.path}: ${FILE_SYSTEM_WORDS[error.code] ?? error.code} (${error.syscall}). Check the paths given (--out, --sites, --canary, --work-dir) and their permissions.`;
  }
  return `internal error (please report it): ${error instanceof Error ? error.stack : String(error)}`;
}
