import { simpleGit, type SimpleGit } from 'simple-git';
import { OutsideSystemError } from '../shared/errors.js';
import { authConfig, type GitCredentials } from './credentials.js';
import { maskedMessage } from '../shared/mask.js';

/** Who Aviary's commits are committed by; the author is the person behind the input commit. */
export const COMMITTER = { name: 'Aviary', email: 'aviary@users.noreply.invalid' } as const;

// simple-git refuses these when passed explicitly (they can redirect git), and strips inherited ones anyway.
const GUARDED_ENV = /^(git.*|editor|visual|pager|prefix|ssh_askpass)$/i;

/**
 * How the operator tells git to reach an SSH remote (a deploy key:
 * `GIT_SSH_COMMAND='ssh -i key'`). They come from the CI's own settings, so
 * they pass simple-git's guard; without them SSH remotes would not work.
 */
export const SSH_ENV = ['GIT_SSH_COMMAND', 'GIT_SSH', 'GIT_SSH_VARIANT'] as const;
const passed = new Set<string>(SSH_ENV);

/** simple-git options that let SSH_ENV through its two guards (ambient variables, then unsafe ones). */
export const SSH_PASSTHROUGH = { allowEnvironment: [...SSH_ENV], unsafe: { allowUnsafeSshCommand: true } };

/**
 * A git client for `dir`: credentials go in as per-command `-c` settings
 * (never into `.git/config`), prompts are off so a bad password fails at
 * once, and user-level settings that would change what a commit is (signing,
 * hooks) are neutralised.
 */
export function gitIn(dir: string, credentials?: GitCredentials): SimpleGit {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0' };
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && (!GUARDED_ENV.test(key) || passed.has(key))) env[key] = value;
  return simpleGit({
    baseDir: dir,
    config: [
      ...authConfig(credentials),
      `user.name=${COMMITTER.name}`,
      `user.email=${COMMITTER.email}`,
      'commit.gpgsign=false',
      'core.autocrlf=false',
      'advice.detachedHead=false',
    ],
    allowEnvironment: ['GIT_TERMINAL_PROMPT', ...SSH_ENV],
    unsafe: SSH_PASSTHROUGH.unsafe,
    maxConcurrentProcesses: 4,
    errors: failOnExitCode,
  }).env(env);
}

/**
 * simple-git only fails a command that wrote to stderr; `merge-base
 * --is-ancestor` and friends answer "no" with a bare exit status.
 */
export function failOnExitCode(error: Buffer | Error | undefined, result: { exitCode: number; stdErr: Buffer[]; stdOut: Buffer[] }): Buffer | Error | undefined {
  if (error) return error;
  if (result.exitCode === 0) return undefined;
  const said = Buffer.concat(result.stdErr).toString().trim() || Buffer.concat(result.stdOut).toString().trim();
  return Buffer.from(said || `git exited with status ${result.exitCode}`);
}

/** Runs one git step; any failure becomes an OutsideSystemError with secrets masked. */
export async function gitStep<T>(step: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof OutsideSystemError) throw error;
    throw outsideGitError(step, error);
  }
}

export function outsideGitError(step: string, error: unknown): OutsideSystemError {
  return new OutsideSystemError('git', step, new Error(explainGitFailure(maskedMessage(error))));
}

/** git's own words, plus what to do when we recognise the failure. */
export function explainGitFailure(message: string): string {
  const text = message.trim();
  if (isAuthFailure(text)) {
    return `${text}\nThe remote refused the credentials: set AVIARY_GIT_TOKEN (or --token) to a token that may push to this repository, and AVIARY_GIT_USERNAME if the server needs a specific user.`;
  }
  if (/Could not resolve host|Connection refused|Failed to connect|timed out/i.test(text)) {
    return `${text}\nThe remote could not be reached: check the --repo URL and the network.`;
  }
  if (/does not appear to be a git repository|repository .* not found|not found/i.test(text)) {
    return `${text}\nCheck the --repo URL or path: no repository answers there.`;
  }
  return text;
}

export function isAuthFailure(message: string): boolean {
  return /Authentication failed|could not read Username|could not read Password|terminal prompts disabled|HTTP 40[13]|The requested URL returned error: 40[13]|Permission denied/i.test(message);
}

/** A push the remote turned down because its branch moved (or was moving) under us: worth a fetch and retry. */
export function isPushRace(message: string): boolean {
  return /\(fetch first\)|non-fast-forward|\(stale info\)|cannot lock ref|failed to update ref|incorrect old value|failed to lock|Updates were rejected because/i.test(message);
}
