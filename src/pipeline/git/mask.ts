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

export function mask(text: string): string {
  let out = text;
  // Longest first, so a value containing another is replaced whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join('***');
  return out;
}

/** The message of anything thrown, masked. */
export function maskedMessage(error: unknown): string {
  return mask(error instanceof Error ? error.message : String(error));
}
