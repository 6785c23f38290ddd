// Rewrites the generated option tables in README.md and docs/*.md from the built CLI (npm run docs).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { withReadmeTables } from '../lib/pipeline/cli/readme.js';

const root = new URL('..', import.meta.url);
const files = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
for (const file of files) {
  const path = new URL(file, root);
  const before = readFileSync(path, 'utf8');
  const after = await withReadmeTables(before);
  if (after !== before) writeFileSync(path, after);
  console.log(`${file}: ${after === before ? 'tables up to date' : 'tables rewritten'}`);
}
