// The CI settings → command line mapping of `aviary ci`, and the GitHub
// Actions files it writes. The runs themselves are in test/e2e.
import { describe, expect, it } from 'vitest';
import {
  ciInvocation,
  ciReport,
  describeInvocation,
  detectCi,
  maskCommands,
  outputLines,
  problemAnnotations,
  readSettings,
  settingVariable,
} from '../../../src/pipeline/ci/ci.js';
import { UsageError } from '../../../src/pipeline/shared/errors.js';
import { parseOutputs } from '../../support/ci.js';
import { runCli } from '../../support/cli.js';
import { REPO_ROOT } from '../../support/fixtures.js';

describe('detectCi', () => {
  it('Drone by DRONE=true, GitHub Actions by GITHUB_ACTIONS=true, nothing else', () => {
    expect(detectCi({ DRONE: 'true' })).toBe('drone');
    expect(detectCi({ GITHUB_ACTIONS: 'true' })).toBe('github');
    expect(detectCi({ CI: 'true' })).toBeUndefined();
    expect(() => ciInvocation({ CI: 'true', PLUGIN_COMMAND: 'plan' })).toThrow(/runs inside Drone \(DRONE=true\) or GitHub Actions/);
  });
});

describe('settings', () => {
  it('Drone uses PLUGIN_SNAKE_CASE, GitHub INPUT_KEBAB-CASE', () => {
    expect(settingVariable('drone', 'manifests_repo')).toBe('PLUGIN_MANIFESTS_REPO');
    expect(settingVariable('github', 'manifests_repo')).toBe('INPUT_MANIFESTS-REPO');
  });

  it('reads both spellings under GitHub and treats empty inputs as unset', () => {
    const s = readSettings('github', { 'INPUT_MANIFESTS-REPO': 'https://x/y.git', INPUT_SECRET_PREFIX: 'p', INPUT_TABLE: '', INPUT_BUCKET: '  ' });
    expect(Object.fromEntries(s)).toEqual({ manifests_repo: 'https://x/y.git', secret_prefix: 'p' });
  });

  it('rejects unknown settings, naming them and the known ones (a typo must not be ignored)', () => {
    const error = (() => {
      try {
        readSettings('drone', { PLUGIN_MANIFEST_REPO: 'x', PLUGIN_COMMAND: 'plan' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error?.message).toContain('unknown plugin setting PLUGIN_MANIFEST_REPO');
    expect(error?.message).toContain('manifests_repo');
    expect(() => readSettings('github', { 'INPUT_MANIFEST-REPO': 'x' })).toThrow(/unknown action input INPUT_MANIFEST-REPO: .*manifests-repo/);
    // Under GitHub the list is action.yml's inputs: the AWS credentials come from the job's environment, not from inputs.
    expect(() => readSettings('github', { 'INPUT_MANIFEST-REPO': 'x' })).not.toThrow(/aws-access-key-id|aws-secret-access-key/);
    expect(() => readSettings('drone', { PLUGIN_MANIFEST_REPO: 'x' })).toThrow(/aws_access_key_id/);
  });

  it('ignores the other CI\'s variables', () => {
    expect(readSettings('drone', { 'INPUT_WHATEVER': 'x', PLUGIN_COMMAND: 'validate' }).size).toBe(1);
  });
});

describe('ciInvocation', () => {
  const drone = (settings: Record<string, string>) =>
    ciInvocation({ DRONE: 'true', ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [`PLUGIN_${k.toUpperCase()}`, v])) });

  it('maps a Drone pipeline step: flags for settings, variables for secrets and AWS', () => {
    const inv = drone({
      command: 'pipeline',
      manifests_repo: 'https://git.example.com/fleet/manifests.git',
      branch: 'prod',
      mode: 'pr',
      token: 'tok-secret-123',
      github_url: 'https://ghe.example.com/api/v3',
      table: 'fleet-sites',
      bucket: 'fleet-files',
      secret_prefix: 'fleet/sites',
      mysql_url: 'mysql://admin:pa%24s@db:3306',
      confirm: '2',
      aws_region: 'eu-west-1',
      sites: 'fleet/sites.yaml',
    });
    expect(inv).toEqual({
      ci: 'drone',
      command: 'pipeline',
      args: [
        '--sites=fleet/sites.yaml',
        'pipeline',
        '--json',
        '--manifests-repo=https://git.example.com/fleet/manifests.git',
        '--branch=prod',
        '--mode=pr',
        '--github-url=https://ghe.example.com/api/v3',
        '--table=fleet-sites',
        '--bucket=fleet-files',
        '--secret-prefix=fleet/sites',
        '--confirm=2',
      ],
      env: { AVIARY_GIT_TOKEN: 'tok-secret-123', AVIARY_MYSQL_URL: 'mysql://admin:pa%24s@db:3306', AWS_REGION: 'eu-west-1' },
      secrets: ['tok-secret-123', 'mysql://admin:pa%24s@db:3306', 'pa$s'],
      secretEnv: ['AVIARY_GIT_TOKEN', 'AVIARY_MYSQL_URL'],
    });
    // Secrets never reach the command line, not even when it is printed.
    expect(describeInvocation(inv)).toBe(
      'AVIARY_GIT_TOKEN=*** AVIARY_MYSQL_URL=*** AWS_REGION=eu-west-1 aviary --sites=fleet/sites.yaml pipeline --json ' +
        '--manifests-repo=https://git.example.com/fleet/manifests.git --branch=prod --mode=pr --github-url=https://ghe.example.com/api/v3 ' +
        '--table=fleet-sites --bucket=fleet-files --secret-prefix=fleet/sites --confirm=2',
    );
  });

  it('maps a GitHub plan step onto aviary plan --against, leaving the pipeline-only inputs out', () => {
    const inv = ciInvocation({
      GITHUB_ACTIONS: 'true',
      INPUT_COMMAND: 'plan',
      'INPUT_MANIFESTS-REPO': 'https://github.com/acme/manifests.git',
      INPUT_TOKEN: 'ghp_abcdef',
      INPUT_TABLE: 'fleet-sites',
      'INPUT_MYSQL-URL': 'mysql://a:b@c',
      'INPUT_WORKING-DIRECTORY': 'config',
    });
    expect(inv.args).toEqual(['plan', '--format=json', '--against=https://github.com/acme/manifests.git']);
    expect(inv.env).toEqual({ AVIARY_GIT_TOKEN: 'ghp_abcdef' });
    expect(inv.workingDirectory).toBe('config');
    // Still masked: a secret given is a secret, used or not.
    expect(inv.secrets).toContain('mysql://a:b@c');
  });

  it('validate needs nothing but the command', () => {
    expect(drone({ command: 'validate', canary: 'c.yaml' }).args).toEqual(['--canary=c.yaml', 'validate', '--json']);
  });

  it('says what is wrong in the CI\'s own terms', () => {
    expect(() => drone({})).toThrow('missing setting command (PLUGIN_COMMAND): set it to validate, plan, pipeline');
    expect(() => drone({ command: 'deploy' })).toThrow('setting command (PLUGIN_COMMAND) is "deploy": use one of validate, plan, pipeline');
    expect(() => drone({ command: 'pipeline', manifests_repo: 'x', mode: 'merge' })).toThrow('use one of push, pr');
    expect(() => drone({ command: 'pipeline', manifests_repo: 'x', confirm: 'all' })).toThrow('setting confirm (PLUGIN_CONFIRM) is "all": expected a whole number');
    // Without manifests_repo the pipeline publishes where canary.yaml's argocd.repoURL says (or says it has nowhere to).
    expect(drone({ command: 'pipeline' }).args).toEqual(['pipeline', '--json']);
  });
});

describe('GitHub Actions files and commands', () => {
  it('writes outputs as name=value, and multi-line values as heredocs the runner reads back', () => {
    const text = outputLines({ 'manifests-commit': 'abc123', 'pr-url': undefined, plan: '### Aviary plan\n\nline two\n' });
    expect(text.startsWith('manifests-commit=abc123\nplan<<aviary_')).toBe(true);
    expect(parseOutputs(text)).toEqual({ 'manifests-commit': 'abc123', plan: '### Aviary plan\n\nline two\n' });
  });

  it('masks every secret once', () => {
    expect(maskCommands(['s3cret', 's3cret', '', 'other'])).toBe('::add-mask::s3cret\n::add-mask::other\n');
  });

  it('annotates validation problems at their file, line and column, escaped', () => {
    const text = problemAnnotations(
      [{ file: 'sites.yaml', line: 7, column: 14, path: 'sites[0].service', message: '"red" is not a color', hint: 'use one of blue, green' }],
      '/ws/config',
      '/ws',
    );
    expect(text).toBe('::error file=config/sites.yaml,line=7,col=14,title=aviary validate::sites[0].service: "red" is not a color%0Ahint: use one of blue, green\n');
  });

  it('turns a pipeline result into outputs and a summary', () => {
    const plan = { sites: [], services: { objects: [], images: [] }, shards: [], other: [], jobs: [], teardown: [], files: { added: 1, changed: 0, removed: 0 }, unmanaged: [] };
    const result = {
      source: 'f'.repeat(40),
      provisioned: ['shop'],
      tornDown: [],
      publish: { status: 'pull-request', plan, commit: 'c'.repeat(40), branch: 'aviary/deploy-x', attempts: 1, pullRequest: { url: 'https://gh/pr/7', number: 7, created: true } },
      teardownSkipped: { ids: ['old'], reason: 'pull request mode' },
    };
    const report = ciReport('pipeline', JSON.stringify(result), 0, { cwd: '/ws', workspace: '/ws' });
    expect(report.outputs).toMatchObject({ status: 'pull-request', 'manifests-commit': 'c'.repeat(40), 'pr-url': 'https://gh/pr/7', provisioned: 'shop', 'torn-down': '' });
    expect(report.summary).toContain('- Not torn down yet: `old` — pull request mode');
    expect(ciReport('pipeline', '', 3, { cwd: '/ws', workspace: '/ws' }).outputs).toEqual({});
  });
});

describe('aviary ci --print (the real CLI)', () => {
  const run = (env: Record<string, string>) => runCli(['ci', '--print'], { cwd: REPO_ROOT, env });

  it('prints the mapped command without running it, secrets hidden', async () => {
    const r = await run({ DRONE: 'true', PLUGIN_COMMAND: 'plan', PLUGIN_MANIFESTS_REPO: '/srv/m.git', PLUGIN_TOKEN: 'hunter2-token' });
    expect(r).toEqual({ code: 0, stdout: 'AVIARY_GIT_TOKEN=*** aviary plan --format=json --against=/srv/m.git\n', stderr: '' });
  });

  it('a working directory that is not there is exit 2 naming the input, not a stack trace', async () => {
    const r = await runCli(['ci'], { cwd: REPO_ROOT, env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: REPO_ROOT, INPUT_COMMAND: 'validate', 'INPUT_WORKING-DIRECTORY': 'no-such-folder' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: input working-directory is no-such-folder, but .*no-such-folder is not a folder/);
    expect(r.stderr).not.toMatch(/internal error|ENOENT|\n\s+at /);
  });

  it('exits 2 on a bad setting, naming it', async () => {
    const r = await run({ GITHUB_ACTIONS: 'true', INPUT_COMMAND: 'deploy' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: input command is "deploy": use one of validate, plan, pipeline\n');
  });
});
