// The world a CI step lives in, for the end-to-end tests: a config repo on a
// "forge" (a bare origin, pull requests as branches merged with --no-ff),
// fresh CI checkouts of a commit, a manifests repo, and the real entrypoint
// `node lib/pipeline/cli.js ci` started with environment variables only, the
// way Drone and GitHub Actions start it.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { AwsClients } from '../../src/pipeline/hook/aws.js';
import { adminSql, CREDENTIALS, mariadb, motoEndpoint, REGION, uniq } from '../pipeline/hook/support.js';

export const CLI = resolve(import.meta.dirname, '../../lib/pipeline/cli.js');

const GIT_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Ann Operator',
  GIT_AUTHOR_EMAIL: 'ann@example.com',
  GIT_COMMITTER_NAME: 'Ann Operator',
  GIT_COMMITTER_EMAIL: 'ann@example.com',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

// ---- inputs ----

export const DIGEST = { blue: 'b1'.repeat(32), green: 'c2'.repeat(32), green2: 'd3'.repeat(32) };

export interface SiteSpec {
  id: string;
  service?: 'blue' | 'green';
  ingress?: 'blue' | 'green';
}

/** One block per site with blank lines between, so merges of different sites never conflict. */
export function sitesYaml(sites: readonly SiteSpec[]): string {
  if (sites.length === 0) return 'sites: []\n';
  const blocks = sites.map((s) =>
    [
      `  - id: ${s.id}`,
      `    name: "Site ${s.id}"`,
      '    theme: astra',
      `    hostnames: [${s.id}.example.com]`,
      `    service: ${s.service ?? 'blue'}`,
      ...(s.ingress ? [`    ingress: ${s.ingress}`] : []),
    ].join('\n'),
  );
  return `# the fleet\nsites:\n${blocks.join('\n\n')}\n`;
}

export function canaryYaml(green = DIGEST.green): string {
  return [
    'repository: 123456789012.dkr.ecr.us-west-2.amazonaws.com/wp-fleet',
    'selector: green',
    'services:',
    '  blue:',
    `    imageTag: ${DIGEST.blue}`,
    '    replicas: 2',
    '  green:',
    `    imageTag: ${green}`,
    '    replicas: 1',
    '',
  ].join('\n');
}

// ---- the config repo on its forge ----

export class ConfigForge {
  readonly origin: string;
  /** A developer's clone, where pull requests are written and merged. */
  readonly dev: string;

  constructor(sites: readonly SiteSpec[]) {
    const root = tempDir('aviary-e2e-config-');
    this.origin = join(root, 'config.git');
    this.dev = join(root, 'dev');
    git(root, 'init', '-q', '--bare', '--initial-branch=main', this.origin);
    mkdirSync(this.dev);
    git(this.dev, 'init', '-q', '--initial-branch=main');
    git(this.dev, 'remote', 'add', 'origin', this.origin);
    writeFileSync(join(this.dev, '.gitignore'), '.aviary/\ndist/\n');
    writeFileSync(join(this.dev, 'sites.yaml'), sitesYaml(sites));
    writeFileSync(join(this.dev, 'canary.yaml'), canaryYaml());
    git(this.dev, 'add', '-A');
    git(this.dev, 'commit', '-q', '-m', 'initial fleet');
    git(this.dev, 'push', '-q', '-u', 'origin', 'main');
  }

  get main(): string {
    return git(this.dev, 'rev-parse', 'main');
  }

  /** Opens a "pull request": a branch off main with the new sites.yaml. Returns the branch head. */
  pullRequest(branch: string, sites: readonly SiteSpec[], base = 'main'): string {
    git(this.dev, 'checkout', '-q', '-B', branch, base);
    writeFileSync(join(this.dev, 'sites.yaml'), sitesYaml(sites));
    git(this.dev, 'commit', '-q', '-am', `${branch}`);
    git(this.dev, 'push', '-q', '-f', 'origin', branch);
    git(this.dev, 'checkout', '-q', 'main');
    return git(this.dev, 'rev-parse', branch);
  }

  /** Merges the branch into main as GitHub's merge button does (a merge commit) and pushes main. */
  merge(branch: string): string {
    git(this.dev, 'checkout', '-q', 'main');
    git(this.dev, 'pull', '-q', '--ff-only', 'origin', 'main');
    git(this.dev, 'merge', '-q', '--no-ff', '-m', `Merge ${branch}`, branch);
    git(this.dev, 'push', '-q', 'origin', 'main');
    return this.main;
  }

  /** A fresh CI checkout of `commit` with full history (fetch-depth: 0). */
  checkout(commit: string): string {
    const dir = tempDir('aviary-e2e-ci-');
    git(dir, 'clone', '-q', this.origin, '.');
    git(dir, 'fetch', '-q', 'origin', commit);
    git(dir, 'checkout', '-q', '--detach', commit);
    return dir;
  }
}

// ---- the CI step ----

export interface StepResult {
  code: number;
  stdout: string;
  stderr: string;
  /** GitHub Actions only: what the step wrote to $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY. */
  outputs: Record<string, string>;
  summary: string;
}

/** Runs `aviary ci` in `cwd` with exactly `env` (plus PATH and HOME), as a CI runner does. */
export function runStep(cwd: string, env: Record<string, string | undefined>): Promise<StepResult> {
  const files = tempDir('aviary-e2e-gh-');
  const output = join(files, 'output');
  const summary = join(files, 'summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  const full: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) full[k] = v;
  if (full.GITHUB_ACTIONS === 'true') Object.assign(full, { GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, GITHUB_WORKSPACE: cwd });
  return new Promise((done) => {
    execFile(process.execPath, [CLI, 'ci'], { cwd, env: full, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr, outputs: parseOutputs(readFileSync(output, 'utf8')), summary: readFileSync(summary, 'utf8') });
    });
  });
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

export interface Fleet {
  table: string;
  bucket: string;
}

/** Drone: the plugin's `settings:` arrive as PLUGIN_*; AWS settings too (from_secret in a real .drone.yml). */
export function droneEnv(command: string, fleet: Fleet, settings: Record<string, string> = {}): Record<string, string> {
  const db = mariadb();
  const env: Record<string, string> = {
    DRONE: 'true',
    CI: 'true',
    PLUGIN_COMMAND: command,
    PLUGIN_TABLE: fleet.table,
    PLUGIN_BUCKET: fleet.bucket,
    PLUGIN_MYSQL_URL: db.url,
    PLUGIN_AWS_REGION: REGION,
    PLUGIN_AWS_ENDPOINT_URL: motoEndpoint(),
    PLUGIN_AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    PLUGIN_AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    PLUGIN_RETRIES: '1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const [k, v] of Object.entries(settings)) env[`PLUGIN_${k.toUpperCase()}`] = v;
  return env;
}

/**
 * GitHub Actions: inputs as INPUT_* with GitHub's spelling (upper case, dashes
 * kept); AWS credentials from the job's environment, as
 * aws-actions/configure-aws-credentials leaves them.
 */
export function githubEnv(command: string, fleet: Fleet, inputs: Record<string, string> = {}): Record<string, string> {
  const db = mariadb();
  const env: Record<string, string> = {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    'INPUT_COMMAND': command,
    'INPUT_TABLE': fleet.table,
    'INPUT_BUCKET': fleet.bucket,
    'INPUT_MYSQL-URL': db.url,
    'INPUT_RETRIES': '1',
    // Declared but unset inputs arrive empty.
    'INPUT_SECRET-PREFIX': '',
    'INPUT_CONFIRM': '',
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL: motoEndpoint(),
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replaceAll('_', '-').toUpperCase()}`] = v;
  return env;
}

// ---- the manifests repo and the AWS side, for assertions ----

/** path → content of every file on `ref` of a bare repo. */
export function filesAt(bare: string, ref = 'main'): Map<string, string> {
  const names = git(bare, 'ls-tree', '-r', '--name-only', ref).split('\n').filter(Boolean);
  return new Map(names.map((n) => [n, execFileSync('git', ['show', `${ref}:${n}`], { cwd: bare, env: GIT_ENV, encoding: 'utf8' })]));
}

export function treeOf(bare: string, ref = 'main'): string {
  return git(bare, 'rev-parse', `${ref}^{tree}`);
}

export function hasSiteFiles(bare: string, id: string, ref = 'main'): boolean {
  return git(bare, 'ls-tree', '-r', '--name-only', ref, '--', `sites/${id}/`) !== '';
}

export async function registryStatus(aws: AwsClients, table: string, id: string): Promise<string | undefined> {
  return (await aws.dynamodb.send(new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }))).Item?.status?.S;
}

/** Everything the provision hook creates for a site, as found on the servers. */
export async function awsSide(aws: AwsClients, fleet: Fleet, id: string) {
  const sql = `wp_${id.replaceAll('-', '_')}`;
  const secret = async (kind: string) => {
    try {
      const d = await aws.secrets.send(new DescribeSecretCommand({ SecretId: `aviary/sites/${id}/${kind}` }));
      return d.DeletedDate ? 'scheduled for deletion' : 'present';
    } catch {
      return 'absent';
    }
  };
  const objects = await aws.s3.send(new ListObjectsV2Command({ Bucket: fleet.bucket, Prefix: `sites/${id}/` }));
  const [database, user] = await adminSql(async (c) => {
    const [dbs] = await c.query('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [sql]);
    const [users] = await c.query('SELECT User FROM mysql.user WHERE User = ?', [sql]);
    return [(dbs as unknown[]).length > 0, (users as unknown[]).length > 0];
  });
  return {
    registry: await registryStatus(aws, fleet.table, id),
    dbSecret: await secret('db'),
    adminSecret: await secret('admin'),
    database,
    user,
    s3: (objects.Contents ?? []).map((o) => o.Key),
  };
}

/** A folder for a manifests bare repo served over HTTP (the server's root). */
export function bareUnder(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '--bare', '--initial-branch=main');
  // Partial fetches (--filter=blob:none) are what a hosted forge serves.
  git(dir, 'config', 'uploadpack.allowFilter', 'true');
  return dir;
}

/** Fails with the step's whole output, so a broken run explains itself. */
export function expectOk(r: { code: number; stdout: string; stderr: string }): void {
  if (r.code !== 0) throw new Error(`step failed with ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
}

/** A fleet of two sites in its own config forge and manifests repo, deployed once by the Drone step; `run` runs it again. */
export async function deployedFleet(fleet: Fleet) {
  const base: SiteSpec[] = [{ id: uniq('a-') }, { id: uniq('b-') }];
  const forge = new ConfigForge(base);
  const manifests = tempDir('aviary-e2e-manifests-');
  git(manifests, 'init', '-q', '--bare', '--initial-branch=main');
  const run = (cwd: string, settings: Record<string, string> = {}) => runStep(cwd, droneEnv('pipeline', fleet, { manifests_repo: manifests, ...settings }));
  expectOk(await run(forge.checkout(forge.main)));
  return { base, forge, manifests, run };
}
