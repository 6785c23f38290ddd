import { mask, registerSecret } from '../shared/mask.js';

/**
 * Keeps secret values out of everything Aviary prints. Outside systems echo
 * their input in errors (a SQL syntax error quotes the statement, a URL error
 * quotes the URL), so every message from them passes through `scrub` before
 * it can reach a log line or an exception a user sees.
 */
export class Redactor {
  /** Remembers a secret value in the process's one mask; short values are ignored because scrubbing them would mangle ordinary words. */
  add(secret: string | undefined): void {
    if (secret && secret.length >= 6) registerSecret(secret);
  }

  /** The one mask (shared/mask.ts): remembered secrets and credentials in URLs. */
  scrub(text: string): string {
    return mask(text);
  }

  /** An Error with a scrubbed message and no links to the original (whose fields may hold SQL or credentials). */
  scrubError(error: unknown): Error {
    const message = error instanceof Error ? error.message || error.name : String(error);
    const clean = new Error(this.scrub(message));
    // Same class and name, so callers can still tell errors apart (e.g. ConcurrentHookError).
    if (error instanceof Error) Object.setPrototypeOf(clean, Object.getPrototypeOf(error));
    clean.name = error instanceof Error ? error.name : 'Error';
    const code = (error as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') Object.assign(clean, { code });
    return clean;
  }
}
