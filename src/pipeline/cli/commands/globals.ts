import { InvalidArgumentError, Option, type Command } from 'commander';
import ms from 'ms';
import { DEFAULT_SITE_CONCURRENCY } from '../../hook/each-site.js';

/** The options every command shares, set on the root `aviary` command. */
export interface GlobalOptions {
  readonly sites: string;
  readonly canary: string;
  readonly out: string;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Option parser for counts (`--confirm`, `--retries`, …): digits only. */
export function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

/** `--concurrency`: how many sites the hook works on at once (hook provision/teardown, pipeline). */
export function concurrencyOption(): Option {
  return new Option('--concurrency <n>', 'sites provisioned or torn down at once')
    .argParser((value) => {
      const n = wholeNumber(value);
      if (n < 1) throw new InvalidArgumentError('expected at least 1');
      return n;
    })
    .env('AVIARY_CONCURRENCY')
    .default(DEFAULT_SITE_CONCURRENCY);
}

/** Option parser for durations (`0`, `90s`, `30m`, `1h`, `2d`; bare digits are seconds) → milliseconds. */
export function duration(value: string): number {
  const text = value.trim();
  const n = /^\d+$/.test(text) ? Number(text) * 1000 : ms(text as ms.StringValue);
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a duration such as 0, 90s, 30m, 1h or 2d');
  return n;
}

/** How long a removed site keeps its data before its final backup and teardown. */
export const DEFAULT_TEARDOWN_GRACE = '1h';

/** `--teardown-grace`: how long a removed site keeps its data (hook teardown, pipeline). */
export function teardownGraceOption(): Option {
  return new Option('--teardown-grace <duration>', 'how long a removed site keeps its data before its final backup and teardown (0: at once)')
    .argParser(duration)
    .env('AVIARY_TEARDOWN_GRACE')
    .default(duration(DEFAULT_TEARDOWN_GRACE), DEFAULT_TEARDOWN_GRACE);
}

/** Argo CD, so a teardown waits until the site's objects are gone from the cluster; the token comes from AVIARY_ARGOCD_TOKEN only. */
export interface ArgoCdFlags {
  readonly argocdUrl?: string;
  readonly argocdWait: number;
}

export function argocdOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--argocd-url <url>', 'Argo CD, to wait until a removed site is gone from the cluster (token in AVIARY_ARGOCD_TOKEN)').env('AVIARY_ARGOCD_URL'))
    .addOption(new Option('--argocd-wait <duration>', 'how long to wait for Argo CD to remove a site').argParser(duration).env('AVIARY_ARGOCD_WAIT').default(duration('10m'), '10m'));
}
