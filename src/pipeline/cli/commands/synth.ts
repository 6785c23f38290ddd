import type { Command } from 'commander';
import { formatProblem, InvalidInputError } from '../../../sites/problems.js';
import { layoutWarnings } from '../../../sites/capacity.js';
import { note } from '../print.js';
import { loadFleet } from '../../../sites/load.js';
import { synth } from '../../manifests/synth.js';
import { globals, option } from '../options.js';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check sites.yaml and canary.yaml; report every problem with file, line and column')
    .addOption(option('json'))
    .action((opts: { json?: boolean }, cmd: Command) => {
      const { sites, canary } = globals(cmd);
      try {
        const fleet = loadFleet(sites, canary);
        const warnings = layoutWarnings(fleet);
        if (opts.json) console.log(JSON.stringify({ valid: true, sites: fleet.sites.length, problems: [], warnings }));
        else console.log(`${sites} and ${canary} are valid: ${fleet.sites.length} site(s), active canary ${fleet.canary.selector}.`);
        for (const warning of warnings) note(`warning: ${warning}`);
      } catch (error) {
        if (!(error instanceof InvalidInputError) || !opts.json) throw error;
        console.log(JSON.stringify({ valid: false, problems: error.problems }));
        process.stderr.write(`${error.problems.map(formatProblem).join('\n')}\n`);
        process.exitCode = 1;
      }
    });

  program
    .command('synth')
    .description('validate the inputs and write their manifests to --out, replacing it atomically')
    .option('--fresh', 'render every site again instead of reusing files whose inputs did not change')
    .addOption(option('json'))
    .action((opts: { json?: boolean; fresh?: boolean }, cmd: Command) => {
      const { sites, canary, out } = globals(cmd);
      const started = performance.now();
      const result = synth({ sites, canary }, out, { reuse: !opts.fresh });
      const ms = Math.round(performance.now() - started);
      if (opts.json) console.log(JSON.stringify({ out, sites: result.fleet.sites.length, files: result.files, ms }));
      else console.log(`Synthesized ${result.fleet.sites.length} site(s) into ${out}/ (${result.files} files, ${ms} ms).`);
    });
}
