// The plan of real renders: what a person reviewing a deployment needs to see.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffFiles } from '../../../src/pipeline/git/sync.js';
import { formatPlan, MARKDOWN_MAX, planHeadline, planOf } from '../../../src/pipeline/publish/plan.js';
import { runCli } from '../../support/cli.js';
import { canaryYaml, scratchDir, sitesYaml } from '../../support/fixtures.js';
import { configRepo } from '../../support/git.js';
import { render, shardFile } from '../../support/manifests.js';

const NEW_GREEN = 'f'.repeat(64);
const before = render(sitesYaml([{ id: 'alpha' }, { id: 'bravo' }, { id: 'charlie', service: 'green' }, { id: 'delta' }]), canaryYaml());
const after = render(
  sitesYaml([{ id: 'alpha' }, { id: 'bravo', service: 'green' }, { id: 'charlie', service: 'green', ingress: 'blue' }, { id: 'echo' }]),
  canaryYaml({ green: NEW_GREEN }),
);
const plan = planOf(diffFiles(before, after));

describe('planOf', () => {
  it('groups per site: new, torn down, color and traffic moves, Jobs that will run', () => {
    const site = (id: string) => plan.sites.find((s) => s.id === id);
    expect(site('alpha')).toBeUndefined(); // on blue, untouched by the green image
    expect(site('echo')).toMatchObject({ change: 'added', jobs: ['install', 'update-db', 'theme', 'flush'].map((kind) => expect.stringMatching(new RegExp(`^echo-${kind}-`))) });
    expect(site('delta')).toMatchObject({ change: 'removed', jobs: [] });
    expect(site('bravo')).toMatchObject({ change: 'changed', service: { from: 'blue', to: 'green' }, traffic: { from: 'blue', to: 'green' } });
    expect(site('charlie')).toMatchObject({ change: 'changed', traffic: { from: 'green', to: 'blue' } });
    expect(site('charlie')!.service).toBeUndefined();
    // The image of charlie's color changed: its database is updated and its caches flushed.
    expect(site('charlie')!.jobs.map((j) => j.replace(/-[0-9a-f]{10}$/, ''))).toEqual(['charlie-update-db', 'charlie-flush']);
    // Job history stays bounded: the Jobs they replace are removed in the same sync (Argo CD prunes them), install and theme stay.
    const jobs = site('charlie')!.objects.filter((o) => o.kind === 'Job');
    expect(jobs.filter((o) => o.change === 'removed').map((o) => o.name.replace(/-[0-9a-f]{10}$/, '')).sort()).toEqual(['charlie-flush', 'charlie-update-db']);
    expect(jobs.filter((o) => o.change === 'added').map((o) => o.name)).toEqual(expect.arrayContaining(site('charlie')!.jobs));
    expect(jobs).toHaveLength(4);
    expect(site('charlie')!.objects).toContainEqual({
      kind: 'Ingress',
      name: 'charlie',
      change: 'changed',
      fields: [{ path: 'spec.rules[0].http.paths[0].backend.service.name', from: 'green', to: 'blue' }],
    });
    expect(plan.teardown).toEqual(['delta']);
  });

  it('lists the web-tier shards a site change rewrites by file, not as a change of the services', () => {
    const one = planOf(diffFiles(render(sitesYaml([{ id: 'alpha' }]), canaryYaml()), render(sitesYaml([{ id: 'alpha' }, { id: 'golf' }]), canaryYaml())));
    expect(one.shards).toEqual([shardFile('golf')]);
    expect(one.services.objects).toEqual([]);
    const text = formatPlan(one, 'text');
    expect(text.split('\n')[0]).toBe('Plan: 1 site added, 4 Jobs will run.');
    expect(text).toContain(`web tier: host map and site secrets in ${shardFile('golf').slice('services/'.length, -'.yaml'.length)}`);
  });

  it('reads the rendered objects where it has them, with the same result as parsing the files back', () => {
    expect(after.every((f) => f.objects !== undefined)).toBe(true);
    const parsed = planOf(diffFiles(before, after.map(({ path, content }) => ({ path, content }))));
    expect(plan).toEqual(parsed);
    expect(plan.sites.length).toBeGreaterThan(0);
  });

  it('shows the services: the new image of a color, objects changed', () => {
    expect(plan.services.images).toEqual([{ color: 'green', from: expect.stringContaining('216c0204'), to: expect.stringContaining(NEW_GREEN) }]);
    expect(plan.services.objects).toContainEqual({
      kind: 'Deployment',
      name: 'green-deployment',
      change: 'changed',
      fields: [{ path: 'spec.template.spec.containers[0].image', from: expect.stringMatching(/@sha256:216c0204a7f3…$/), to: expect.stringMatching(/@sha256:ffffffffffff…$/) }],
    });
    // canary-env's JSON document is compared field by field.
    expect(plan.services.objects.find((o) => o.name === 'canary-env')?.fields?.map((f) => f.path)).toEqual(['data.canaryEnv.image']);
    expect(plan.services.objects.find((o) => o.name === 'blue-deployment')).toBeUndefined();
    expect(plan.services.selector).toBeUndefined();
    const switched = planOf(diffFiles(before, render(sitesYaml([{ id: 'alpha' }, { id: 'bravo' }, { id: 'charlie', service: 'green' }, { id: 'delta' }]), canaryYaml({ selector: 'blue' }))));
    expect(switched.services.selector).toEqual({ from: 'green', to: 'blue' });
    expect(switched.sites).toEqual([]);
  });

  it('renders text, markdown for a PR comment, and json', () => {
    const text = formatPlan(plan, 'text');
    expect(text.split('\n')[0]).toBe('Plan: 1 site added, 2 sites changed, 1 site torn down, services changed, 8 Jobs will run.');
    expect(text).toContain('site bravo:\n    runs on green (was blue)\n    traffic to green (was blue)');
    expect(text).toContain(`image green: 123456789012.dkr.ecr.us-west-2.amazonaws.com/wp-fleet@sha256:216c0204a7f3… → 123456789012.dkr.ecr.us-west-2.amazonaws.com/wp-fleet@sha256:ffffffffffff…`);
    expect(text).toContain('site delta (torn down):');
    const md = formatPlan(plan, 'markdown');
    expect(md).toContain('| `delta` | **torn down** |');
    expect(md).toContain('> **Teardown:** `delta` will be removed');
    expect(JSON.parse(formatPlan(plan, 'json'))).toEqual(JSON.parse(JSON.stringify(plan)));
    expect(formatPlan(planOf([]), 'text')).toBe('No changes: the manifests already match the inputs.');
  });

  it('says per changed object which fields change, and colours lines only when asked', () => {
    const text = formatPlan(plan, 'text');
    expect(text).toContain('    ~ Ingress charlie\n        spec.rules[0].http.paths[0].backend.service.name: green → blue\n');
    expect(text).not.toContain('\x1b[');
    const coloured = formatPlan(plan, 'text', { colour: true });
    expect(coloured).toContain('\x1b[33m    ~ Ingress charlie\x1b[0m');
    expect(coloured).toContain('\x1b[31m    - Job delta-install-');
    expect(coloured).toContain('\x1b[32m    + Ingress echo\x1b[0m');
    // A change made alike at every index of a list is one line with [*].
    const thing = (v: string) => `kind: Thing\nmetadata: {name: t}\nspec: {list: [{v: ${v}, w: 1}, {v: ${v}, w: 2}], other: [{v: a}]}\n`;
    const alike = planOf([{ path: 'services/thing.yaml', before: thing('a'), after: thing('b') }]);
    expect(alike.services.objects[0]?.fields).toEqual([{ path: 'spec.list[*].v', from: 'a', to: 'b' }]);
  });

  it('keeps the Markdown plan under GitHub\'s 65,536 characters: summary first, sites folded, the rest cut with a note', () => {
    const many = (n: number, color: 'blue' | 'green') => render(sitesYaml(Array.from({ length: n }, (_, i) => ({ id: `site-${i}`, service: color }))), canaryYaml());
    const big = planOf(diffFiles(many(500, 'blue'), many(500, 'green')));
    expect(big.sites).toHaveLength(500);
    const md = formatPlan(big, 'markdown');
    expect(md.length).toBeLessThanOrEqual(MARKDOWN_MAX);
    expect(md.split('\n').slice(0, 3)).toEqual(['### Aviary plan', '', planHeadline(big)]);
    expect(md).toContain('<details><summary>500 sites</summary>');
    const shown = md.split('\n').filter((l) => l.startsWith('| `site-')).length;
    expect(shown).toBeGreaterThan(10);
    expect(shown).toBeLessThan(500);
    expect(md).toContain(`_… and ${500 - shown} more sites not shown: the plan is longer than a GitHub comment allows.`);
    expect(md.trimEnd().endsWith('</details>')).toBe(true);
    // A small plan is neither folded nor cut.
    expect(formatPlan(plan, 'markdown')).not.toMatch(/<details>|not shown/);
  });
});

describe('aviary plan --against DIR', () => {
  const root = scratchDir('aviary-plan-');

  it('compares a fresh render with a folder and writes nothing', { timeout: 60_000 }, async () => {
    const config = await configRepo(join(root, 'config'), sitesYaml([{ id: 'alpha' }]));
    const old = join(root, 'old');
    expect((await runCli(config, ['synth', '--out', old])).code).toBe(0);
    writeFileSync(join(config, 'sites.yaml'), sitesYaml([{ id: 'alpha' }, { id: 'bravo', service: 'green' }]));
    const r = await runCli(config, ['plan', '--against', old, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.sites.map((s: { id: string; change: string }) => [s.id, s.change])).toEqual([['bravo', 'added']]);
    expect(readdirSync(join(old, 'sites'))).toEqual(['alpha']);
    const text = await runCli(config, ['plan', '--against', old, '--format', 'markdown']);
    expect(text.stdout).toContain('| `bravo` | new |');
    const none = await runCli(config, ['plan', '--against', old, '--sites', 'missing.yaml']);
    expect(none.code).toBe(1);
  });

  it('--detailed-exitcode: 0 no changes, 2 changes, 1 for any error (a usage error too)', { timeout: 60_000 }, async () => {
    const config = await configRepo(join(root, 'detailed'), sitesYaml([{ id: 'alpha' }]));
    const old = join(root, 'detailed-old');
    expect((await runCli(config, ['synth', '--out', old])).code).toBe(0);
    expect((await runCli(config, ['plan', '--against', old, '--detailed-exitcode'])).code).toBe(0);
    writeFileSync(join(config, 'sites.yaml'), sitesYaml([{ id: 'alpha' }, { id: 'bravo' }]));
    const changed = await runCli(config, ['plan', '--against', old, '--detailed-exitcode']);
    expect(changed.code, changed.stderr).toBe(2);
    expect(changed.stdout).toContain('site bravo (new)');
    expect((await runCli(config, ['plan', '--against', old])).code).toBe(0);
    expect((await runCli(config, ['plan', '--against', old, '--detailed-exitcode', '--format', 'yaml'])).code).toBe(1);
    expect((await runCli(config, ['plan', '--against', old, '--detailed-exitcode', '--sites', 'missing.yaml'])).code).toBe(1);
  });
});
