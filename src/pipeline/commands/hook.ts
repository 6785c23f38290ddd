import type { Command } from 'commander';

/** Not built yet: see the open issues. */
export function register(_program: Command): void {}
