#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { formatProblem, InvalidInputError } from '../sites/problems.js';
import * as canary from './commands/canary.js';
import * as hook from './commands/hook.js';
import * as pipeline from './commands/pipeline.js';
import * as publish from './commands/publish.js';
import * as site from './commands/site.js';
import * as synth from './commands/synth.js';
import { exitCodeOf, OutsideSystemError, RefusedError, UsageError } from './errors.js';

/** The `aviary` command line: global input options, then one module per command group. */
export function buildProgram(): Command {
  const program = new Command('aviary')
    .description('GitOps manifests for a fleet of WordPress sites with blue/green canary services')
    .addOption(new Option('--sites <file>', 'the sites file').default('sites.yaml'))
    .addOption(new Option('--canary <file>', 'the canary and fleet settings file').default('canary.yaml'))
    .addOption(new Option('--out <dir>', 'where manifests are synthesized').env('CDK8S_OUTDIR').default('dist'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const group of [synth, site, canary, publish, hook, pipeline]) group.register(program);
  return program;
}

/** Runs the CLI and returns the exit status; the one place errors become messages. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    // A command may report failure without throwing (e.g. `validate --json` prints its result, then exits 1).
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof InvalidInputError) {
      process.stderr.write(`${error.problems.map(formatProblem).join('\n')}\n${error.problems.length} problem(s); nothing was written.\n`);
    } else if (error instanceof RefusedError || error instanceof UsageError || error instanceof OutsideSystemError) {
      process.stderr.write(`error: ${error.message}\n`);
    } else {
      process.stderr.write(`internal error (please report it): ${error instanceof Error ? error.stack : String(error)}\n`);
    }
    return exitCodeOf(error);
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
