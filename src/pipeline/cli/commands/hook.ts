import type { Command } from 'commander';
import { loadFleet } from '../../../sites/load.js';
import { layoutOf } from '../../../sites/names.js';
import type { Fleet, Site } from '../../../sites/types.js';
import { dirname, resolve } from 'node:path';
import { RefusedError, UsageError } from '../../shared/errors.js';
import { awsClients } from '../../hook/aws.js';
import { resolveHookConfig, resolveInitConfig, resolveSecretPrefix, type HookFlags } from '../../hook/config.js';
import { hookContext, siteNamesWithPrefix, step, type HookContext, type StepReport } from '../../hook/context.js';
import { ensureBackupExpiry, ensureBucket, ensureTable } from '../../hook/init.js';
import { provisionSites } from '../../hook/provision.js';
import { Redactor } from '../../hook/redact.js';
import { DEFAULT_RETRY, outside, type RetryPolicy } from '../../hook/retry.js';
import {
  checkRecoveryDays,
  checkTeardownAllowed,
  teardownPlanText,
} from '../../hook/teardown.js';
import { listBackups } from '../../hook/backup.js';
import { runTeardowns } from '../../stages/teardowns.js';
import { credentialsFrom } from '../../git/credentials.js';
import { configRepo } from '../../config-repo/inputs.js';
import { plural } from '../../shared/words.js';
import { declaredSites, hookPlan, lastDeployedSites, undeclaredIds } from '../../stages/which-sites.js';
import { globals, withOptions, type OptionUse } from '../options.js';
import { argoCdTarget } from '../../publish/argocd.js';
import type { ManifestsTarget } from '../../publish/target.js';
import { targetOf } from '../publish-flags.js';

interface CommonOptions extends HookFlags {
  readonly retries: number;
  readonly concurrency: number;
  readonly json?: boolean;
}

interface TeardownOptions extends CommonOptions {
  readonly argocdUrl?: string;
  readonly argocdWait: number;
  readonly workDir: string;
  readonly teardownGrace: number;
  readonly recoveryDays: number;
  readonly confirm?: number;
  readonly threshold: number;
  readonly dryRun?: boolean;
}

const AWS_OPTIONS: readonly OptionUse[] = ['awsRegion', 'awsAccessKeyId', 'awsSecretAccessKey', 'awsSessionToken', 'awsEndpointUrl'];

/** What every hook command that works on sites takes. */
const HOOK_OPTIONS: readonly OptionUse[] = [
  'table', 'bucket', 'secretPrefix', 'mysqlUrl', 'mysqlSecret', 'dbHost', 'manifestsRepo', 'branch', 'path', 'force', 'retries', 'concurrency', ...AWS_OPTIONS, 'json',
];

export function register(program: Command): void {
  const hook = program
    .command('hook')
    .description("the AWS side of each site: registry item, secrets, MySQL database and user, S3 prefix");

  withOptions(hook.command('provision').argument('[ids...]', 'sites to provision (default: those new since the last deploy)'), ...HOOK_OPTIONS)
    .description('create what each site needs before its manifests are published; a no-op for sites already provisioned')
    .action(async (ids: string[], opts: CommonOptions, cmd: Command) => {
      const { sites: sitesPath, canary: canaryPath } = globals(cmd);
      const fleet = loadFleet(sitesPath, canaryPath);
      const sites = ids.length > 0 ? declaredSites(ids, fleet, sitesPath) : (await planFromLastDeploy(manifestsOf(cmd, fleet), sitesPath, canaryPath, fleet)).provision;
      if (sites.length === 0) return say(opts, { provisioned: [], steps: [] }, 'Nothing to provision.');
      const steps = await run(opts, fleet, (ctx) => provisionSites(ctx, sites, { concurrency: opts.concurrency }));
      say(opts, { provisioned: sites.map((s) => s.id), steps }, summary('Provisioned', sites.map((s) => s.id), steps));
    });

  withOptions(
    hook.command('teardown').argument('[ids...]', 'sites to tear down (default: those removed since the last deploy)'),
    ...HOOK_OPTIONS,
    'workDir', 'teardownGrace', 'recoveryDays', 'confirm', 'threshold', 'argocdUrl', 'argocdToken', 'argocdWait', 'dryRun',
  )
    .description(
      'mark removed sites for teardown; for those whose grace period is over, take a final backup and delete their secrets (with a recovery window), database, user and files',
    )
    .action(async (ids: string[], opts: TeardownOptions, cmd: Command) => {
      const { sites: sitesPath, canary: canaryPath } = globals(cmd);
      const fleet = loadFleet(sitesPath, canaryPath);
      const manifests = manifestsOf(cmd, fleet);
      const targets = ids.length > 0 ? undeclaredIds(ids, fleet, sitesPath) : (await planFromLastDeploy(manifests, sitesPath, canaryPath, fleet)).teardown;
      const recoveryDays = checkRecoveryDays(opts.recoveryDays);
      if (opts.dryRun) {
        const prefix = resolveSecretPrefix(opts, fleet.canary.settings.secrets.prefix);
        const where = { table: opts.table ?? process.env.AVIARY_TABLE, bucket: opts.bucket ?? process.env.AVIARY_BUCKET, recoveryDays };
        let text = teardownPlanText(targets, (id) => siteNamesWithPrefix(id, prefix), where);
        try {
          checkTeardownAllowed(targets, opts.threshold, opts.confirm);
        } catch (error) {
          text += `\nWithout --dry-run this would be refused: ${(error as Error).message}`;
        }
        return say(opts, { dryRun: true, teardown: targets, recoveryDays }, `${text}\nDry run: nothing was deleted.`);
      }
      checkTeardownAllowed(targets, opts.threshold, opts.confirm);
      const manifestsRepo = requireManifestsRepo(manifests, 'check that the sites are no longer published');
      const configDir = await configDirOf(sitesPath);
      const outcome = await run(opts, fleet, (ctx) =>
        runTeardowns(ctx, {
          removed: targets,
          strict: ids.length > 0,
          gate: {
            declared: new Set(fleet.sites.map((s) => s.id)),
            configDir,
            sitesPath,
            manifests: { repo: manifestsRepo, branch: manifests.branch, path: manifests.path, workRoot: opts.workDir, credentials: credentialsFrom({}) },
          },
          graceMs: opts.teardownGrace,
          recoveryDays,
          argocd: argocdWaitFor(opts, fleet),
          layout: layoutOf(fleet.canary.settings),
          concurrency: opts.concurrency,
          progress: { note: (line) => (opts.json ? undefined : console.log(line)), item: () => undefined },
        }),
      );
      const text = outcome.tornDown.length || outcome.terminating.length ? summary('Tore down', outcome.tornDown, outcome.steps ?? []) : 'Nothing to tear down.';
      const waiting = outcome.terminating.length ? `\nMarked, data kept until the grace period ends: ${outcome.terminating.map((t) => `${t.id} (after ${t.due})`).join(', ')}` : '';
      say(opts, { tornDown: outcome.tornDown, terminating: outcome.terminating, recoveryDays, steps: outcome.steps }, `${text}${waiting}`);
    });

  withOptions(hook.command('restore').argument('<id>', 'a declared site to bring back from its final backup'), ...HOOK_OPTIONS)
    .description("restore a torn-down site from its final backup: secrets (within their recovery window), database and files")
    .option('--backup <time>', 'which backup (see aviary hook backups; default the newest)')
    .action(async (id: string, opts: CommonOptions & { backup?: string }, cmd: Command) => {
      const { sites: sitesPath, canary: canaryPath } = globals(cmd);
      const fleet = loadFleet(sitesPath, canaryPath);
      const [site] = declaredSites([id], fleet, sitesPath);
      const steps = await run(opts, fleet, async (ctx) => {
        const backups = await ctx.backups.list(id);
        const chosen = opts.backup ? backups.find((b) => b.stamp === opts.backup) : backups[0];
        if (!chosen) {
          throw new RefusedError(
            opts.backup
              ? `no backup ${opts.backup} of site ${id}; aviary hook backups ${id} lists them`
              : `no backup of site ${id} in s3://${ctx.config.bucket}/backups/ (expired, or never torn down)`,
          );
        }
        await step(ctx, id, 'AWS DynamoDB', `registry: restore from backup ${chosen.stamp}`, () => ctx.registry.requestRestore(id, chosen.stamp));
        return provisionSites(ctx, [site!], { concurrency: 1 });
      });
      say(opts, { restored: id, steps }, summary('Restored', [id], steps));
    });

  withOptions(hook.command('backups').argument('[id]', 'one site (default: all)'), ...HOOK_OPTIONS)
    .description('list the final backups that can be restored (kept for --recovery-days after the teardown)')
    .action(async (id: string | undefined, opts: CommonOptions) => {
      const aws = awsClients();
      try {
        const { bucket } = resolveInitConfig(opts);
        const backups = await outside('AWS S3', `list backups in ${bucket}`, () => listBackups(aws.s3, bucket, id), retryPolicy(opts.retries), new Redactor());
        const lines = backups.map((b) => `${b.id}  ${b.stamp}  ${b.database ? 'database' : 'no database'}, ${plural(b.files, 'file')}`);
        say(opts, backups, lines.length ? lines.join('\n') : `No backups${id ? ` of ${id}` : ''}.`);
      } finally {
        aws.destroy();
      }
    });

  withOptions(hook.command('init'), 'table', 'bucket', 'recoveryDays', 'retries', ...AWS_OPTIONS, 'json')
    .description('create the registry table and the fleet bucket when they do not exist, and expire final backups after the recovery window')
    .action(async (opts: HookFlags & { retries: number; recoveryDays: number; json?: boolean }) => {
      const { table, bucket } = resolveInitConfig(opts);
      const days = checkRecoveryDays(opts.recoveryDays);
      const aws = awsClients();
      const redactor = new Redactor();
      const retry = retryPolicy(opts.retries);
      try {
        const t = await outside('AWS DynamoDB', `create table ${table}`, () => ensureTable(aws.dynamodb, table), retry, redactor);
        const b = await outside('AWS S3', `create bucket ${bucket}`, () => ensureBucket(aws.s3, bucket), retry, redactor);
        const e = await outside('AWS S3', `expire ${bucket}/backups/ after ${days} days`, () => ensureBackupExpiry(aws.s3, bucket, days), retry, redactor);
        say(
          opts,
          { table: { name: table, outcome: t }, bucket: { name: bucket, outcome: b }, backupExpiry: { days, outcome: e } },
          `table ${table}: ${t}\nbucket ${bucket}: ${b}\nbackups expire after ${days} days: ${e}`,
        );
      } finally {
        aws.destroy();
      }
    });
}

function retryPolicy(retries: number): RetryPolicy {
  return { ...DEFAULT_RETRY, retries };
}

/** Argo CD to wait on, when configured (the fleet's AppProject from canary.yaml). */
function argocdWaitFor(opts: TeardownOptions, fleet: Fleet) {
  const target = argoCdTarget({ url: opts.argocdUrl, project: fleet.canary.settings.argocd.project });
  return target ? { target, waitMs: opts.argocdWait } : undefined;
}

/** The manifests repository, branch and folder: as given, else as canary.yaml's argocd settings say (the last deploy is read there). */
function manifestsOf(cmd: Command, fleet: Fleet): ManifestsTarget {
  return targetOf(cmd, fleet.canary, { repoFlag: 'manifestsRepo' });
}

function requireManifestsRepo(manifests: ManifestsTarget, why: string): string {
  if (!manifests.repo) throw new UsageError(`pass --manifests-repo (or AVIARY_MANIFESTS_REPO, or set argocd.repoURL in canary.yaml) so the hook can ${why}`);
  return manifests.repo;
}

/** The config repository holding sites.yaml: teardown reads its remote to check a site is gone there too. */
async function configDirOf(sitesPath: string): Promise<string> {
  const top = (await configRepo(dirname(resolve(sitesPath))).raw(['rev-parse', '--show-toplevel']).catch(() => '')).trim();
  if (!top) throw new RefusedError(`${sitesPath} is not in a git repository: run the teardown in a clone of the config repo, which it checks too`);
  return top;
}

async function planFromLastDeploy(manifests: ManifestsTarget, sitesPath: string, canaryPath: string, fleet: Fleet): Promise<{ provision: Site[]; teardown: string[] }> {
  if (!manifests.repo) {
    throw new UsageError('name the sites (e.g. aviary hook provision ID…), or pass --manifests-repo (or AVIARY_MANIFESTS_REPO) so the hook can compare with the last deploy');
  }
  const previous = await lastDeployedSites({ manifestsRepo: manifests.repo, branch: manifests.branch, path: manifests.path, sitesPath, canaryPath });
  return hookPlan(previous, fleet);
}

/** Sets up config, clients and context, runs `job`, and always releases the clients. */
async function run<T>(opts: CommonOptions, fleet: Fleet, job: (ctx: HookContext) => Promise<T>): Promise<T> {
  const aws = awsClients();
  const redactor = new Redactor();
  const retry = retryPolicy(opts.retries);
  try {
    const config = await resolveHookConfig({ flags: opts, fleetSecretPrefix: fleet.canary.settings.secrets.prefix, secrets: aws.secrets, redactor, retry });
    const onStep = opts.json ? undefined : (r: StepReport) => console.log(`  ${r.site}  ${r.outcome.padEnd(9)}  ${r.step}`);
    return await job(hookContext({ config, aws, redactor, retry, onStep }));
  } finally {
    aws.destroy();
  }
}

function summary(verb: string, ids: readonly string[], steps: readonly StepReport[]): string {
  const changed = steps.filter((s) => s.outcome !== 'unchanged' && s.outcome !== 'absent').length;
  return `${verb} ${ids.length} site(s): ${ids.join(', ')} (${changed === 0 ? 'nothing needed to change' : `${changed} change(s)`}).`;
}

function say(opts: { json?: boolean }, json: unknown, text: string): void {
  console.log(opts.json ? JSON.stringify(json) : text);
}
