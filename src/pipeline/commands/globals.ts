import { InvalidArgumentError, type Command } from 'commander';

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
