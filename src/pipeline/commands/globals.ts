import type { Command } from 'commander';

/** The options every command shares, set on the root `aviary` command. */
export interface GlobalOptions {
  readonly sites: string;
  readonly canary: string;
  readonly out: string;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}
