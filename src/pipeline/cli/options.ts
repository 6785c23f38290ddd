import { InvalidArgumentError, Option, type Command } from 'commander';
import ms from 'ms';
import { OPTIONS, type OptionName, type OptionSpec, type ValueKind } from '../options/catalogue.js';

/**
 * The catalogue's options as commander options. A command names the
 * settings it takes; each comes with its flag, variable, default, parser and
 * help from the catalogue. Variable-only settings (credentials) are listed
 * under "Environment" in the command's help.
 */

/** The options every command shares, set on the root `aviary` command. */
export interface GlobalOptions {
  readonly sites: string;
  readonly canary: string;
  readonly out: string;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** A setting, or a setting whose help says what it means for this command. */
export type OptionUse = OptionName | { readonly name: OptionName; readonly help?: string; readonly hidden?: boolean };

const used = new WeakMap<Command, OptionUse[]>();

/** The settings a command was given with `withOptions`, in order (for the README's tables). */
export function settingsOf(cmd: Command): readonly OptionUse[] {
  return used.get(cmd) ?? [];
}

/** Adds the named settings to `cmd`. */
export function withOptions(cmd: Command, ...uses: readonly OptionUse[]): Command {
  used.set(cmd, [...settingsOf(cmd), ...uses]);
  const variables: string[] = [];
  for (const use of uses) {
    const { name, help } = typeof use === 'string' ? { name: use, help: undefined } : use;
    const spec: OptionSpec = OPTIONS[name];
    if (spec.flag) cmd.addOption(option(use));
    else if (spec.env) variables.push(`  ${spec.env.padEnd(22)} ${help ?? spec.help}`);
  }
  if (variables.length > 0) cmd.addHelpText('after', `\nEnvironment:\n${variables.join('\n')}`);
  return cmd;
}

/** One setting with a flag, as a commander option. */
export function option(use: OptionUse): Option {
  const { name, help, hidden } = typeof use === 'string' ? { name: use } : use;
  const spec: OptionSpec = OPTIONS[name];
  if (!spec.flag) throw new Error(`${name} is a variable, not a flag`);
  return commanderOption(spec, help, hidden);
}

function commanderOption(spec: OptionSpec, help = spec.help, hidden = spec.hidden): Option {
  const option = new Option(spec.flag!, help);
  if (spec.env) option.env(spec.env);
  if (spec.choices) option.choices(spec.choices);
  if (spec.kind === 'list') option.argParser((value: string, previous: string[] = []) => [...previous, ...value.split(/[\s,]+/).filter(Boolean)]).default([]);
  const parse = spec.kind && spec.kind !== 'switch' && spec.kind !== 'list' ? PARSERS[spec.kind] : undefined;
  if (parse) option.argParser(parse);
  if (spec.default !== undefined) option.default(parse ? parse(String(spec.default)) : spec.default, String(spec.default));
  if (hidden) option.hideHelp();
  return option;
}

/** Counts (`--confirm`, `--retries`, …): digits only. */
export function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

/** Durations (`0`, `90s`, `30m`, `1h`, `2d`; bare digits are seconds) → milliseconds. */
export function duration(value: string): number {
  const text = value.trim();
  const n = /^\d+$/.test(text) ? Number(text) * 1000 : ms(text as ms.StringValue);
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a duration such as 0, 90s, 30m, 1h or 2d');
  return n;
}

const PARSERS: Record<Exclude<ValueKind, 'switch' | 'list'>, (value: string) => number> = {
  whole: wholeNumber,
  positive: (value) => {
    const n = wholeNumber(value);
    if (n < 1) throw new InvalidArgumentError('expected at least 1');
    return n;
  },
  duration,
};
