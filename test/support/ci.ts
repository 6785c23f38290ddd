// A CI step, for the end-to-end tests: the real entrypoint `node
// lib/pipeline/cli.js ci` started with environment variables only, the way
// Drone (PLUGIN_*) and GitHub Actions (INPUT_*, $GITHUB_OUTPUT) start it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectOk, runCli, type CliEnv, type CliResult } from './cli.js';
import { tempDir, type SiteSpec } from './fixtures.js';
import { bareRepo, ConfigForge } from './git.js';
import { awsEnv, CREDENTIALS, mariadb, motoEndpoint, REGION, uniq, type Store } from './store.js';

export interface StepResult extends CliResult {
  /** GitHub Actions only: what the step wrote to $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY. */
  outputs: Record<string, string>;
  summary: string;
}

/** Runs `aviary ci` in `cwd` with exactly `env` (plus PATH and HOME), as a CI runner does. */
export async function runStep(cwd: string, env: CliEnv): Promise<StepResult> {
  const files = tempDir('aviary-e2e-gh-');
  const output = join(files, 'output');
  const summary = join(files, 'summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  const github = env.GITHUB_ACTIONS === 'true' ? { GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, GITHUB_WORKSPACE: cwd } : {};
  const r = await runCli(['ci'], { cwd, env: { ...env, ...github } });
  return { ...r, outputs: parseOutputs(readFileSync(output, 'utf8')), summary: readFileSync(summary, 'utf8') };
}

/** Reads $GITHUB_OUTPUT the way the runner does: name=value lines and name<<DELIM heredocs. */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      out[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

/** The settings both CIs are given for a step against the shared servers and `fleet`, by their names in CI_SETTINGS. */
function stepSettings(command: string, fleet: Store): Record<string, string> {
  return { command, table: fleet.table, bucket: fleet.bucket, mysql_url: mariadb().url, retries: '1' };
}

/** `settings` as variables named `prefix` + the setting's name spelt by `spell`. */
function variables(prefix: string, settings: Record<string, string>, spell: (name: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).map(([k, v]) => [`${prefix}${spell(k)}`, v]));
}

/** Drone: the plugin's `settings:` arrive as PLUGIN_*; AWS settings too (from_secret in a real .drone.yml). */
export function droneEnv(command: string, fleet: Store, settings: Record<string, string> = {}): Record<string, string> {
  const aws = { aws_region: REGION, aws_endpoint_url: motoEndpoint(), aws_access_key_id: CREDENTIALS.accessKeyId, aws_secret_access_key: CREDENTIALS.secretAccessKey };
  return {
    DRONE: 'true',
    CI: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...variables('PLUGIN_', { ...stepSettings(command, fleet), ...aws, ...settings }, (k) => k.toUpperCase()),
  };
}

/**
 * GitHub Actions: inputs as INPUT_* with GitHub's spelling (upper case, dashes
 * kept; declared but unset inputs arrive empty); AWS credentials from the
 * job's environment, as aws-actions/configure-aws-credentials leaves them.
 */
export function githubEnv(command: string, fleet: Store, inputs: Record<string, string> = {}): Record<string, string> {
  const unset = { secret_prefix: '', confirm: '' };
  return {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    ...awsEnv(),
    ...variables('INPUT_', { ...stepSettings(command, fleet), ...unset, ...inputs }, (k) => k.replaceAll('_', '-').toUpperCase()),
  };
}

/** A fleet of two sites in its own config forge and manifests repo, deployed once by the Drone step; `run` runs it again. */
export async function deployedFleet(fleet: Store) {
  const base: SiteSpec[] = [{ id: uniq('a-') }, { id: uniq('b-') }];
  const forge = new ConfigForge(base);
  const manifests = bareRepo(tempDir('aviary-e2e-manifests-'));
  const run = (cwd: string, settings: Record<string, string> = {}) => runStep(cwd, droneEnv('pipeline', fleet, { manifests_repo: manifests, ...settings }));
  expectOk(await run(forge.checkout(forge.main)));
  return { base, forge, manifests, run };
}
