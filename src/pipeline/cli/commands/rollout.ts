import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadCanary } from '../../../sites/load.js';
import { ringProblem } from '../../../sites/rings.js';
import { COLORS, type Color } from '../../../sites/types.js';
import { plural } from '../../shared/words.js';
import { runRollout } from '../../stages/rollout.js';
import { answer, note } from '../print.js';
import { duration, globals, wholeNumber } from '../options.js';
import { publishInputsOptions, requireRepo, targetOf } from '../publish-flags.js';
import { verifyOptionsOf, withGate, type GateFlags } from '../verify-flags.js';

interface RolloutFlags extends GateFlags {
  readonly to: Color;
  readonly weight?: number;
  readonly rings: number[];
  readonly pause: number;
  readonly resume?: boolean;
  readonly force?: boolean;
  readonly maxPerRing: number;
  readonly json?: boolean;
}

export function register(program: Command): void {
  withGate(
    program
      .command('rollout')
      .description('promote the sites not yet on a color (or, with --weight, give it a share of their traffic) in growing rings of the fleet: one config commit, push and publish per ring, each verified with --verify (a failing ring is reverted and the rollout stops)')
      .addOption(new Option('--to <color>', 'the color to roll out (the active canary)').choices([...COLORS]).makeOptionMandatory())
      .addOption(new Option('--weight <percent>', "a canary step instead of a promotion: each site runs on the color (its database updated for it) and sends it this share of its public traffic; sites already sending as much keep theirs").argParser(percent))
      .addOption(new Option('--rings <percents>', 'cumulative percentages of the fleet, ending at 100').argParser(rings).default([1, 10, 50, 100], '1,10,50,100'))
      .addOption(new Option('--pause <duration>', 'wait between rings (90s, 30m …)').argParser(duration).default(0, '0'))
      .addOption(new Option('--max-per-ring <n>', 'commit a larger ring in parts of at most this many sites (their Jobs run at once)').argParser(wholeNumber).default(500))
      .option('--resume', 'after an interruption: push, publish and verify the last ring committed again, then go on')
      .option('--force', 'promote even when more than half of the traffic would end on a color that can run fewer pods than the one it leaves')
      .option('--json', 'machine-readable output on stdout'),
    { checkedByStage: true },
  ).action(async (opts: RolloutFlags, cmd: Command) => {
    const g = globals(cmd);
    const canary = loadCanary(g.canary);
    const target = targetOf(cmd, canary, { force: false });
    requireRepo(target);
    const result = await runRollout({
      ...publishInputsOptions(g, opts, target),
      to: opts.to,
      weight: opts.weight,
      rings: opts.rings,
      pauseMs: opts.pause,
      maxPerRing: Math.max(1, opts.maxPerRing),
      resume: opts.resume,
      force: opts.force,
      ...(opts.verify ? { verify: verifyOptionsOf(opts, canary) } : {}),
    });
    const sites = result.rings.flatMap((r) => r.sites);
    const step = opts.weight === undefined ? opts.to : `${opts.weight}% of public traffic to ${opts.to}`;
    const nothing = opts.weight === undefined ? `every site is on ${opts.to}` : `every site runs on ${opts.to} and sends it at least ${opts.weight}% of its traffic`;
    answer(opts.json, result, () => (sites.length ? `Rolled out ${step} to ${plural(sites.length, 'site')} in ${plural(result.rings.length, 'commit')}.` : `Nothing to roll out: ${nothing}.`));
    if (!opts.json && sites.length) note('Each ring is a commit of the config repo; `aviary history` lists their deploys.');
  });
}

function percent(value: string): number {
  const n = wholeNumber(value);
  if (n < 1 || n > 100) throw new InvalidArgumentError('expected a percentage from 1 to 100');
  return n;
}

function rings(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  const problem = ringProblem(list);
  if (problem) throw new InvalidArgumentError(problem);
  return list;
}
