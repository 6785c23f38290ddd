// Rewrites the README's generated option tables from the built CLI (npm run docs).
import { readFileSync, writeFileSync } from 'node:fs';
import { withReadmeTables } from '../lib/pipeline/cli/readme.js';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = await withReadmeTables(before);
if (after !== before) writeFileSync(path, after);
console.log(after === before ? 'README.md: tables up to date' : 'README.md: tables rewritten');
