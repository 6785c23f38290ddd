import { Command, Option } from 'commander';
import { runCi, ciInvocation, describeInvocation } from '../../ci/ci.js';
import { UsageError } from '../../shared/errors.js';
import { credentialsFrom } from '../../git/credentials.js';
import { mask } from '../../shared/mask.js';
import { DEFAULT_GITHUB_API } from '../../publish/github.js';
import { DEFAULT_RETRY } from '../../hook/retry.js';
import { DEFAULT_RECOVERY_DAYS, DEFAULT_TEARDOWN_THRESHOLD } from '../../hook/teardown.js';
import { runPipeline, type PipelineResult } from '../../stages/pipeline.js';
import { formatPlan } from '../../publish/plan.js';
import { createProgress } from '../../shared/progress.js';
import type { PublishMode } from '../../publish/publish.js';
import { argocdOptions, concurrencyOption, globals, teardownGraceOption, wholeNumber } from './globals.js';

/** The flags of `aviary pipeline`: publish's and hook's, under the same names and variables. */
export interface PipelineFlags {
  readonly manifestsRepo?: string;
  readonly repo?: string;
  readonly branch: string;
  readonly path: string;
  readonly mode: PublishMode;
  readonly token?: string;
  readonly workDir: string;
  readonly githubUrl: string;
  readonly githubRepo?: string;
  readonly source?: string;
  readonly allowDirty?: boolean;
  readonly table?: string;
  readonly bucket?: string;
  readonly secretPrefix?: string;
  readonly mysqlUrl?: string;
  readonly dbHost?: string;
  readonly retries: number;
  readonly concurrency: number;
  readonly recoveryDays: number;
  readonly teardownGrace: number;
  readonly argocdUrl?: string;
  readonly argocdWait: number;
  readonly confirm?: number;
  readonly threshold: number;
  readonly json?: boolean;
}

export function register(program: Command): void {
  argocdOptions(program.command('pipeline'))
    .description('the whole CI step: validate, provision new sites, synthesize, publish, tear down removed sites')
    .addOption(new Option('--manifests-repo <url|path>', 'the manifests repository').env('AVIARY_MANIFESTS_REPO'))
    .addOption(new Option('--repo <url|path>', 'same as --manifests-repo (the name aviary publish uses)').hideHelp())
    .addOption(new Option('--branch <name>', 'the branch Argo CD syncs').env('AVIARY_MANIFESTS_BRANCH').default('main'))
    .addOption(new Option('--path <dir>', 'the folder of the manifests repo that mirrors dist/').env('AVIARY_MANIFESTS_PATH').default('.'))
    .addOption(new Option('--mode <mode>', 'push a commit, or open a pull request').choices(['push', 'pr']).env('AVIARY_PUBLISH_MODE').default('push'))
    .addOption(new Option('--token <token>', 'token for git over HTTPS (better: AVIARY_GIT_TOKEN, with AVIARY_GIT_USERNAME)'))
    .addOption(new Option('--work-dir <dir>', 'where clones of the manifests repo are kept between runs').default('.aviary/manifests'))
    .addOption(new Option('--github-url <url>', 'GitHub API root (GitHub Enterprise: https://HOST/api/v3)').env('GITHUB_API_URL').default(DEFAULT_GITHUB_API))
    .addOption(new Option('--github-repo <owner/name>', 'the repository for pull requests (default: from the manifests repo URL)').env('AVIARY_GITHUB_REPO'))
    .addOption(new Option('--source <sha>', 'the input commit (default: HEAD of the config repo)'))
    .addOption(new Option('--allow-dirty', 'deploy inputs that are not a commit of the config repo: nothing is recorded or torn down'))
    .option('--table <name>', 'DynamoDB registry table [env AVIARY_TABLE]')
    .option('--bucket <name>', "S3 bucket of the sites' files [env AVIARY_BUCKET]")
    .option('--secret-prefix <prefix>', "Secrets Manager name prefix [env AVIARY_SECRET_PREFIX] (default: canary.yaml's secrets.prefix)")
    .option('--mysql-url <url>', 'MySQL admin connection mysql://user:password@host:port [env AVIARY_MYSQL_URL; password may come from AVIARY_MYSQL_SECRET]')
    .option('--db-host <host[:port]>', "what the sites' pods connect to, when not the admin URL's host [env AVIARY_DB_HOST]")
    .addOption(new Option('--retries <n>', 'retries of a failing AWS or MySQL call, with backoff').argParser(wholeNumber).env('AVIARY_RETRIES').default(DEFAULT_RETRY.retries))
    .addOption(concurrencyOption())
    .addOption(new Option('--recovery-days <days>', 'Secrets Manager recovery window of torn-down sites, 7 to 30').argParser(wholeNumber).default(DEFAULT_RECOVERY_DAYS))
    .addOption(teardownGraceOption())
    .addOption(new Option('--confirm <count>', 'the exact number of removed sites, required to tear down more than the threshold').argParser(wholeNumber))
    .addOption(
      new Option('--threshold <count>', 'how many sites may be torn down without --confirm').argParser(wholeNumber).env('AVIARY_TEARDOWN_THRESHOLD').default(DEFAULT_TEARDOWN_THRESHOLD),
    )
    .option('--json', 'print the result as JSON on stdout (progress goes to stderr)')
    .action(async (opts: PipelineFlags, cmd: Command) => {
      const g = globals(cmd);
      const repo = opts.manifestsRepo ?? opts.repo;
      if (!repo) throw new UsageError('no manifests repository: pass --manifests-repo URL|PATH or set AVIARY_MANIFESTS_REPO');
      const credentials = credentialsFrom({ token: opts.token });
      const out = opts.json ? process.stderr : process.stdout;
      const progress = createProgress(out, { scrub: mask });
      const started = performance.now();
      const result = await runPipeline({
        inputs: { sites: g.sites, canary: g.canary, out: g.out },
        source: opts.source,
        allowDirty: opts.allowDirty,
        manifests: {
          repo,
          branch: opts.branch,
          path: opts.path,
          mode: opts.mode,
          workRoot: opts.workDir,
          credentials,
          github: { url: opts.githubUrl, repo: opts.githubRepo, token: process.env.GITHUB_TOKEN || undefined },
        },
        hook: {
          flags: opts,
          retry: { ...DEFAULT_RETRY, retries: opts.retries },
          concurrency: opts.concurrency,
          recoveryDays: opts.recoveryDays,
          graceMs: opts.teardownGrace,
          argocd: { url: opts.argocdUrl, waitMs: opts.argocdWait },
          threshold: opts.threshold,
          confirm: opts.confirm,
        },
        progress,
      });
      if (opts.json) process.stdout.write(`${mask(JSON.stringify(result, null, 2))}\n`);
      else progress.say(summary(result, Math.round(performance.now() - started)));
    });

  program
    .command('ci')
    .description('the entrypoint for Drone (PLUGIN_* settings) and GitHub Actions (INPUT_* inputs): runs validate, plan or pipeline')
    .option('--print', 'print the aviary command the settings map to (secrets as variable names) and run nothing')
    .action(async (opts: { print?: boolean }) => {
      if (opts.print) {
        process.stdout.write(`${describeInvocation(ciInvocation(process.env))}\n`);
        return;
      }
      process.exitCode = await runCi(process.env);
    });
}

function summary(result: PipelineResult, ms: number): string {
  const p = result.publish;
  const lines = [
    `Pipeline done for ${result.source ? `input commit ${result.source.slice(0, 12)}` : 'uncommitted inputs'} in ${(ms / 1000).toFixed(1)} s.`,
    `  provisioned: ${result.provisioned.join(', ') || 'none'}`,
    `  published:   ${p.status}${p.commit ? ` (manifests commit ${p.commit.slice(0, 12)})` : ''}${p.pullRequest ? ` ${p.pullRequest.url}` : ''}`,
    `  torn down:   ${result.tornDown.join(', ') || 'none'}`,
  ];
  if (result.terminating.length) lines.push(`  terminating: ${result.terminating.map((t) => `${t.id} (data kept until ${t.due})`).join(', ')}`);
  if (result.teardownSkipped) lines.push(`  not torn down yet: ${result.teardownSkipped.ids.join(', ')} (${result.teardownSkipped.reason})`);
  if (p.status === 'pushed' || p.status === 'pull-request') lines.push('', formatPlan(p.plan, 'text'));
  return lines.join('\n');
}

