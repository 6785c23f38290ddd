import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_SITE_CONCURRENCY } from '../hook/each-site.js';

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
