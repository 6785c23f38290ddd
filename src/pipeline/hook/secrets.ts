import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  paginateListSecrets,
  PutSecretValueCommand,
  RestoreSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { WP_KEYS } from '../../sites/names.js';
import type { Outcome } from './registry.js';
import type { Redactor } from './redact.js';

/** The db secret: the keys the site chart's ExternalSecret reads (see charts/site-chart.ts). */
export interface DbSecret {
  readonly host: string;
  readonly port: string;
  readonly database: string;
  readonly username: string;
  readonly password: string;
}

/** The WordPress admin secret, read by the install Job. */
export interface AdminSecret {
  readonly username: string;
  readonly email: string;
  readonly password: string;
}

/** 32 characters from a 192-bit random value, in an alphabet safe in SQL, shell, URLs and wp-config.php. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/** 64 characters from a 384-bit random value, as long as WordPress's own generated keys. */
function generateKey(): string {
  return randomBytes(48).toString('base64url');
}

type Json = Record<string, string>;

/**
 * A site's secrets in Secrets Manager. An existing secret is never
 * regenerated: only missing keys are filled in, and the connection fields of
 * the db secret follow the configuration (the password stays).
 */
export class SiteSecrets {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly redactor: Redactor,
  ) {}

  /** Creates or converges the db secret; returns what happened and the password MySQL must use. */
  async ensureDb(name: string, siteId: string, want: Omit<DbSecret, 'password'>): Promise<{ outcome: Outcome; value: DbSecret }> {
    const { outcome, value } = await this.ensure(name, siteId, `database credentials of site ${siteId}`, (old) => {
      const merged = { ...old, ...want, password: old?.password || generatePassword() };
      return merged;
    });
    return { outcome, value: value as unknown as DbSecret };
  }

  /** Creates the admin secret, or fills in a missing key; an existing username, email or password is kept. */
  async ensureAdmin(name: string, siteId: string, want: Omit<AdminSecret, 'password'>): Promise<{ outcome: Outcome; value: AdminSecret }> {
    const { outcome, value } = await this.ensure(name, siteId, `WordPress admin of site ${siteId}`, (old) => ({
      ...want,
      ...old,
      password: old?.password || generatePassword(),
    }));
    return { outcome, value: value as unknown as AdminSecret };
  }

  /**
   * Creates the keys-and-salts secret, or fills in a missing key. Existing
   * values are never regenerated: that would log out every user of the site.
   */
  async ensureKeys(name: string, siteId: string): Promise<{ outcome: Outcome }> {
    const { outcome, value } = await this.ensure(name, siteId, `WordPress keys and salts of site ${siteId}`, (old) =>
      Object.fromEntries(WP_KEYS.map((key) => [key, old?.[key] || generateKey()])),
    );
    for (const key of WP_KEYS) this.redactor.add(value[key]);
    return { outcome };
  }

  /** The names of every live secret under `prefix/` (scheduled deletions excluded), in one paginated listing. */
  async names(prefix: string): Promise<Set<string>> {
    const names = new Set<string>();
    const pages = paginateListSecrets({ client: this.client, pageSize: 100 }, { Filters: [{ Key: 'name', Values: [`${prefix}/`] }], MaxResults: 100 });
    for await (const page of pages) for (const secret of page.SecretList ?? []) if (secret.Name && !secret.DeletedDate) names.add(secret.Name);
    return names;
  }

  /** Schedules deletion with a recovery window; a secret already scheduled or gone is left alone. */
  async delete(name: string, recoveryDays: number): Promise<Outcome> {
    const found = await this.describe(name);
    if (!found) return 'absent';
    if (found.DeletedDate) return 'unchanged';
    await this.client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: recoveryDays }));
    return 'scheduled';
  }

  private async ensure(name: string, siteId: string, description: string, converge: (old: Json | undefined) => Json): Promise<{ outcome: Outcome; value: Json }> {
    let found = await this.describe(name);
    let restored = false;
    if (found?.DeletedDate) {
      // A site torn down and declared again within the recovery window gets its old credentials back.
      await this.client.send(new RestoreSecretCommand({ SecretId: name }));
      restored = true;
      found = await this.describe(name);
    }
    if (!found) {
      const value = converge(undefined);
      this.remember(value);
      try {
        await this.client.send(
          new CreateSecretCommand({ Name: name, Description: description, SecretString: JSON.stringify(value), Tags: [{ Key: 'aviary:site', Value: siteId }] }),
        );
        return { outcome: 'created', value };
      } catch (error) {
        // An earlier attempt may have created it and lost the answer: converge on what is there.
        if ((error as Error).name !== 'ResourceExistsException') throw error;
      }
    }
    const old = await this.read(name);
    const value = converge(old);
    this.remember(value);
    if (old && JSON.stringify(sorted(old)) === JSON.stringify(sorted(value))) return { outcome: restored ? 'restored' : 'unchanged', value };
    await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: JSON.stringify(value) }));
    return { outcome: restored ? 'restored' : 'updated', value };
  }

  private async describe(name: string) {
    try {
      return await this.client.send(new DescribeSecretCommand({ SecretId: name }));
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  /** The current value as string keys, or undefined when it has none or is not a JSON object. */
  private async read(name: string): Promise<Json | undefined> {
    let text: string | undefined;
    try {
      text = (await this.client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
    this.redactor.add(text);
    try {
      const json: unknown = JSON.parse(text ?? '');
      if (!json || typeof json !== 'object' || Array.isArray(json)) return undefined;
      const out: Json = {};
      for (const [k, v] of Object.entries(json)) if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
      this.remember(out);
      return out;
    } catch {
      return undefined;
    }
  }

  private remember(value: Json): void {
    this.redactor.add(value.password);
  }
}

function sorted(o: Json): Json {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
