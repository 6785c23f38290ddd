import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeTables, withReadmeTables } from '../../../src/pipeline/cli/readme.js';

const ROOT = join(import.meta.dirname, '../../..');
/** The README and the reference pages under docs/, by path. */
const DOCS = new Map(
  ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)].map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]),
);

describe("the README's option tables", () => {
  it('are generated from the commands as built (run npm run docs when this fails)', async () => {
    const all = [...DOCS.values()].join('\n');
    for (const name of (await readmeTables()).keys()) {
      expect(all, `no <!-- options:${name} --> block in README.md or docs/`).toContain(`<!-- options:${name} -->\n`);
    }
    for (const [file, text] of DOCS) expect(await withReadmeTables(text), file).toBe(text);
  });

  it('links between the README and docs/ lead to a file and a heading that exist', () => {
    const slug = (h: string) => h.trim().toLowerCase().replace(/[^\w\- ]/g, '').replaceAll(' ', '-');
    const headings = new Map([...DOCS].map(([file, text]) => [file, new Set([...text.matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1]!)))]));
    for (const [file, text] of DOCS) {
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, anchor] = target!.split('#');
        const resolved = path ? posix.normalize(posix.join(posix.dirname(file), path)) : file;
        expect(existsSync(join(ROOT, resolved)), `${file}: ${target}`).toBe(true);
        if (anchor) expect(headings.get(resolved)?.has(anchor), `${file}: ${target}`).toBe(true);
      }
    }
  });

  it('list what each command really takes', async () => {
    const tables = await readmeTables();
    expect(tables.get('hook')).toContain('`AVIARY_TEARDOWN_GRACE`');
    expect(tables.get('publish')).toContain('`AVIARY_PUBLISH_MODE`');
    expect(tables.get('publish')).not.toContain('AVIARY_TABLE');
    expect(tables.get('ci')).toContain('`--against` (plan)');
  });
});
