import { join } from 'node:path';
import { loadFleet } from '../../sites/load.js';
import { layoutOf } from '../../sites/names.js';
import { InvalidInputError } from '../../sites/problems.js';
import type { Fleet, Site } from '../../sites/types.js';
import type { GitCredentials } from '../git/credentials.js';
import { authorOf, resolveInputs, type InputsOrigin } from '../config-repo/inputs.js';
import { deployOrder, type DeployOrder } from '../publish/deploy-order.js';
import { argoCdTarget } from '../publish/argocd.js';
import { normalisePrefix } from '../git/sync.js';
import { checkBranch } from '../git/branches.js';
import { revertFailed } from './gate.js';
import { verifyPublishedSites, type VerifyPlan } from './verify.js';
import { normaliseRemote, WorkDir } from '../git/workdir.js';
import { awsClients, type AwsClients } from '../hook/aws.js';
import { resolveHookConfig, type HookConfig, type HookFlags } from '../hook/config.js';
import { hookContext, withReports, type HookContext, type StepReport } from '../hook/context.js';
import { missingParts, takeInventory } from '../hook/inventory.js';
import { eachSite } from '../hook/each-site.js';
import { provisionSite } from '../hook/provision.js';
import { Redactor } from '../hook/redact.js';
import { ConcurrentHookError } from '../hook/registry.js';
import { checkRecoveryDays, checkTeardownAllowed } from '../hook/teardown.js';
import { hookPlan, sitesAt } from './which-sites.js';
import { deployTarget, lastDeployedSource } from '../publish/last-deploy.js';
import { silentProgress, type Progress, type StageProgress } from '../shared/progress.js';
import { publish, type PublishMode, type PublishResult } from '../publish/publish.js';
import { planOf } from '../publish/plan.js';
import { synthFleet } from '../manifests/synth.js';
import type { ManifestFile } from '../../charts/render.js';
import { refuseLive } from './teardown-gate.js';
import { runTeardowns, type TeardownOutcome } from './teardowns.js';
import { listIds, plural } from '../shared/words.js';
import { ChecksFailedError } from '../shared/errors.js';
import { readIfExists } from '../shared/files.js';
import { retry, type RetryPolicy } from '../shared/retry.js';

/**
 * `aviary pipeline`: the whole CI step after a change to the inputs lands.
 *
 *   validate → changes (new and removed sites, worked out once) → provision
 *   → synth → publish → teardown
 *
 * Every stage is idempotent and the changes are always measured against the
 * last deploy of *other* inputs, so running the pipeline again after a
 * failure in any stage finishes the job instead of forgetting half of it.
 */

export type Stage = 'validate' | 'changes' | 'provision' | 'synth' | 'publish' | 'verify' | 'teardown';

export interface PipelineOptions {
  readonly inputs: { readonly sites: string; readonly canary: string; readonly out: string };
  /** The input commit; default HEAD of the config repo (the git repository holding the inputs). */
  readonly source?: string;
  /**
   * Deploy inputs that are not a commit of the config repo: no input commit
   * is recorded and nothing is torn down. @default false
   */
  readonly allowDirty?: boolean;
  readonly manifests: {
    readonly repo: string;
    readonly branch: string;
    readonly path: string;
    /** Start `branch` in a repository that has branches but not this one. @default false */
    readonly createBranch?: boolean;
    readonly mode: PublishMode;
    readonly workRoot: string;
    readonly credentials?: GitCredentials;
    readonly github?: { readonly url?: string; readonly repo?: string; readonly token?: string };
  };
  readonly hook: {
    readonly flags: HookFlags;
    readonly retry: RetryPolicy;
    readonly recoveryDays: number;
    /** How long a removed site keeps its data before its final backup and teardown. @default 0 */
    readonly graceMs?: number;
    /** Argo CD to wait on before a site's data goes (token from AVIARY_ARGOCD_TOKEN); none when no URL is set. */
    readonly argocd?: { readonly url?: string; readonly waitMs: number };
    /** How many sites may be torn down without `confirm`. */
    readonly threshold: number;
    readonly confirm?: number;
    /** Sites provisioned or torn down at once. @default DEFAULT_SITE_CONCURRENCY */
    readonly concurrency?: number;
    readonly env?: NodeJS.ProcessEnv;
  };
  /**
   * Verify the sites this deploy changed once published; on a failure the
   * input commit is reverted in the config repo (pushed), the revert
   * published, and the run fails naming what failed. @default no verification
   */
  readonly verify?: VerifyPlan;
  readonly progress?: Progress;
  /** AWS clients to use (tests); default: from the SDK's environment. */
  readonly aws?: () => AwsClients;
}

export interface PipelineResult {
  /** The input commit deployed ('' under --allow-dirty). */
  readonly source: string;
  /** The input commit the changes were measured against; absent when nothing was deployed before. */
  readonly previousSource?: string;
  readonly provisioned: readonly string[];
  readonly publish: PublishResult;
  /** Sites whose final backup was taken and whose data was removed in this run. */
  readonly tornDown: readonly string[];
  /** Sites marked for teardown whose grace period is not over yet. */
  readonly terminating: readonly { readonly id: string; readonly due: string }[];
  /** Sites removed from the inputs whose teardown did not run in this pipeline, and why. */
  readonly teardownSkipped?: { readonly ids: readonly string[]; readonly reason: string };
}

/** What every stage of one run shares. */
interface Run {
  readonly options: PipelineOptions;
  readonly redactor: Redactor;
  /** Created on first use: a superseded run never needs them. */
  readonly clients: () => AwsClients;
}

/** What the `changes` stage works out once for the later stages. */
interface Changes {
  readonly origin: InputsOrigin;
  readonly order: DeployOrder;
  readonly previousSource?: string;
  /** Declared sites to provision: new ones, and any missing a part. */
  readonly provision: readonly Site[];
  /** Sites removed since the last deploy (none under --allow-dirty). */
  readonly teardown: readonly string[];
  readonly ctx?: HookContext;
}

/** Runs the pipeline; the first failing stage stops it, and its error says which stage it was. */
export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const progress = options.progress ?? silentProgress;
  let aws: AwsClients | undefined;
  const run: Run = { options, redactor: new Redactor(), clients: () => (aws ??= (options.aws ?? awsClients)()) };
  try {
    const fleet = await stage(progress, 'validate', undefined, (s) => validate(run, s));
    const changes = await stage(progress, 'changes', 'since the last deploy', (s) => findChanges(run, fleet, s));
    const source = changes.origin.source ?? '';
    if (changes.order === 'superseded') {
      for (const name of ['provision', 'synth', 'publish', 'teardown'] as const) progress.stage(name).skip('a deploy of newer inputs already landed');
      const publish: PublishResult = { status: 'superseded', plan: planOf([]), branch: options.manifests.branch, attempts: 0 };
      return { source, provisioned: [], publish, tornDown: [], terminating: [] };
    }
    const provisioned = await stage(progress, 'provision', plural(changes.provision.length, 'site'), (s) => provision(run, changes, s));
    const files = await stage(progress, 'synth', undefined, (s) => synthesize(run, fleet, s));
    const published = await stage(progress, 'publish', `${options.manifests.mode === 'pr' ? 'pull request' : 'push'} to ${options.manifests.branch}`, (s) =>
      publishFiles(run, changes, files, s),
    );
    if (options.verify) await stage(progress, 'verify', undefined, (s) => verifyDeploy(run, fleet, changes, published, s));
    const teardown = await stage(progress, 'teardown', plural(changes.teardown.length, 'removed site'), (s) => tearDown(run, fleet, changes, published, s));
    return {
      source,
      ...(changes.previousSource ? { previousSource: changes.previousSource } : {}),
      provisioned,
      publish: published,
      tornDown: teardown.tornDown,
      terminating: teardown.terminating,
      ...(teardown.skipped ? { teardownSkipped: teardown.skipped } : {}),
    };
  } finally {
    aws?.destroy();
  }
}

/** The inputs are loaded (and so validated) once; every later stage uses this fleet. */
async function validate({ options: { inputs } }: Run, s: StageProgress): Promise<Fleet> {
  const fleet = loadFleet(inputs.sites, inputs.canary);
  s.done(`${inputs.sites} and ${inputs.canary} are valid: ${plural(fleet.sites.length, 'site')}, active canary ${fleet.canary.selector}.`);
  return fleet;
}

/**
 * The input commit, its place in the deploy order, and the sites new or
 * removed since the last deploy of other inputs; the teardown confirmation
 * is checked here, before anything changes.
 */
async function findChanges(run: Run, fleet: Fleet, s: StageProgress): Promise<Changes> {
  const { inputs, manifests, hook } = run.options;
  const origin = await resolveInputs([inputs.sites, inputs.canary], { source: run.options.source, allowDirty: run.options.allowDirty });
  if (origin.source) s.note(`input commit ${short(origin.source)}`);
  else s.note('--allow-dirty: the inputs are not a commit of the config repo; this deploy names no input commit and tears nothing down');
  const where = deployTarget(manifests.branch, normaliseRemote(manifests.repo).url, manifests.path);
  // Before anything is provisioned: a mistyped branch must not cost a half-run pipeline.
  await checkBranch(normaliseRemote(manifests.repo, manifests.credentials), manifests.branch, manifests.createBranch === true);
  const deployed = await lastDeploy(manifests);
  const order = origin.base && origin.configDir ? await deployOrder({ configDir: origin.configDir, deployed, ours: origin.base, where }) : 'first';
  if (order === 'superseded') {
    s.done(`${where} already holds a deploy of newer inputs (config commit ${short(deployed!)}): nothing to do, deploys only move forward.`);
    return { origin, order, provision: [], teardown: [] };
  }
  // A re-run of the deployed commit measures its changes against the deploy before it, so it finishes what it started.
  const previous = order === 'same' && origin.source ? await lastDeploy(manifests, origin.source) : deployed;
  if (previous) s.note(`last deploy of other inputs: config commit ${short(previous)} (from ${where})`);
  else s.note(`nothing deployed yet on ${where}: every site is new`);
  const plan = hookPlan(previous ? await sitesAt(previous, inputs.sites, inputs.canary) : undefined, fleet);
  const teardown = origin.source ? plan.teardown : [];
  s.note(`new: ${list(plan.provision.map((x) => x.id))}; removed: ${list(plan.teardown)}${plan.teardown.length > teardown.length ? ' (not torn down: --allow-dirty)' : ''}`);
  // Before anything changes: a bad edit of sites.yaml must not even publish the removal of many sites.
  checkTeardownAllowed(teardown, hook.threshold, hook.confirm);
  checkRecoveryDays(hook.recoveryDays);
  const ctx = hookContext({ config: await resolveConfig(run, fleet), aws: run.clients(), redactor: run.redactor, retry: hook.retry });
  const provision = await incompleteSites(ctx, fleet, s);
  s.done();
  return { origin, order, ...(previous ? { previousSource: previous } : {}), provision, teardown, ctx };
}

async function provision({ options: { hook } }: Run, changes: Changes, s: StageProgress): Promise<string[]> {
  const sites = changes.provision;
  if (sites.length === 0) {
    s.skip('every declared site is ready');
    return [];
  }
  await eachSite(sites, (site) => provisionWithRerun(changes.ctx!, site), { concurrency: hook.concurrency, onSite: siteLine(s, sites.length) });
  s.done(`${plural(sites.length, 'site')} ready.`);
  return sites.map((x) => x.id);
}

/**
 * Site files unchanged since the last publish are taken from the manifests
 * branch, not rendered again: the clone publish needs anyway, fetched now (a
 * fresh CI runner has no dist/ to reuse).
 */
async function synthesize({ options: { inputs, manifests } }: Run, fleet: Fleet, s: StageProgress): Promise<readonly ManifestFile[]> {
  const work = await WorkDir.open(manifests.workRoot, normaliseRemote(manifests.repo, manifests.credentials));
  await work.resetTo(await work.fetch(manifests.branch));
  const kept = join(work.dir, normalisePrefix(manifests.path));
  const result = synthFleet(fleet, inputs.out, { alsoReuse: (path) => readIfExists(join(kept, path)), keepFiles: true });
  s.done(`${result.files} files in ${inputs.out}/.`);
  return result.rendered!;
}

async function publishFiles({ options: { manifests } }: Run, { origin }: Changes, files: readonly ManifestFile[], s: StageProgress): Promise<PublishResult> {
  const result = await publish(files, {
    ...manifests,
    source: origin.source,
    base: origin.base,
    configDir: origin.configDir,
    author: origin.source && origin.configDir ? await authorOf(origin.configDir, origin.source) : undefined,
    log: (l) => s.note(l),
  });
  s.done(publishSummary(result));
  return result;
}

/** The sites this deploy changed, verified once published (see PipelineOptions.verify); a failure is reverted and published. */
async function verifyDeploy(run: Run, fleet: Fleet, { origin }: Changes, published: PublishResult, s: StageProgress): Promise<void> {
  const { inputs, manifests, verify } = run.options;
  const ids = published.plan.sites.filter((site) => site.change !== 'removed').map((site) => site.id);
  if (published.status !== 'pushed' || ids.length === 0) return s.skip(published.status === 'pushed' ? 'no site changed' : 'nothing was published');
  const sites = fleet.sites.filter((site) => ids.includes(site.id));
  const verdicts = await verifyPublishedSites(sites, fleet.canary, verify!, published.commit);
  const failed = verdicts.filter((v) => v.outcome !== 'ok');
  if (failed.length === 0) return s.done(`${plural(sites.length, 'site')} served as published: ${listIds(ids)}`);
  if (!origin.source || !origin.configDir) throw new ChecksFailedError(`verification failed for ${failed.map((v) => v.id).join(', ')}; not reverted: --allow-dirty inputs have no commit to revert`);
  throw await revertFailed(failed, {
    ...inputs,
    dir: origin.configDir,
    source: origin.source,
    repo: manifests.repo,
    branch: manifests.branch,
    path: manifests.path,
    workRoot: manifests.workRoot,
    token: manifests.credentials?.token,
    github: { url: manifests.github?.url ?? '', repo: manifests.github?.repo, token: manifests.github?.token },
    log: (line) => s.note(line),
  });
}

/** Marks removed sites and completes the teardowns that are due; skipped when this run cannot decide what is removed. */
async function tearDown(run: Run, fleet: Fleet, changes: Changes, published: PublishResult, s: StageProgress): Promise<TeardownOutcome> {
  const { inputs, manifests, hook } = run.options;
  const { origin, teardown: removed } = changes;
  const none: TeardownOutcome = { tornDown: [], terminating: [] };
  if (!origin.source || !origin.configDir) {
    s.skip('--allow-dirty: nothing is torn down');
    return none;
  }
  if (published.status === 'superseded') {
    s.skip('a deploy of newer inputs landed while this one ran: it decides what is removed');
    return none;
  }
  if (manifests.mode === 'pr') {
    if (removed.length === 0) {
      s.skip('no removed sites');
      return none;
    }
    const reason =
      `pull request mode: the manifests of ${removed.join(', ')} stay on ${manifests.branch} until the pull request merges. ` +
      `After it merges and Argo CD has pruned them, run: aviary hook teardown ${removed.join(' ')}` +
      `${removed.length > hook.threshold ? ` --confirm ${removed.length}` : ''}`;
    s.skip(reason);
    return { ...none, skipped: { ids: removed, reason } };
  }
  const argocd = hook.argocd && argoCdTarget({ url: hook.argocd.url, project: fleet.canary.settings.argocd.project });
  const result = await runTeardowns(changes.ctx!, {
    removed,
    gate: { declared: new Set(fleet.sites.map((x) => x.id)), configDir: origin.configDir, sitesPath: inputs.sites, manifests },
    graceMs: hook.graceMs ?? 0,
    argocd: argocd && { target: argocd, waitMs: hook.argocd!.waitMs },
    layout: layoutOf(fleet.canary.settings),
    recoveryDays: hook.recoveryDays,
    concurrency: hook.concurrency,
    progress: s,
  });
  // The others are done; a site this run removes but that is still declared or published elsewhere is refused.
  refuseLive(result.live ?? new Map());
  if (result.tornDown.length === 0 && result.terminating.length === 0 && !result.skipped) s.skip('nothing removed, nothing due');
  else s.done(result.tornDown.length ? `${plural(result.tornDown.length, 'site')} torn down (final backups in s3://${changes.ctx!.config.bucket}/backups/).` : undefined);
  return result;
}

/**
 * Runs one stage: its progress, and on failure an error that names the stage
 * and keeps the class (and so the exit status) of the underlying failure.
 */
async function stage<T>(progress: Progress, name: Stage, detail: string | undefined, run: (s: StageProgress) => Promise<T>): Promise<T> {
  const s = progress.stage(name, detail);
  try {
    return await run(s);
  } catch (error) {
    s.fail(error instanceof InvalidInputError ? `${plural(error.total, 'problem')} in the inputs` : undefined);
    throw inStage(name, error);
  }
}

/** Prefixes the message with the stage; the same object is rethrown so its class and exit status stay. */
export function inStage(name: Stage, error: unknown): unknown {
  if (error instanceof Error && !(error instanceof InvalidInputError) && !error.message.startsWith('pipeline stage ')) {
    error.message = `pipeline stage "${name}" failed (later stages did not run; fix the cause and run the pipeline again): ${error.message}`;
  }
  return error;
}

/** One progress line per finished site, with what its steps did. */
function siteLine(s: StageProgress, total: number) {
  return (id: string, reports: readonly StepReport[], done: number) => s.item(done, total, `${id}: ${outcomes(reports)}`);
}

/** "8 steps: 7 created, 1 unchanged" */
function outcomes(reports: readonly StepReport[]): string {
  const by = new Map<string, number>();
  for (const r of reports) by.set(r.outcome, (by.get(r.outcome) ?? 0) + 1);
  return `${plural(reports.length, 'step')}: ${[...by].map(([o, n]) => `${n} ${o}`).join(', ')}`;
}

/**
 * The AWS side converges every run: every declared site that is not whole
 * (new, or missing any part, whatever removed it) is provisioned. Sites the
 * registry already knows are named with what they lack.
 */
async function incompleteSites(ctx: HookContext, fleet: Fleet, s: StageProgress): Promise<Site[]> {
  const inventory = await takeInventory(ctx);
  const missing = new Map(fleet.sites.map((site) => [site.id, missingParts(ctx, site.id, inventory)]));
  const incomplete = fleet.sites.filter((site) => missing.get(site.id)!.length > 0);
  const known = incomplete.filter((site) => inventory.registry.has(site.id));
  if (known.length > 0) s.note(`incomplete, provisioned again: ${known.map((x) => `${x.id} (${missing.get(x.id)!.join(', ')})`).join('; ')}`);
  return incomplete;
}

/** Hooks racing on one site (two pipelines for two merges) make the loser fail loudly; its re-run converges. */
const SITE_RERUN: RetryPolicy = { retries: 3, minTimeoutMs: 150, maxTimeoutMs: 1_500 };

function isConcurrentHook(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) if (e instanceof ConcurrentHookError) return true;
  return false;
}

function provisionWithRerun(ctx: HookContext, site: Site): Promise<StepReport[]> {
  return retry(SITE_RERUN, isConcurrentHook, () => withReports(ctx, (c) => provisionSite(c, site)));
}

async function resolveConfig({ options: { hook }, clients, redactor }: Run, fleet: Fleet): Promise<HookConfig> {
  return resolveHookConfig({
    flags: hook.flags,
    fleetSecretPrefix: fleet.canary.settings.secrets.prefix,
    secrets: clients().secrets,
    redactor,
    retry: hook.retry,
    env: hook.env,
  });
}

/** The input commit of the newest deploy of `--path` on the manifests branch, skipping deploys of `exclude`. */
function lastDeploy(manifests: PipelineOptions['manifests'], exclude?: string): Promise<string | undefined> {
  const remote = normaliseRemote(manifests.repo, manifests.credentials);
  return lastDeployedSource(remote.url, manifests.branch, { exclude, path: manifests.path, credentials: remote.credentials });
}

function publishSummary(result: PublishResult): string {
  const retried = result.attempts > 1 ? ` after ${result.attempts} attempts` : '';
  switch (result.status) {
    case 'unchanged':
      return `Nothing to publish: ${result.branch} already holds these manifests.`;
    case 'superseded':
      return `Nothing to publish: a deploy of newer inputs already landed on ${result.branch}.`;
    case 'pushed':
      return `Pushed manifests commit ${short(result.commit ?? '')} to ${result.branch}${retried}.`;
    case 'pull-request':
      return `${result.pullRequest?.created ? 'Opened' : 'Updated'} pull request #${result.pullRequest?.number} from ${result.branch}${retried}: ${result.pullRequest?.url}`;
  }
}

const short = (sha: string) => sha.slice(0, 12);
const list = (ids: readonly string[]) => (ids.length ? ids.join(', ') : 'none');
