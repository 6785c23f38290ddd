// action.yml, the Dockerfile and the example CI files agree with what
// `aviary ci` reads: every input and setting they use is one it knows, the
// action runs the prebuilt bundle, and each example step maps to
// the aviary command it is meant to run (checked with the real `ci --print`).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CI_SETTINGS } from '../../../src/pipeline/ci/ci.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { REPO_ROOT } from '../../support/fixtures.js';

const read = (path: string) => readFileSync(resolve(REPO_ROOT, path), 'utf8');
const kebab = (s: string) => s.replaceAll('_', '-');

function print(env: Record<string, string>): Promise<CliResult> {
  return runCli(['ci', '--print'], { cwd: REPO_ROOT, env });
}

const action = parse(read('action.yml'));

/** What the runner gives a JavaScript action: every declared input as INPUT_<NAME> (dashes kept), '' when unset. */
function actionEnv(inputs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { GITHUB_ACTIONS: 'true' };
  for (const name of Object.keys(action.inputs)) env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? '';
  return env;
}

describe('action.yml', () => {
  it('declares exactly the settings aviary ci knows, as kebab-case inputs', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(
      CI_SETTINGS.filter((s) => s.actionInput).map((s) => kebab(s.name)).sort(),
    );
    expect(action.inputs.command.required).toBe(true);
    expect(Object.keys(action.outputs)).toEqual(expect.arrayContaining(['manifests-commit', 'pr-url', 'plan', 'has-changes', 'valid']));
  });

  it('runs the prebuilt bundle on the runner\'s Node LTS: nothing is installed or compiled at use time', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'action/aviary.mjs' });
  });

  it('maps a pipeline step with the example inputs onto aviary pipeline (through the real CLI)', async () => {
    const r = await print(
      actionEnv({ command: 'pipeline', 'manifests-repo': 'https://github.com/o/m.git', token: 'tok-123456', mode: 'pr', table: 't', 'mysql-url': 'mysql://a:b@h', confirm: '3' }),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('AVIARY_GIT_TOKEN=*** AVIARY_MYSQL_URL=*** aviary pipeline --json --manifests-repo=https://github.com/o/m.git --mode=pr --table=t --confirm=3\n');
  });
});

describe('examples', () => {
  it('GitHub workflows use the action with known inputs; the deploy runs the pipeline with full history', () => {
    const uses = (wf: any) => wf.jobs[Object.keys(wf.jobs)[0]!].steps;
    const pr = parse(read('examples/github/pull-request.yml'));
    const deploy = parse(read('examples/github/deploy.yml'));
    const aviarySteps = [...uses(pr), ...uses(deploy)].filter((s: any) => String(s.uses ?? '').includes('/aviary@'));
    expect(aviarySteps.map((s: any) => s.with.command)).toEqual(['validate', 'plan', 'pipeline']);
    for (const s of aviarySteps) for (const input of Object.keys(s.with)) expect(Object.keys(action.inputs)).toContain(input);
    expect(uses(deploy).find((s: any) => String(s.uses).startsWith('actions/checkout')).with['fetch-depth']).toBe(0);
    expect(deploy.on.push.branches).toEqual(['main']);
    expect(Object.keys(pr.on)).toEqual(['pull_request']);
  });

  it('the Drone pipelines: a pull-request check, a deploy on merge, a promote; every plugin step maps to a command', async () => {
    const docs = parseAllDocuments(read('examples/drone/.drone.yml')).map((d) => d.toJS());
    expect(docs.map((d) => [d.name, d.trigger.event[0]])).toEqual([
      ['check', 'pull_request'],
      ['deploy', 'push'],
      ['promote', 'promote'],
    ]);
    const mapped: string[] = [];
    for (const doc of docs) {
      for (const s of doc.steps) {
        if (!s.settings) continue;
        // Drone resolves from_secret; any value will do for the mapping.
        const env: Record<string, string> = { DRONE: 'true' };
        for (const [k, v] of Object.entries(s.settings)) env[`PLUGIN_${k.toUpperCase()}`] = typeof v === 'object' ? 'secret-value' : String(v);
        const r = await print(env);
        expect(r.stderr).toBe('');
        mapped.push(`${doc.name}/${s.name}: ${r.stdout.trim()}`);
      }
    }
    expect(mapped).toEqual([
      'check/validate: aviary validate --json',
      'check/plan: AVIARY_GIT_TOKEN=*** aviary plan --format=json',
      expect.stringMatching(/^deploy\/pipeline: AVIARY_GIT_TOKEN=\*\*\* AVIARY_MYSQL_URL=\*\*\* AWS_REGION=us-west-2 .* aviary pipeline --json --mode=push --table=wp-fleet-sites --bucket=wp-fleet-files --db-host=mysql.wp-platform.svc:3306$/),
      expect.stringMatching(/^promote\/pipeline: .* aviary pipeline --json /),
    ]);
    const promote = docs[2].steps[0].commands.join('\n');
    expect(promote).toContain('aviary canary set-image "$IMAGE_DIGEST" --promote');
    expect(promote).toMatch(/git push origin HEAD:main/);
  });

  it('the Dockerfile installs git and runs aviary ci', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile.match(/^FROM node:\d+/gm)).toEqual(['FROM node:24', 'FROM node:24']);
    expect(dockerfile).toMatch(/npm ci .*--omit=optional/);
    expect(dockerfile).toMatch(/npm prune --omit=dev --omit=optional/);
    expect(dockerfile).toMatch(/apt-get install .*\bmariadb-client\b/);
    expect(dockerfile).toMatch(/apt-get install .*\bgit\b/);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "/opt/aviary/lib/pipeline/cli.js", "ci"]');
    expect(read('.dockerignore').split('\n')).toEqual(expect.arrayContaining(['node_modules', 'lib', '.git']));
  });
});
