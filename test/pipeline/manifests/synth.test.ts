import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ManifestFile } from '../../../src/charts/render.js';
import { synth } from '../../../src/pipeline/manifests/synth.js';
import { writeDist } from '../../../src/pipeline/manifests/write-dist.js';
import { runCliSync } from '../../support/cli.js';
import { REPO_ROOT, tempDir } from '../../support/fixtures.js';
import { changedPaths, filesUnder, shardFile } from '../../support/manifests.js';

const GREEN = '216c0204a7f3e9d8c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4';
const NEW_GREEN = 'c'.repeat(64);

let work: string;
const inputs = () => ({ sites: join(work, 'sites.yaml'), canary: join(work, 'canary.yaml') });
const edit = (file: string, from: string | RegExp, to: string) => {
  const path = join(work, file);
  const text = readFileSync(path, 'utf8');
  const next = text.replace(from, to);
  expect(next).not.toBe(text);
  writeFileSync(path, next);
};
const runCli = (...args: string[]) => runCliSync(args, { cwd: work });

beforeEach(() => {
  work = tempDir('aviary-synth-');
  cpSync(join(REPO_ROOT, 'sites.yaml'), join(work, 'sites.yaml'));
  cpSync(join(REPO_ROOT, 'canary.yaml'), join(work, 'canary.yaml'));
});

/** The example's sites' web-tier shard files (of the default 32). */
const EXAMPLE_IDS = ['harbor-cafe', 'maple-dental', 'north-trail', 'quill-press', 'rrr', 'studio-lumen'];
const EXAMPLE_SHARDS = [...new Set(EXAMPLE_IDS.map((id) => shardFile(id)))].sort();
/** argocd 3 (project, services, sites), services 5 (blue, green, canary-env, preview-certificate, web-account), the shards, one file per site. */
const EXAMPLE_FILES = 3 + 5 + EXAMPLE_SHARDS.length + EXAMPLE_IDS.length;

describe('synth', () => {
  it('writes the layout of the design', () => {
    synth(inputs(), join(work, 'dist'));
    expect([...filesUnder(join(work, 'dist')).keys()].sort()).toEqual([
      'argocd/project.yaml',
      'argocd/services.yaml',
      'argocd/sites.yaml',
      'services/blue.yaml',
      'services/canary-env.yaml',
      'services/green.yaml',
      'services/preview-certificate.yaml',
      ...EXAMPLE_SHARDS,
      'services/web-account.yaml',
      'sites/harbor-cafe/harbor-cafe.yaml',
      'sites/maple-dental/maple-dental.yaml',
      'sites/north-trail/north-trail.yaml',
      'sites/quill-press/quill-press.yaml',
      'sites/rrr/rrr.yaml',
      'sites/studio-lumen/studio-lumen.yaml',
    ]);
  });

  it('is deterministic: two synths give identical bytes', () => {
    synth(inputs(), join(work, 'a'));
    synth(inputs(), join(work, 'b'));
    const a = filesUnder(join(work, 'a'));
    expect(a.size).toBe(EXAMPLE_FILES);
    expect(changedPaths(a, filesUnder(join(work, 'b')))).toEqual([]);
  });

  it('is local: changing one site changes only that site’s files', () => {
    synth(inputs(), join(work, 'dist'));
    const before = filesUnder(join(work, 'dist'));
    edit('sites.yaml', 'theme: kadence', 'theme: neve');
    synth(inputs(), join(work, 'dist'));
    expect(changedPaths(before, filesUnder(join(work, 'dist')))).toEqual(['sites/north-trail/north-trail.yaml']);
  });

  it('is local: a new green image changes the services files and the green sites, nothing else', () => {
    synth(inputs(), join(work, 'dist'));
    const before = filesUnder(join(work, 'dist'));
    edit('canary.yaml', GREEN, NEW_GREEN);
    synth(inputs(), join(work, 'dist'));
    const after = filesUnder(join(work, 'dist'));
    // Sites whose `service` is green: harbor-cafe (ingress blue), north-trail, quill-press.
    expect(changedPaths(before, after)).toEqual([
      'services/canary-env.yaml',
      'services/green.yaml',
      'sites/harbor-cafe/harbor-cafe.yaml',
      'sites/north-trail/north-trail.yaml',
      'sites/quill-press/quill-press.yaml',
    ]);
    expect(after.get('services/green.yaml')).toContain(`wp-fleet@sha256:${NEW_GREEN}`);
    // Renaming nothing: the same set of files exists.
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  });

  it('gives back byte-identical manifests when an input change is reverted', () => {
    synth(inputs(), join(work, 'dist'));
    const before = filesUnder(join(work, 'dist'));
    const original = readFileSync(join(work, 'sites.yaml'), 'utf8');
    edit('sites.yaml', 'service: blue', 'service: green');
    synth(inputs(), join(work, 'dist'));
    expect(changedPaths(before, filesUnder(join(work, 'dist')))).not.toEqual([]);
    writeFileSync(join(work, 'sites.yaml'), original);
    synth(inputs(), join(work, 'dist'));
    expect(changedPaths(before, filesUnder(join(work, 'dist')))).toEqual([]);
  });

  it('removes the files of a removed site', () => {
    synth(inputs(), join(work, 'dist'));
    edit('sites.yaml', /  - id: studio-lumen[\s\S]*?service: blue\n/, '');
    synth(inputs(), join(work, 'dist'));
    expect(existsSync(join(work, 'dist/sites/studio-lumen'))).toBe(false);
    expect(existsSync(join(work, 'dist/sites/rrr/rrr.yaml'))).toBe(true);
  });

  it('leaves the previous dist untouched when writing fails part-way, and no staging folder behind', () => {
    synth(inputs(), join(work, 'dist'));
    const before = filesUnder(join(work, 'dist'));
    function* failing(): Generator<ManifestFile> {
      yield { path: 'services/blue.yaml', content: 'changed\n' };
      throw new Error('disk full');
    }
    expect(() => writeDist(join(work, 'dist'), failing())).toThrow('disk full');
    expect(changedPaths(before, filesUnder(join(work, 'dist')))).toEqual([]);
    expect(readdirSync(work).sort()).toEqual(['canary.yaml', 'dist', 'sites.yaml']);
  });
});

describe('updating an existing dist', () => {
  it('rewrites only the files that change; the others keep their inode and mtime', () => {
    synth(inputs(), join(work, 'dist'));
    const unchanged = statSync(join(work, 'dist/sites/rrr/rrr.yaml'));
    const changed = statSync(join(work, 'dist/sites/north-trail/north-trail.yaml'));
    edit('sites.yaml', 'theme: kadence', 'theme: neve');
    synth(inputs(), join(work, 'dist'));
    const after = statSync(join(work, 'dist/sites/rrr/rrr.yaml'));
    expect([after.ino, after.mtimeMs]).toEqual([unchanged.ino, unchanged.mtimeMs]);
    expect(statSync(join(work, 'dist/sites/north-trail/north-trail.yaml')).ino).not.toBe(changed.ino);
  });

  it('drops temporary files an interrupted run left behind, and stray files', () => {
    synth(inputs(), join(work, 'dist'));
    const before = filesUnder(join(work, 'dist'));
    writeFileSync(join(work, 'dist/sites/rrr/rrr.yaml.aviary-tmp'), 'half');
    writeFileSync(join(work, 'dist/services/old.yaml'), 'kind: Old\n');
    synth(inputs(), join(work, 'dist'));
    expect(changedPaths(before, filesUnder(join(work, 'dist')))).toEqual([]);
  });
});

describe('reuse of unchanged site files', () => {
  it('gives the same bytes as a fresh synth, before and after an edit', () => {
    synth(inputs(), join(work, 'dist'));
    edit('sites.yaml', 'theme: kadence', 'theme: neve');
    synth(inputs(), join(work, 'dist'));
    synth(inputs(), join(work, 'fresh'), { reuse: false });
    expect(changedPaths(filesUnder(join(work, 'fresh')), filesUnder(join(work, 'dist')))).toEqual([]);
  });

  it('reuses a file whose recorded input hash matches, and --fresh renders it again', () => {
    synth(inputs(), join(work, 'dist'));
    const file = join(work, 'dist/sites/rrr/rrr.yaml');
    const [header] = readFileSync(file, 'utf8').split('\n', 1);
    expect(header).toMatch(/^# Generated by Aviary .* inputs: [0-9a-f]{16}$/);
    // A body that no render would produce, under the right header: only reuse can keep it.
    writeFileSync(file, `${header}\nkind: Marker\n`);
    synth(inputs(), join(work, 'dist'));
    expect(readFileSync(file, 'utf8')).toBe(`${header}\nkind: Marker\n`);
    expect(runCli('synth', '--fresh').code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('kind: Ingress');
  });

  it('renders a site again when anything it is made from changes', () => {
    synth(inputs(), join(work, 'dist'));
    const headerOf = (id: string) => readFileSync(join(work, `dist/sites/${id}/${id}.yaml`), 'utf8').split('\n', 1)[0];
    const before = { rrr: headerOf('rrr'), north: headerOf('north-trail') };
    edit('canary.yaml', 'className: nginx', 'className: traefik');
    synth(inputs(), join(work, 'dist'));
    expect(headerOf('rrr')).not.toBe(before.rrr);
    expect(readFileSync(join(work, 'dist/sites/rrr/rrr.yaml'), 'utf8')).toContain('ingressClassName: traefik');
    expect(headerOf('north-trail')).not.toBe(before.north);
  });
});

describe('the CLI', () => {
  it('synth writes dist/ and says what it did', () => {
    const r = runCli('synth');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Synthesized 6 site\\(s\\) into dist/ \\(${EXAMPLE_FILES} files`));
    expect(filesUnder(join(work, 'dist')).size).toBe(EXAMPLE_FILES);
  });

  it('invalid input: exit 1, every problem listed with file:line:column, previous dist untouched', () => {
    expect(runCli('synth').code).toBe(0);
    const before = filesUnder(join(work, 'dist'));
    const mtime = statSync(join(work, 'dist/sites/rrr/rrr.yaml')).mtimeMs;
    edit('sites.yaml', 'service: blue', 'service: red');
    edit('canary.yaml', GREEN, 'latest');
    const r = runCli('synth');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sites.yaml:9:14: sites[0].service: "red" is not a color');
    expect(r.stderr).toContain('canary.yaml:9:15: services.green.imageTag: "latest" is not a sha256 digest');
    expect(r.stderr).toContain('nothing was written');
    expect(changedPaths(before, filesUnder(join(work, 'dist')))).toEqual([]);
    expect(statSync(join(work, 'dist/sites/rrr/rrr.yaml')).mtimeMs).toBe(mtime);
  });

  it('validate --json reports problems for machines', () => {
    edit('sites.yaml', 'id: rrr', 'id: RRR');
    const r = runCli('validate', '--json');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(false);
    expect(out.problems).toEqual([expect.objectContaining({ file: 'sites.yaml', line: 4, column: 9, path: 'sites[0].id' })]);
  });

  it('exits 2 on a usage error', () => {
    const r = runCli('synth', '--no-such-flag');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option/);
  });

  it('honours CDK8S_OUTDIR, the output variable of cdk8s apps', () => {
    const r = runCliSync(['synth'], { cwd: work, env: { CDK8S_OUTDIR: 'out-by-cdk8s' } });
    expect(r.code).toBe(0);
    expect(filesUnder(join(work, 'out-by-cdk8s')).size).toBe(EXAMPLE_FILES);
  });
});

describe('the committed example', () => {
  it('dist/ in the repository equals a fresh synth of sites.yaml and canary.yaml', () => {
    synth({ sites: join(REPO_ROOT, 'sites.yaml'), canary: join(REPO_ROOT, 'canary.yaml') }, join(work, 'fresh'));
    const committed = filesUnder(join(REPO_ROOT, 'dist'));
    expect(committed.size).toBeGreaterThan(0);
    expect(changedPaths(committed, filesUnder(join(work, 'fresh'))), 'run `npm run synth` and commit dist/').toEqual([]);
    // And git agrees that dist/ is committed as it is.
    const status = execFileSync('git', ['status', '--porcelain', '--', 'dist'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(status, 'dist/ has uncommitted changes').toBe('');
  });
});
