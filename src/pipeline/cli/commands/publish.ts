import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { credentialsFrom } from '../../git/credentials.js';
import { planInputs, publishInputs } from '../../publish/from-inputs.js';
import { formatHistory, history } from '../../publish/history.js';
import { formatPlan, isEmptyPlan, type PlanFormat } from '../../publish/plan.js';
import { UsageError } from '../../shared/errors.js';
import { answer, colourOn, say } from '../print.js';
import { globals, wholeNumber, withOptions } from '../options.js';
import { MANIFESTS_OPTIONS, PUBLISH_OPTIONS, publishInputsOptions, reportPublish, requireRepo, targetOf, type PublishFlags } from '../publish-flags.js';
import type { ManifestsTarget } from '../../publish/target.js';

export function register(program: Command): void {
  withOptions(
    program.command('publish').description('validate, synthesize and commit dist/ to the manifests repository (direct push or pull request)'),
    ...PUBLISH_OPTIONS,
    'source',
  ).action(async (opts: PublishFlags & { source?: string }, cmd: Command) => {
    const g = globals(cmd);
    const target = targetOf(cmd, g.canary);
    requireRepo(target);
    const result = await publishInputs({ ...publishInputsOptions(g, opts, target), source: opts.source });
    reportPublish(result, opts, target);
  });

  withOptions(program.command('plan').description('show what publishing would change: per site and for the services'), 'against', ...MANIFESTS_OPTIONS, 'detailedExitcode')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'))
    .action(async (opts: PublishFlags & { against?: string; format: PlanFormat; detailedExitcode?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const target = targetOf(cmd, g.canary, { readOnly: true });
      const plan = await planInputs({ ...g, against: againstOf(opts.against, g.out, target), branch: target.branch, path: target.path, workRoot: opts.workDir, token: opts.token });
      say(formatPlan(plan, opts.format, { colour: colourOn(process.stdout) }));
      if (opts.detailedExitcode && !isEmptyPlan(plan)) process.exitCode = 2;
    });

  withOptions(program.command('history').description('the deployments in the manifests repository, newest first'), 'repo', ...MANIFESTS_OPTIONS, 'json')
    .addOption(new Option('-n, --limit <n>', 'how many deployments').argParser(positive).default(20))
    .action(async (opts: PublishFlags & { limit: number }, cmd: Command) => {
      const target = targetOf(cmd, globals(cmd).canary, { readOnly: true });
      const deployments = await history({
        repo: requireRepo(target),
        branch: target.branch,
        path: target.path,
        limit: opts.limit,
        workRoot: opts.workDir,
        credentials: credentialsFrom({ token: opts.token }),
      });
      answer(opts.json, deployments, () => formatHistory(deployments));
    });
}

/**
 * What a plan compares with when --against is not given: the last synth
 * (--out) if there is one, else the manifests repository canary.yaml names,
 * so a plan works in a fresh clone.
 */
function againstOf(against: string | undefined, out: string, target: ManifestsTarget): string {
  if (against) return against;
  if (existsSync(out) || !target.repo) {
    if (!existsSync(out)) {
      throw new UsageError(`nothing to compare with: there is no ${out}/ yet and no manifests repository is named. Pass --against URL|PATH|DIR, or set argocd.repoURL in canary.yaml.`);
    }
    return out;
  }
  return target.repo;
}

function positive(value: string): number {
  const n = wholeNumber(value);
  if (n < 1) throw new UsageError(`-n expects a positive whole number, not "${value}"`);
  return n;
}

