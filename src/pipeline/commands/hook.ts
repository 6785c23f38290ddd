import { Command, Option } from 'commander';
import { loadFleet } from '../../sites/load.js';
import type { Fleet, Site } from '../../sites/types.js';
import { UsageError } from '../errors.js';
import { awsClients } from '../hook/aws.js';
import { resolveHookConfig, resolveInitConfig, resolveSecretPrefix, type HookFlags } from '../hook/config.js';
import { hookContext, siteNamesWithPrefix, type StepReport } from '../hook/context.js';
import { ensureBucket, ensureTable } from '../hook/init.js';
import { provisionSites } from '../hook/provision.js';
import { Redactor } from '../hook/redact.js';
import { DEFAULT_RETRY, outside, type RetryPolicy } from '../hook/retry.js';
import {
  checkRecoveryDays,
  checkTeardownAllowed,
  DEFAULT_RECOVERY_DAYS,
  DEFAULT_TEARDOWN_THRESHOLD,
  teardownPlanText,
  teardownSites,
} from '../hook/teardown.js';
import { declaredSites, hookPlan, lastDeployedSites, undeclaredIds } from '../hook/which-sites.js';
import { concurrencyOption, globals, wholeNumber } from './globals.js';

interface CommonOptions extends HookFlags {
  readonly manifestsRepo?: string;
  readonly branch: string;
  readonly retries: number;
  readonly concurrency: number;
  readonly json?: boolean;
}

interface TeardownOptions extends CommonOptions {
  readonly recoveryDays: number;
  readonly confirm?: number;
  readonly threshold: number;
  readonly dryRun?: boolean;
}

export function register(program: Command): void {
  const hook = program
    .command('hook')
    .description("the AWS side of each site: registry item, secrets, MySQL database and user, S3 prefix");

  withCommon(hook.command('provision').argument('[ids...]', 'sites to provision (default: those new since the last deploy)'))
    .description('create what each site needs before its manifests are published; a no-op for sites already provisioned')
    .action(async (ids: string[], opts: CommonOptions, cmd: Command) => {
      const { sites: sitesPath, canary: canaryPath } = globals(cmd);
      const fleet = loadFleet(sitesPath, canaryPath);
      const sites = ids.length > 0 ? declaredSites(ids, fleet, sitesPath) : (await planFromLastDeploy(opts, sitesPath, canaryPath, fleet)).provision;
      if (sites.length === 0) return say(opts, { provisioned: [], steps: [] }, 'Nothing to provision.');
      const steps = await run(opts, fleet, (ctx) => provisionSites(ctx, sites, { concurrency: opts.concurrency }));
      say(opts, { provisioned: sites.map((s) => s.id), steps }, summary('Provisioned', sites.map((s) => s.id), steps));
    });

  withCommon(hook.command('teardown').argument('[ids...]', 'sites to tear down (default: those removed since the last deploy)'))
    .description("delete removed sites' secrets (with a recovery window), database, user, files and registry entry")
    .addOption(new Option('--recovery-days <days>', 'Secrets Manager recovery window, 7 to 30').argParser(wholeNumber).default(DEFAULT_RECOVERY_DAYS))
    .addOption(new Option('--confirm <count>', 'the exact number of sites, required above the threshold').argParser(wholeNumber))
    .addOption(
      new Option('--threshold <count>', 'how many sites may be torn down without --confirm')
        .argParser(wholeNumber)
        .env('AVIARY_TEARDOWN_THRESHOLD')
        .default(DEFAULT_TEARDOWN_THRESHOLD),
    )
    .option('--dry-run', 'print what would be deleted; touch nothing')
    .action(async (ids: string[], opts: TeardownOptions, cmd: Command) => {
      const { sites: sitesPath, canary: canaryPath } = globals(cmd);
      const fleet = loadFleet(sitesPath, canaryPath);
      const targets = ids.length > 0 ? undeclaredIds(ids, fleet, sitesPath) : (await planFromLastDeploy(opts, sitesPath, canaryPath, fleet)).teardown;
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
      if (targets.length === 0) return say(opts, { tornDown: [], steps: [] }, 'Nothing to tear down.');
      const steps = await run(opts, fleet, (ctx) => teardownSites(ctx, targets, recoveryDays, { concurrency: opts.concurrency }));
      say(opts, { tornDown: targets, recoveryDays, steps }, summary('Tore down', targets, steps));
    });

  hook
    .command('init')
    .description('create the registry table and the fleet bucket when they do not exist (a new fleet, a test)')
    .option('--table <name>', 'DynamoDB registry table [env AVIARY_TABLE]')
    .option('--bucket <name>', 'S3 bucket of the sites\' files [env AVIARY_BUCKET]')
    .addOption(retriesOption())
    .option('--json', 'machine-readable output')
    .action(async (opts: HookFlags & { retries: number; json?: boolean }) => {
      const { table, bucket } = resolveInitConfig(opts);
      const aws = awsClients();
      const redactor = new Redactor();
      const retry = retryPolicy(opts.retries);
      try {
        const t = await outside('AWS DynamoDB', `create table ${table}`, () => ensureTable(aws.dynamodb, table), retry, redactor);
        const b = await outside('AWS S3', `create bucket ${bucket}`, () => ensureBucket(aws.s3, bucket), retry, redactor);
        say(opts, { table: { name: table, outcome: t }, bucket: { name: bucket, outcome: b } }, `table ${table}: ${t}\nbucket ${bucket}: ${b}`);
      } finally {
        aws.destroy();
      }
    });
}

function withCommon(cmd: Command): Command {
  return cmd
    .option('--table <name>', 'DynamoDB registry table [env AVIARY_TABLE]')
    .option('--bucket <name>', "S3 bucket of the sites' files [env AVIARY_BUCKET]")
    .option('--secret-prefix <prefix>', "Secrets Manager name prefix [env AVIARY_SECRET_PREFIX] (default: canary.yaml's secrets.prefix)")
    .option('--mysql-url <url>', 'MySQL admin connection mysql://user:password@host:port [env AVIARY_MYSQL_URL; password may come from AVIARY_MYSQL_SECRET]')
    .option('--db-host <host[:port]>', "what the sites' pods connect to, when not the admin URL's host [env AVIARY_DB_HOST]")
    .addOption(new Option('--manifests-repo <url|path>', 'manifests repository, to find the last deploy when no ids are given').env('AVIARY_MANIFESTS_REPO'))
    .addOption(new Option('--branch <name>', 'branch of the manifests repository').env('AVIARY_MANIFESTS_BRANCH').default('main'))
    .addOption(retriesOption())
    .addOption(concurrencyOption())
    .option('--json', 'machine-readable output');
}

function retriesOption(): Option {
  return new Option('--retries <n>', 'retries of a failing outside call, with backoff').argParser(wholeNumber).env('AVIARY_RETRIES').default(DEFAULT_RETRY.retries);
}

function retryPolicy(retries: number): RetryPolicy {
  return { ...DEFAULT_RETRY, retries };
}

async function planFromLastDeploy(opts: CommonOptions, sitesPath: string, canaryPath: string, fleet: Fleet): Promise<{ provision: Site[]; teardown: string[] }> {
  if (!opts.manifestsRepo) {
    throw new UsageError('name the sites (e.g. aviary hook provision ID…), or pass --manifests-repo (or AVIARY_MANIFESTS_REPO) so the hook can compare with the last deploy');
  }
  const previous = await lastDeployedSites({ manifestsRepo: opts.manifestsRepo, branch: opts.branch, sitesPath, canaryPath });
  return hookPlan(previous, fleet);
}

/** Sets up config, clients and context, runs `job`, and always releases the clients. */
async function run(
  opts: CommonOptions,
  fleet: Fleet,
  job: (ctx: ReturnType<typeof hookContext>) => Promise<StepReport[]>,
): Promise<StepReport[]> {
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
