// Builds action/aviary.mjs: the whole CLI and its dependencies in one file, so
// the GitHub Action runs it as it is (no npm ci, no tsc at use time).
// `npm run bundle` writes it; test/pipeline/cli/action.test.ts rebuilds it into a
// temporary file and fails when the committed one differs from src/.
// Usage: node scripts/bundle-action.mjs [OUTFILE]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));

await build({
  absWorkingDir: root,
  entryPoints: ['src/pipeline/cli/action.ts'],
  outfile: process.argv[2] ?? 'action/aviary.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The runner's node24; node20 syntax so the same file also runs where tests run.
  target: 'node20',
  minify: true,
  // Licence notices of the bundled packages stay, at the end of the file.
  legalComments: 'eof',
  // Bundled CommonJS packages require Node's built-ins.
  banner: { js: "import { createRequire as __aviaryRequire } from 'node:module'; const require = __aviaryRequire(import.meta.url);" },
  define: { __AVIARY_VERSION__: JSON.stringify(version), __AVIARY_BUNDLE__: 'true' },
  logLevel: 'warning',
});
