#!/usr/bin/env node
// The `aviary` executable. Everything else lives in cli/main.ts, which has no side effects when imported.
import { setFlagsFromString } from 'node:v8';
import { main } from './cli/main.js';
import { maskStream, registerEnvironmentSecrets } from './shared/mask.js';
import { secretVariables } from './options/catalogue.js';

const HEAP_GROWING_PERCENT = 25;

// V8 otherwise lets the heap grow up to four times what is alive before it
// collects: synthesizing 100,000 sites keeps under 400 MB alive but peaked at
// 1.35 GB. A smaller growth step keeps the peak near what is used, at a few
// more collections (`npm run bench:layout`). A `node --heap-growing-percent=N` of one's own wins.
if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

// The AWS SDK warns on every run under Node 20 (end of life April 2026), which
// the README's requirements already say; a CI log should carry Aviary's lines only.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// One mask for everything printed, whoever prints it: Aviary's messages, a stack trace, a library's debug log.
registerEnvironmentSecrets(process.env, secretVariables());
maskStream(process.stdout);
maskStream(process.stderr);
// `aviary plan | head -1`: a reader that has had enough is no error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(Number(process.exitCode ?? 0));
  });
}
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
