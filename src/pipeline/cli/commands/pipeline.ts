import type { Command } from 'commander';
import { runCi, ciInvocation, describeInvocation } from '../../ci/ci.js';
import { credentialsFrom } from '../../git/credentials.js';
import { mask } from '../../shared/mask.js';
import { DEFAULT_RETRY } from '../../hook/retry.js';
import { runPipeline, type PipelineResult } from '../../stages/pipeline.js';
import { formatPlan } from '../../publish/plan.js';
import { createProgress } from '../../shared/progress.js';
import type { PublishMode } from '../../publish/publish.js';
import { ciSettingsHelp } from '../../options/docs.js';
import { globals, withOptions, type OptionUse } from '../options.js';
import { requireRepo, targetOf } from '../publish-flags.js';
import { verifyOptionsOf, withVerifyFlags, type VerifyFlags } from '../verify-flags.js';
import { loadCanary } from '../../../sites/load.js';

/** The flags of `aviary pipeline`: publish's and hook's, under the same names and variables. */
export interface PipelineFlags extends VerifyFlags {
  readonly verify?: boolean;
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
  readonly createBranch?: boolean;
  readonly table?: string;
  readonly bucket?: string;
  readonly secretPrefix?: string;
  readonly mysqlUrl?: string;
  readonly dbHost?: string;
  readonly retries: number;
  readonly concurrency: number;
  readonly recoveryDays: number;
  readonly teardownGrace: number;
  readonly confirm?: number;
  readonly threshold: number;
  readonly json?: boolean;
}

/** Publish's settings and the hook's, under the same names and variables. */
const PIPELINE_OPTIONS: readonly OptionUse[] = [
  'manifestsRepo',
  { name: 'repo', hidden: true },
  'branch', 'path', 'force', 'createBranch', 'mode', 'token', 'gitToken', 'gitUsername', 'workDir', 'githubUrl', 'githubRepo', 'githubToken', 'source', 'allowDirty',
  'table', 'bucket', 'secretPrefix', 'mysqlUrl', 'mysqlSecret', 'dbHost', 'retries', 'concurrency',
  'recoveryDays', 'teardownGrace', 'argocdUrl', 'argocdToken', 'argocdWait', 'confirm', 'threshold', 'verify',
  'awsRegion', 'awsAccessKeyId', 'awsSecretAccessKey', 'awsSessionToken', 'awsEndpointUrl', 'json',
];

export function register(program: Command): void {
  withVerifyFlags(
    withOptions(
      program.command('pipeline').description('the whole CI step: validate, provision new sites, synthesize, publish, (verify,) tear down removed sites'),
      ...PIPELINE_OPTIONS,
    ),
  )
    .action(async (opts: PipelineFlags, cmd: Command) => {
      const g = globals(cmd);
      const target = targetOf(cmd, g.canary, { repoFlag: 'manifestsRepo' });
      const repo = requireRepo(target, '--manifests-repo');
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
          branch: target.branch,
          path: target.path,
          createBranch: opts.createBranch,
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
        ...(opts.verify ? { verify: verifyOptionsOf(opts, loadCanary(g.canary)) } : {}),
        progress,
      });
      if (opts.json) process.stdout.write(`${mask(JSON.stringify(result, null, 2))}\n`);
      else progress.say(summary(result, Math.round(performance.now() - started)));
    });

  program
    .command('ci')
    .description('the entrypoint for Drone (PLUGIN_* settings) and GitHub Actions (INPUT_* inputs): runs validate, plan or pipeline')
    .option('--print', 'print the aviary command the settings map to (secrets as variable names) and run nothing')
    .addHelpText('after', ciSettingsHelp())
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

