import { siteNames, type SiteNames } from '../../sites/names.js';
import type { AwsClients } from './aws.js';
import type { HookConfig } from './config.js';
import { SiteBackups } from './backup.js';
import { SiteDatabase } from './database.js';
import { Redactor } from './redact.js';
import { Registry, type Outcome, type RegistryItem } from './registry.js';
import { outside, type OutsideSystem, type RetryPolicy } from './retry.js';
import { SiteSecrets } from './secrets.js';
import { SiteStorage } from './storage.js';

/** One thing the hook did (or found already done) for a site. */
export interface StepReport {
  readonly site: string;
  readonly system: OutsideSystem;
  readonly step: string;
  readonly outcome: Outcome;
}

/** Everything a provision or teardown run works with. */
export interface HookContext {
  readonly config: HookConfig;
  readonly registry: Registry;
  readonly secrets: SiteSecrets;
  readonly database: SiteDatabase;
  readonly storage: SiteStorage;
  /** Final backups of torn-down sites, and restores from them. */
  readonly backups: SiteBackups;
  readonly redactor: Redactor;
  readonly retry: RetryPolicy;
  /** Called (and awaited) after each step: the CLI prints it; tests use it to break things between steps. */
  readonly onStep: (report: StepReport) => void | Promise<void>;
}

export function hookContext(opts: {
  config: HookConfig;
  aws: AwsClients;
  redactor: Redactor;
  retry: RetryPolicy;
  onStep?: (report: StepReport) => void | Promise<void>;
}): HookContext {
  return {
    config: opts.config,
    registry: new Registry(opts.aws.dynamodb, opts.config.table),
    secrets: new SiteSecrets(opts.aws.secrets, opts.redactor),
    database: new SiteDatabase(opts.config.mysql),
    storage: new SiteStorage(opts.aws.s3, opts.config.bucket),
    backups: new SiteBackups(opts.aws.s3, opts.config.bucket, opts.config.mysql, opts.redactor),
    redactor: opts.redactor,
    retry: opts.retry,
    onStep: opts.onStep ?? (() => undefined),
  };
}

/** The names of a site's resources under this run's secret prefix: the same function the charts use. */
export function namesFor(ctx: Pick<HookContext, 'config'>, id: string): SiteNames {
  return siteNamesWithPrefix(id, ctx.config.secretPrefix);
}

/** siteNames() needs only the prefix of the fleet's secret settings to name what the hook touches. */
export function siteNamesWithPrefix(id: string, secretPrefix: string): SiteNames {
  return siteNames(id, { secrets: { prefix: secretPrefix } });
}

/** Runs one step with retries, reports its outcome, and names site and step if it finally fails. */
export async function step<T extends Outcome | { outcome: Outcome }>(
  ctx: HookContext,
  site: string,
  system: OutsideSystem,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  const result = await outside(system, `site ${site}: ${what}`, fn, ctx.retry, ctx.redactor);
  await ctx.onStep({ site, system, step: what, outcome: typeof result === 'string' ? result : result.outcome });
  return result;
}

/** Runs `work` with a context that also collects the reports of its steps. */
export async function withReports(ctx: HookContext, work: (ctx: HookContext) => Promise<void>): Promise<StepReport[]> {
  const reports: StepReport[] = [];
  await work({ ...ctx, onStep: (r) => (reports.push(r), ctx.onStep(r)) });
  return reports;
}

/** The whole registry in one paginated scan, with the retries of any other step. */
export function scanRegistry(ctx: HookContext): Promise<RegistryItem[]> {
  return outside('AWS DynamoDB', `scan the registry ${ctx.config.table}`, () => ctx.registry.scan(), ctx.retry, ctx.redactor);
}
