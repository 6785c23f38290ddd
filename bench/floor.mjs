// A floor for synthesis: the same objects Aviary writes, already built, only
// serialized and written to the same layout. Usage: node floor.mjs json|yaml OBJECTS.json OUTDIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';

const [mode, objectsFile, out] = process.argv.slice(2);
const files = JSON.parse(readFileSync(objectsFile, 'utf8'));
const serialize = mode === 'json' ? (doc) => `${JSON.stringify(doc)}\n` : (doc) => stringify(doc);
const made = new Set();
for (const { path, docs } of files) {
  const dir = dirname(join(out, path));
  if (!made.has(dir)) mkdirSync(dir, { recursive: true }), made.add(dir);
  writeFileSync(join(out, path), docs.map(serialize).join('---\n'));
}
