/**
 * Secrets known to this process, and `mask()` to scrub them from any text
 * that leaves it (output, errors, logs). Every credential is registered the
 * moment it is read, so an error path only has to call `mask()`.
 */

const secrets = new Set<string>();

/** Shorter values are not treated as secrets: masking them would garble ordinary words. */
const MIN_LENGTH = 4;

/** Remembers `value` and the encoded forms it travels in (Basic auth header, URL userinfo). */
export function registerSecret(value: string | undefined, username?: string): void {
  if (!value || value.length < MIN_LENGTH) return;
  const forms = [value, encodeURIComponent(value), Buffer.from(value).toString('base64')];
  if (username !== undefined) forms.push(Buffer.from(`${username}:${value}`).toString('base64'));
  for (const form of forms) secrets.add(form);
}

/**
 * Credentials written into a URL: the password of `scheme://user:password@`,
 * and the lone userinfo of `http(s)://token@` (the way tokens are usually
 * put in git URLs). `ssh://git@host` keeps its user, which is no secret.
 */
export function maskUrlCredentials(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1***@')
    .replace(/(\bhttps?:\/\/)[^:/@\s]+@/gi, '$1***@');
}

/**
 * Secrets the environment hands this process (`variables`: the option
 * catalogue's secret variables, as Aviary and each CI name them), registered
 * before anything runs so that even output Aviary does not write itself (a
 * library's `DEBUG=…` log) is masked.
 */
export function registerEnvironmentSecrets(env: NodeJS.ProcessEnv, variables: readonly string[]): void {
  const username = env.AVIARY_GIT_USERNAME || 'x-access-token';
  for (const key of variables) {
    const value = env[key];
    // Real AWS keys are long; short stand-ins (a local emulator's "test") would mask ordinary words.
    if (!value || (key.includes('AWS_') && value.length < 16)) continue;
    registerSecret(value, username);
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@\s]+)@/i.exec(value)?.[1];
    registerSecret(password);
    registerSecret(password && decodeURIComponentSafe(password));
  }
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Everything this process writes to `stream` goes through `mask()`
 * (installed once by the CLI's main). GitHub's `::add-mask::` lines are the
 * one exception: they hand a secret to the runner so that it hides it.
 */
export function maskStream(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const clean = (text: string) => text.split('\n').map((line) => (line.startsWith('::add-mask::') ? line : mask(line))).join('\n');
  stream.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(typeof chunk === 'string' ? clean(chunk) : chunk instanceof Uint8Array ? clean(Buffer.from(chunk).toString('utf8')) : chunk, ...rest)) as typeof stream.write;
}

export function mask(text: string): string {
  let out = maskUrlCredentials(text);
  // Longest first, so a value containing another is replaced whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join('***');
  return out;
}

/** The message of anything thrown, masked. */
export function maskedMessage(error: unknown): string {
  return mask(error instanceof Error ? error.message : String(error));
}
