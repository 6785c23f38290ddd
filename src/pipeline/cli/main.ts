import { Command, CommanderError } from 'commander';
import { errorReport, exitCodeOf } from '../shared/errors.js';
import { flagName, OPTIONS } from '../options/catalogue.js';
import { withOptions } from './options.js';
import { AVIARY_VERSION } from '../shared/version.js';

interface CommandGroup {
  /** The top-level commands the module registers. */
  readonly commands: readonly string[];
  readonly load: () => Promise<{ register(program: Command): void }>;
}

/**
 * Only the module of the command being run is loaded: cdk8s, the AWS SDK and
 * Octokit each take a noticeable part of a second to import, and most
 * commands need one of them at most.
 */
const GROUPS: readonly CommandGroup[] = [
  { commands: ['validate', 'synth'], load: () => import('./commands/synth.js') },
  { commands: ['site'], load: () => import('./commands/site.js') },
  { commands: ['canary'], load: () => import('./commands/canary.js') },
  { commands: ['publish', 'plan', 'history'], load: () => import('./commands/publish.js') },
  { commands: ['rollback', 'deploy'], load: () => import('./commands/rollback.js') },
  { commands: ['hook'], load: () => import('./commands/hook.js') },
  { commands: ['pipeline', 'ci'], load: () => import('./commands/pipeline.js') },
  { commands: ['verify'], load: () => import('./commands/verify.js') },
  { commands: ['rollout'], load: () => import('./commands/rollout.js') },
  { commands: ['status'], load: () => import('./commands/status.js') },
];

/** Global options that take a value, so their value is not mistaken for the command. */
const VALUED_OPTIONS = new Set(Object.values(OPTIONS).flatMap((s) => ('global' in s && s.flag.includes('<') ? [flagName(s)] : [])));

/** The `aviary` command line: global input options, then the command groups `argv` needs (all of them for help). */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = withOptions(new Command('aviary'), 'sites', 'canary', 'out')
    .description('GitOps manifests for a fleet of WordPress sites with blue/green canary services')
    .version(AVIARY_VERSION, '-V, --version', "print Aviary's version")
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const command = argv.find((arg, i) => !arg.startsWith('-') && !VALUED_OPTIONS.has(argv[i - 1]));
  const own = GROUPS.filter((group) => command !== undefined && group.commands.includes(command));
  for (const group of own.length > 0 ? own : GROUPS) (await group.load()).register(program);
  return program;
}

/** Runs the CLI and returns the exit status; the one place errors become messages. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv, { from: 'user' });
    // A command may report failure without throwing (e.g. `validate --json` prints its result, then exits 1).
    return Number(process.exitCode ?? 0);
  } catch (error) {
    // Under --detailed-exitcode 2 means "there are changes": every failure is 1, as with terraform plan.
    const failed = (code: number) => (code !== 0 && argv.includes('--detailed-exitcode') ? 1 : code);
    if (error instanceof CommanderError) return failed(error.exitCode === 0 ? 0 : 2);
    process.stderr.write(`${errorReport(error)}\n`);
    return failed(exitCodeOf(error));
  }
}
