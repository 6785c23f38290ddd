import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { renderFleet } from '../../../charts/render.js';
import { loadFleet } from '../../../sites/load.js';
import { RENDER_SALT } from '../../shared/version.js';
import { UsageError } from '../../shared/errors.js';
import { DEFAULT_GITHUB_API } from '../../publish/github.js';
import { credentialsFrom } from '../../git/credentials.js';
import { authorOf, resolveInputs } from '../../config-repo/inputs.js';
import { mask } from '../../shared/mask.js';
import { changesToward, diffFiles, normalisePrefix, readTree, trackedFiles } from '../../git/sync.js';
import { normaliseRemote, WorkDir } from '../../git/workdir.js';
import { formatHistory, history } from '../../publish/history.js';
import { formatPlan, planOf, type PlanFormat } from '../../publish/plan.js';
import { publish, type PublishMode, type PublishResult } from '../../publish/publish.js';
import { writeDist } from '../../manifests/write-dist.js';
import { globals, type GlobalOptions } from './globals.js';
import { readIfExists } from '../../shared/files.js';

/** Where the manifests go, shared by publish, plan, history, rollback and deploy. */
interface RemoteOptions {
  repo?: string;
  branch: string;
  path: string;
  token?: string;
  workDir: string;
}

export interface PublishFlags extends RemoteOptions {
  mode: PublishMode;
  githubUrl: string;
  githubRepo?: string;
  source?: string;
  allowDirty?: boolean;
  json?: boolean;
}

export const say = (line: string): void => void process.stdout.write(`${mask(line)}\n`);
export const note = (line: string): void => void process.stderr.write(`${mask(line)}\n`);

function remoteOptions(cmd: Command, repoFlag = '--repo <url>'): Command {
  return cmd
    .addOption(new Option(repoFlag, 'the manifests repository: a URL or a local path').env('AVIARY_MANIFESTS_REPO'))
    .addOption(new Option('--branch <name>', 'the branch Argo CD syncs').env('AVIARY_MANIFESTS_BRANCH').default('main'))
    .addOption(new Option('--path <dir>', 'the folder of the manifests repo that mirrors dist/').env('AVIARY_MANIFESTS_PATH').default('.'))
    .addOption(new Option('--token <token>', 'token for git over HTTPS (better: AVIARY_GIT_TOKEN, with AVIARY_GIT_USERNAME)'))
    .addOption(new Option('--work-dir <dir>', 'where clones of the manifests repo are kept between runs').default('.aviary/manifests'));
}

export function publishOptions(cmd: Command): Command {
  return remoteOptions(cmd)
    .addOption(new Option('--mode <mode>', 'push a commit, or open a pull request').choices(['push', 'pr']).env('AVIARY_PUBLISH_MODE').default('push'))
    .addOption(new Option('--github-url <url>', 'GitHub API root (GitHub Enterprise: https://HOST/api/v3)').env('GITHUB_API_URL').default(DEFAULT_GITHUB_API))
    .addOption(new Option('--github-repo <owner/name>', 'the repository for pull requests (default: from --repo)').env('AVIARY_GITHUB_REPO'))
    .addOption(new Option('--allow-dirty', 'publish inputs that are not a commit of the config repo: no input commit is recorded'))
    .addOption(new Option('--json', 'machine-readable output'));
}

export function register(program: Command): void {
  publishOptions(
    program
      .command('publish')
      .description('validate, synthesize and commit dist/ to the manifests repository (direct push or pull request)')
      .addOption(new Option('--source <sha>', 'the input commit the manifests come from (default: HEAD of the config repo)')),
  ).action(async (opts: PublishFlags, cmd: Command) => {
    report(await publishInputs(globals(cmd), opts, opts.source), opts);
  });

  remoteOptions(
    program
      .command('plan')
      .description('show what publishing would change: per site and for the services')
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text')),
    '--against <repo-or-dir>',
  ).action(async (opts: RemoteOptions & { against?: string; format: PlanFormat }, cmd: Command) => {
    say(formatPlan(await planAgainst(globals(cmd), opts), opts.format));
  });

  remoteOptions(program.command('history').description('the deployments in the manifests repository, newest first'))
    .addOption(new Option('-n, --limit <n>', 'how many deployments').argParser(positive).default(20))
    .addOption(new Option('--json', 'machine-readable output'))
    .action(async (opts: RemoteOptions & { limit: number; json?: boolean }) => {
      const deployments = await history({
        repo: requireRepo(opts.repo),
        branch: opts.branch,
        path: opts.path,
        limit: opts.limit,
        workRoot: opts.workDir,
        credentials: credentialsFrom({ token: opts.token }),
      });
      say(opts.json ? JSON.stringify(deployments, null, 2) : formatHistory(deployments));
    });
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`-n expects a positive whole number, not "${value}"`);
  return n;
}

export function requireRepo(repo: string | undefined): string {
  if (!repo) throw new UsageError('no manifests repository: pass --repo URL|PATH or set AVIARY_MANIFESTS_REPO');
  return repo;
}

/** validate → synth (into --out) → commit → push or pull request. */
export async function publishInputs(g: GlobalOptions, opts: PublishFlags, sourceRef: string | undefined): Promise<PublishResult> {
  const repo = requireRepo(opts.repo);
  const fleet = loadFleet(g.sites, g.canary);
  const origin = await resolveInputs([g.sites, g.canary], { source: sourceRef, allowDirty: opts.allowDirty });
  if (!origin.source) note('note: --allow-dirty: the inputs are not a commit of the config repo, so this deploy names no input commit.');
  return publish(
    (previous) => {
      const files = renderFleet(fleet, { previous, salt: RENDER_SALT });
      writeDist(g.out, files);
      return files;
    },
    {
      repo,
      branch: opts.branch,
      path: opts.path,
      mode: opts.mode,
      workRoot: opts.workDir,
      credentials: credentialsFrom({ token: opts.token }),
      source: origin.source,
      base: origin.base,
      configDir: origin.configDir,
      author: origin.source && origin.configDir ? await authorOf(origin.configDir, origin.source) : undefined,
      github: { url: opts.githubUrl, repo: opts.githubRepo, token: process.env.GITHUB_TOKEN || undefined },
      log: note,
    },
  );
}

export function report(result: PublishResult, opts: PublishFlags): void {
  if (opts.json) return say(JSON.stringify(result, null, 2));
  const target = normaliseRemote(requireRepo(opts.repo)).url;
  const retried = result.attempts > 1 ? ` after ${result.attempts} attempts` : '';
  switch (result.status) {
    case 'unchanged':
      return say(`Nothing to publish: ${opts.branch} of ${target} already holds these manifests. No commit was made.`);
    case 'superseded':
      return say(`Nothing to publish: ${opts.branch} of ${target} already holds a deploy of newer inputs (deploys only move forward).`);
    case 'pushed':
      say(`Published ${result.commit?.slice(0, 12)} to ${opts.branch} of ${target}${retried}.`);
      return say(formatPlan(result.plan, 'text'));
    case 'pull-request':
      say(`${result.pullRequest?.created ? 'Opened' : 'Updated'} pull request #${result.pullRequest?.number} from ${result.branch}${retried}:`);
      return say(result.pullRequest?.url ?? '');
  }
}

/** Renders the inputs and compares them with a manifests repo (or a folder, default --out), writing nothing. */
async function planAgainst(g: GlobalOptions, opts: RemoteOptions & { against?: string }) {
  const fleet = loadFleet(g.sites, g.canary);
  const against = opts.against ?? g.out;
  const render = (previous: (path: string) => string | undefined) => renderFleet(fleet, { previous, salt: RENDER_SALT });
  const isFolder = existsSync(against) && statSync(against).isDirectory() && !existsSync(join(against, '.git')) && !existsSync(join(against, 'HEAD'));
  if (isFolder) {
    const before = readTree(against);
    const old = new Map(before.map((f) => [f.path, f.content]));
    return planOf(diffFiles(before, render((path) => old.get(path))));
  }
  const prefix = normalisePrefix(opts.path);
  const work = await WorkDir.open(opts.workDir, normaliseRemote(against, credentialsFrom({ token: opts.token })));
  await work.resetTo(await work.fetch(opts.branch));
  const tracked = await trackedFiles(work.git, prefix);
  const files = render((path) => (tracked.has(path) ? readIfExists(join(work.dir, prefix, path)) : undefined));
  return planOf(changesToward(work.dir, prefix, tracked, files));
}
