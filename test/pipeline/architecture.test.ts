// The layout of src/pipeline is its architecture (docs/development.md, "Architecture"):
// each part imports only the parts below it, so no part can reach back up
// into the command line, and the model never imports cdk8s.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const PIPELINE = join(ROOT, 'src/pipeline');
/** Top to bottom: a part may import the parts after it. */
const PARTS = ['cli', 'ci', 'options', 'stages', 'publish', 'config-repo', 'hook', 'manifests', 'git', 'shared'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => normalize(join(dirname(file), m[1]!)));
}

function partOf(file: string): string | undefined {
  const top = relative(PIPELINE, file).split('/')[0]!;
  return top === 'cli.ts' ? 'cli' : PARTS.includes(top) ? top : undefined;
}

describe('src/pipeline layout', () => {
  it('has every file in a named part', () => {
    expect(sources(PIPELINE).filter((f) => partOf(f) === undefined).map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('each part imports only the parts below it', () => {
    const upward: string[] = [];
    for (const file of sources(PIPELINE)) {
      const me = PARTS.indexOf(partOf(file)!);
      for (const target of importsOf(file)) {
        const other = target.startsWith(PIPELINE) ? PARTS.indexOf(partOf(target) ?? '') : -1;
        if (other >= 0 && other < me) upward.push(`${relative(ROOT, file)} → ${relative(ROOT, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('the model imports no cdk8s and nothing of the pipeline; charts do no I/O', () => {
    for (const file of sources(join(ROOT, 'src/sites'))) {
      const text = readFileSync(file, 'utf8');
      expect(text, relative(ROOT, file)).not.toMatch(/from '(cdk8s|cdk8s-plus-27|constructs)'|\/pipeline\//);
    }
    for (const file of sources(join(ROOT, 'src/charts'))) {
      expect(readFileSync(file, 'utf8'), relative(ROOT, file)).not.toMatch(/from 'node:(fs|child_process|net|http|https)'|\/pipeline\//);
    }
  });
});
