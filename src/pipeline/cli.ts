#!/usr/bin/env node
// The `aviary` executable. Everything else lives in cli/main.ts, which has no side effects when imported.
import { main } from './cli/main.js';
import { maskStream, registerEnvironmentSecrets } from './shared/mask.js';
import { secretVariables } from './options/catalogue.js';

// One mask for everything printed, whoever prints it: Aviary's messages, a stack trace, a library's debug log.
registerEnvironmentSecrets(process.env, secretVariables());
maskStream(process.stdout);
maskStream(process.stderr);
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
