import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeTables, withReadmeTables } from '../../../src/pipeline/cli/readme.js';

const README = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');

describe("the README's option tables", () => {
  it('are generated from the commands as built (run npm run docs when this fails)', async () => {
    for (const name of (await readmeTables()).keys()) {
      expect(README, `README.md has no <!-- options:${name} --> block`).toContain(`<!-- options:${name} -->\n`);
    }
    expect(await withReadmeTables(README)).toBe(README);
  });

  it('list what each command really takes', async () => {
    const tables = await readmeTables();
    expect(tables.get('hook')).toContain('`AVIARY_TEARDOWN_GRACE`');
    expect(tables.get('publish')).toContain('`AVIARY_PUBLISH_MODE`');
    expect(tables.get('publish')).not.toContain('AVIARY_TABLE');
    expect(tables.get('ci')).toContain('`--against` (plan)');
  });
});
