import { Option, type Command } from 'commander';
import { credentialsFrom } from '../../git/credentials.js';
import { planInputs, publishInputs } from '../../publish/from-inputs.js';
import { formatHistory, history } from '../../publish/history.js';
import { formatPlan, type PlanFormat } from '../../publish/plan.js';
import { UsageError } from '../../shared/errors.js';
import { answer, say } from '../print.js';
import { globals, wholeNumber, withOptions } from '../options.js';
import { MANIFESTS_OPTIONS, PUBLISH_OPTIONS, publishInputsOptions, reportPublish, requireRepo, type PublishFlags } from '../publish-flags.js';

export function register(program: Command): void {
  withOptions(
    program.command('publish').description('validate, synthesize and commit dist/ to the manifests repository (direct push or pull request)'),
    ...PUBLISH_OPTIONS,
    'source',
  ).action(async (opts: PublishFlags & { source?: string }, cmd: Command) => {
    const repo = requireRepo(opts.repo);
    const result = await publishInputs({ ...publishInputsOptions(globals(cmd), opts, repo), source: opts.source });
    reportPublish(result, opts, repo);
  });

  withOptions(program.command('plan').description('show what publishing would change: per site and for the services'), 'against', ...MANIFESTS_OPTIONS)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'))
    .action(async (opts: PublishFlags & { against?: string; format: PlanFormat }, cmd: Command) => {
      const g = globals(cmd);
      const plan = await planInputs({ ...g, against: opts.against ?? g.out, branch: opts.branch, path: opts.path, workRoot: opts.workDir, token: opts.token });
      say(formatPlan(plan, opts.format));
    });

  withOptions(program.command('history').description('the deployments in the manifests repository, newest first'), 'repo', ...MANIFESTS_OPTIONS, 'json')
    .addOption(new Option('-n, --limit <n>', 'how many deployments').argParser(positive).default(20))
    .action(async (opts: PublishFlags & { limit: number }) => {
      const deployments = await history({
        repo: requireRepo(opts.repo),
        branch: opts.branch,
        path: opts.path,
        limit: opts.limit,
        workRoot: opts.workDir,
        credentials: credentialsFrom({ token: opts.token }),
      });
      answer(opts.json, deployments, () => formatHistory(deployments));
    });
}

function positive(value: string): number {
  const n = wholeNumber(value);
  if (n < 1) throw new UsageError(`-n expects a positive whole number, not "${value}"`);
  return n;
}

