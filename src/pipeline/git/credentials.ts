import { registerSecret } from '../shared/mask.js';

/** How Aviary authenticates to the manifests remote over HTTP(S). */
export interface GitCredentials {
  readonly username: string;
  readonly token: string;
}

export interface CredentialSources {
  /** `--token`; wins over the environment. */
  readonly token?: string;
  readonly username?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** GitHub and most forges accept any username with a token as password; this is GitHub's convention. */
export const DEFAULT_USERNAME = 'x-access-token';

/** The credentials from flags or `AVIARY_GIT_TOKEN` / `AVIARY_GIT_USERNAME`, registered for masking. */
export function credentialsFrom({ token, username, env = process.env }: CredentialSources): GitCredentials | undefined {
  const secret = token || env.AVIARY_GIT_TOKEN;
  if (!secret) return undefined;
  const user = username || env.AVIARY_GIT_USERNAME || DEFAULT_USERNAME;
  registerSecret(secret, user);
  return { username: user, token: secret };
}

/**
 * A remote URL without userinfo, plus the credentials it carried. Credentials
 * in a URL would be stored in `.git/config` and printed by git in errors.
 */
export function splitUrlCredentials(url: string): { url: string; credentials?: GitCredentials } {
  if (!/^https?:\/\//i.test(url)) return { url };
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { url };
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const clean = parsed.toString();
  if (!password) return { url: clean };
  registerSecret(password, username || DEFAULT_USERNAME);
  return { url: clean, credentials: { username: username || DEFAULT_USERNAME, token: password } };
}

/**
 * Per-command `-c` settings that authenticate without storing anything:
 * `http.extraHeader` lives only in the git process's arguments, never in
 * `.git/config`, and git redacts it from its traces.
 */
export function authConfig(credentials: GitCredentials | undefined): string[] {
  if (!credentials) return [];
  const basic = Buffer.from(`${credentials.username}:${credentials.token}`).toString('base64');
  return [`http.extraHeader=Authorization: Basic ${basic}`];
}
