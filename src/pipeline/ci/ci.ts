import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Problem } from '../../sites/problems.js';
import { UsageError } from '../shared/errors.js';
import { CI_COMMANDS, ciSettings, type CiCommand, type CiSetting } from '../options/catalogue.js';
import { formatPlan, isEmptyPlan, type Plan } from '../publish/plan.js';
import type { PipelineResult } from '../stages/pipeline.js';

/**
 * `aviary ci`: one entrypoint for both CIs. Drone hands a plugin its
 * `settings:` as `PLUGIN_<NAME>` variables; GitHub Actions hands an action its
 * `with:` inputs as `INPUT_<NAME>`. Both are mapped onto the ordinary
 * command line (`aviary validate | plan | pipeline` with the same flags and
 * variables), which runs as a child process, so CI runs exactly what a
 * person would run by hand. Under GitHub Actions the results also become
 * step outputs, the job summary and annotations.
 */

export type CiKind = 'drone' | 'github';
export { CI_COMMANDS, type CiCommand };

/** Every setting, in the order the README documents them (the option catalogue's). */
export const CI_SETTINGS: readonly CiSetting[] = ciSettings();

/** The CLI run a CI step maps to. */
export interface CiInvocation {
  readonly ci: CiKind;
  readonly command: CiCommand;
  /** Arguments after `aviary`; machine-readable output is always asked for (the runner renders it). */
  readonly args: readonly string[];
  /** Variables added to the child's environment (secrets among them). */
  readonly env: Readonly<Record<string, string>>;
  /** Setting values to mask in logs. */
  readonly secrets: readonly string[];
  /** Which of `env` hold secrets (shown as *** when the command is printed). */
  readonly secretEnv: readonly string[];
  /** Relative to the workspace; absent for the workspace itself. */
  readonly workingDirectory?: string;
}

export function detectCi(env: NodeJS.ProcessEnv): CiKind | undefined {
  if (env.DRONE === 'true') return 'drone';
  if (env.GITHUB_ACTIONS === 'true') return 'github';
  return undefined;
}

/** The variable a setting arrives in: `PLUGIN_MANIFESTS_REPO`, `INPUT_MANIFESTS-REPO`. */
export function settingVariable(ci: CiKind, name: string): string {
  return ci === 'drone' ? `PLUGIN_${name.toUpperCase()}` : `INPUT_${name.replaceAll('_', '-').toUpperCase()}`;
}

/**
 * The settings present in the environment, by snake_case name. Empty values
 * count as absent (GitHub passes every declared input, set or not). Under
 * GitHub the underscore spelling (`INPUT_MANIFESTS_REPO`) is accepted too:
 * a composite action has to map inputs to variables itself, and shells
 * cannot name a variable with a dash.
 */
export function readSettings(ci: CiKind, env: NodeJS.ProcessEnv): Map<string, string> {
  const prefix = ci === 'drone' ? 'PLUGIN_' : 'INPUT_';
  const known = new Map(CI_SETTINGS.map((s) => [s.name, s]));
  const found = new Map<string, string>();
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(prefix) || value === undefined || value.trim() === '') continue;
    const name = key.slice(prefix.length).toLowerCase().replaceAll('-', '_');
    if (!known.has(name)) unknown.push(key);
    else found.set(name, value.trim());
  }
  if (unknown.length > 0) {
    // Under GitHub, what action.yml declares: the inputs a workflow can set.
    const spelled = CI_SETTINGS.filter((s) => ci === 'drone' || s.actionInput)
      .map((s) => (ci === 'drone' ? s.name : s.name.replaceAll('_', '-')))
      .join(', ');
    throw new UsageError(`unknown ${ci === 'drone' ? 'plugin setting' : 'action input'}${unknown.length > 1 ? 's' : ''} ${unknown.sort().join(', ')}: check the spelling; known: ${spelled}`);
  }
  return found;
}

/** Maps the CI's settings onto the aviary command line; validates what the CLI would only report by flag name. */
export function ciInvocation(env: NodeJS.ProcessEnv): CiInvocation {
  const ci = detectCi(env);
  if (!ci) {
    throw new UsageError('aviary ci runs inside Drone (DRONE=true) or GitHub Actions (GITHUB_ACTIONS=true); elsewhere run aviary validate, plan or pipeline');
  }
  const settings = readSettings(ci, env);
  const named = (name: string) => (ci === 'drone' ? `setting ${name} (${settingVariable(ci, name)})` : `input ${name.replaceAll('_', '-')}`);
  const command = settings.get('command');
  if (!command) throw new UsageError(`missing ${named('command')}: set it to ${CI_COMMANDS.join(', ')}`);

  const cmd = command as CiCommand;
  const args: string[] = [];
  const childEnv: Record<string, string> = {};
  const secrets: string[] = [];
  const secretEnv: string[] = [];
  const globalArgs: string[] = [];
  for (const setting of CI_SETTINGS) {
    const value = settings.get(setting.name);
    if (value === undefined) continue;
    if (setting.choices && !setting.choices.includes(value)) throw new UsageError(`${named(setting.name)} is "${value}": use one of ${setting.choices.join(', ')}`);
    if (setting.integer && !/^\d+$/.test(value)) throw new UsageError(`${named(setting.name)} is "${value}": expected a whole number`);
    if (setting.switch && !['true', 'false'].includes(value)) throw new UsageError(`${named(setting.name)} is "${value}": expected true or false`);
    if (setting.secret) secrets.push(value);
    const target = setting.targets.find((t) => t.commands.includes(cmd))?.target;
    if (!target) continue;
    if ('env' in target) {
      childEnv[target.env] = value;
      if (setting.secret) secretEnv.push(target.env);
    } else if (setting.switch) {
      if (value === 'true') (target.global ? globalArgs : args).push(target.flag);
    } else (target.global ? globalArgs : args).push(`${target.flag}=${value}`);
  }
  const tail = cmd === 'validate' ? ['--json'] : cmd === 'plan' ? ['--format=json', ...args] : ['--json', ...args];
  const workingDirectory = settings.get('working_directory');
  return {
    ci,
    command: cmd,
    args: [...globalArgs, cmd, ...tail],
    env: childEnv,
    secrets: [...secrets, ...secretsInside(secrets)],
    secretEnv,
    ...(workingDirectory ? { workingDirectory } : {}),
  };
}

/** The password inside a URL setting (mysql://user:password@host) is a secret of its own. */
function secretsInside(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    try {
      const password = decodeURIComponent(new URL(v).password);
      if (password) out.push(password);
    } catch {
      // not a URL
    }
  }
  return out;
}

/** The command line as a person would type it, secrets replaced by the variables that carry them. */
export function describeInvocation(inv: CiInvocation): string {
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);
  const vars = Object.entries(inv.env).map(([k, v]) => `${k}=${inv.secretEnv.includes(k) ? '***' : quote(v)}`);
  const cd = inv.workingDirectory ? `cd ${quote(inv.workingDirectory)} && ` : '';
  return `${cd}${[...vars, 'aviary', ...inv.args.map(quote)].join(' ')}`;
}

// ---- GitHub Actions workflow commands and files ----

/** `::add-mask::` for each secret, so the runner hides it in every later log line. */
export function maskCommands(secrets: readonly string[]): string {
  return [...new Set(secrets)].filter((s) => s.length > 0).map((s) => `::add-mask::${s}\n`).join('');
}

/** `name=value` for one line, a heredoc with a random delimiter for several (GitHub's documented format). */
export function outputLines(outputs: Readonly<Record<string, string | undefined>>): string {
  let text = '';
  for (const [name, value] of Object.entries(outputs)) {
    if (value === undefined) continue;
    if (!/[\r\n]/.test(value)) {
      text += `${name}=${value}\n`;
      continue;
    }
    let delimiter: string;
    do delimiter = `aviary_${randomBytes(8).toString('hex')}`;
    while (value.includes(delimiter));
    text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
  }
  return text;
}

/** Workflow-command escaping of a message and of a property value. */
const escapeData = (s: string) => s.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
const escapeProperty = (s: string) => escapeData(s).replaceAll(':', '%3A').replaceAll(',', '%2C');

/** One `::error file=…,line=…,col=…::` annotation per problem, paths relative to the workspace. */
export function problemAnnotations(problems: readonly Problem[], cwd: string, workspace: string): string {
  return problems
    .map((p) => {
      const file = relative(workspace, resolve(cwd, p.file)).split('\\').join('/');
      const where = [`file=${escapeProperty(file)}`, ...(p.line > 0 ? [`line=${p.line}`, `col=${p.column}`] : []), 'title=aviary validate'].join(',');
      const text = `${p.path ? `${p.path}: ` : ''}${p.message}${p.hint ? `\nhint: ${p.hint}` : ''}`;
      return `::error ${where}::${escapeData(text)}\n`;
    })
    .join('');
}

/** What a step reports once the CLI has answered: log lines, outputs, the job summary. */
export interface CiReport {
  readonly log: string;
  readonly outputs: Record<string, string | undefined>;
  readonly summary: string;
  readonly annotations: string;
}

/** Turns the CLI's JSON answer into the step's report; `stdout` is what the child printed. */
export function ciReport(command: CiCommand, stdout: string, code: number, where: { cwd: string; workspace: string }): CiReport {
  const json = parseJson(stdout);
  if (command === 'validate') {
    const v = json as { valid?: boolean; sites?: number; problems?: Problem[] } | undefined;
    if (v?.valid) return { log: `The inputs are valid: ${v.sites} site(s).`, outputs: { valid: 'true' }, summary: `### Aviary validate\n\nThe inputs are valid: ${v.sites} site(s).\n`, annotations: '' };
    const problems = v?.problems ?? [];
    const rows = problems.map((p) => `| \`${p.file}${p.line > 0 ? `:${p.line}:${p.column}` : ''}\` | ${cell(p.path)} | ${cell(p.message)}${p.hint ? `<br>_${cell(p.hint)}_` : ''} |`);
    return {
      log: '',
      outputs: { valid: 'false' },
      summary: `### Aviary validate\n\n${problems.length} problem(s) in the inputs; nothing was synthesized.\n\n| where | path | problem |\n|---|---|---|\n${rows.join('\n')}\n`,
      annotations: problemAnnotations(problems, where.cwd, where.workspace),
    };
  }
  if (command === 'plan') {
    const plan = json as Plan | undefined;
    if (!plan || code !== 0) return { log: '', outputs: {}, summary: '', annotations: '' };
    const markdown = formatPlan(plan, 'markdown');
    return {
      log: formatPlan(plan, 'text'),
      outputs: { plan: markdown, 'has-changes': String(!isEmptyPlan(plan)) },
      summary: `${markdown}\n`,
      annotations: '',
    };
  }
  const result = json as PipelineResult | undefined;
  if (!result || code !== 0) return { log: '', outputs: {}, summary: '', annotations: '' };
  const p = result.publish;
  const markdown = formatPlan(p.plan, 'markdown');
  const facts = [
    `- Input commit: \`${result.source}\``,
    `- Published: **${p.status}**${p.commit ? ` — manifests commit \`${p.commit}\`` : ''}${p.pullRequest ? ` — ${p.pullRequest.url}` : ''}`,
    `- Provisioned: ${result.provisioned.map((id) => `\`${id}\``).join(', ') || 'none'}`,
    `- Torn down: ${result.tornDown.map((id) => `\`${id}\``).join(', ') || 'none'}`,
    ...(result.teardownSkipped ? [`- Not torn down yet: ${result.teardownSkipped.ids.map((id) => `\`${id}\``).join(', ')} — ${result.teardownSkipped.reason}`] : []),
  ];
  return {
    log: '',
    outputs: {
      status: p.status,
      'manifests-commit': p.status === 'pushed' || p.status === 'pull-request' ? p.commit : undefined,
      'pr-url': p.pullRequest?.url,
      provisioned: result.provisioned.join(' '),
      'torn-down': result.tornDown.join(' '),
      plan: markdown,
    },
    summary: `### Aviary pipeline\n\n${facts.join('\n')}\n\n${markdown.replace(/^### Aviary plan\n\n/, '')}\n`,
    annotations: '',
  };
}

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---- running it ----

/** Set by scripts/bundle-action.mjs: in the Action's one-file build, this file is the CLI. */
declare const __AVIARY_BUNDLE__: boolean | undefined;
const CLI = fileURLToPath(typeof __AVIARY_BUNDLE__ === 'boolean' ? import.meta.url : new URL('../cli.js', import.meta.url));

/** Runs the CI step and returns its exit status (the CLI's own). */
export async function runCi(env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const inv = ciInvocation(env);
  const github = inv.ci === 'github';
  if (github) out.write(maskCommands(inv.secrets));
  const workspace = resolve(env.GITHUB_WORKSPACE ?? env.DRONE_WORKSPACE ?? process.cwd());
  const cwd = inv.workingDirectory ? resolve(workspace, inv.workingDirectory) : process.cwd();
  if (!isFolder(cwd)) {
    const setting = inv.ci === 'drone' ? 'setting working_directory' : 'input working-directory';
    throw new UsageError(`${setting} is ${inv.workingDirectory}, but ${cwd} is not a folder: name the config repo's folder relative to the workspace ${workspace}`);
  }
  out.write(`aviary ci (${inv.ci === 'drone' ? 'Drone' : 'GitHub Actions'}): ${describeInvocation(inv)}\n`);

  const { code, stdout, lastError } = await runChild(inv, cwd, env, err);
  const report = ciReport(inv.command, stdout, code, { cwd, workspace });
  if (report.log) out.write(`${report.log}\n`);
  if (github) {
    out.write(report.annotations);
    if (code !== 0 && lastError) out.write(`::error title=aviary ${inv.command} failed::${escapeData(lastError)}\n`);
    if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, outputLines(report.outputs));
    if (env.GITHUB_STEP_SUMMARY && report.summary) appendFileSync(env.GITHUB_STEP_SUMMARY, report.summary);
  }
  if (code !== 0) out.write(`aviary ${inv.command} exited with status ${code}.\n`);
  return code;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The CLI as a child: stderr streams through (progress, errors), stdout (JSON) is collected. */
function runChild(inv: CiInvocation, cwd: string, env: NodeJS.ProcessEnv, err: NodeJS.WritableStream): Promise<{ code: number; stdout: string; lastError?: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...inv.args], { cwd, env: { ...env, ...inv.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err.write(d);
      stderrTail = (stderrTail + d).slice(-8_000);
    });
    child.once('error', fail);
    child.once('close', (code, signal) => {
      const lastError = stderrTail
        .split('\n')
        .filter((l) => /^(error|internal error)/.test(l))
        .pop();
      done({ code: code ?? (signal ? 1 : 0), stdout, ...(lastError ? { lastError } : {}) });
    });
  });
}
