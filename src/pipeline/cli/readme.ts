import type { Command } from 'commander';
import { ciSettingsTable, optionsTable } from '../options/docs.js';
import type { OptionName } from '../options/catalogue.js';
import { buildProgram } from './main.js';
import { settingsOf } from './options.js';

/**
 * The README's option tables, generated from the commands as they are
 * built: between `<!-- options:NAME -->` and `<!-- /options:NAME -->`.
 * `npm run docs` rewrites them; a test fails when they are stale.
 */
export async function readmeTables(): Promise<Map<string, string>> {
  const program = await buildProgram([]);
  const find = (path: string): Command => {
    let cmd = program;
    for (const word of path.split(' ')) cmd = cmd.commands.find((c) => c.name() === word)!;
    return cmd;
  };
  const names = (...paths: string[]): OptionName[] => {
    // --json is every command's; a hidden spelling is not advertised.
    const shown = paths.flatMap((p) => settingsOf(find(p)).flatMap((use) => (typeof use === 'string' ? [use] : use.hidden ? [] : [use.name])));
    return [...new Set(shown)].filter((n) => n !== 'json');
  };
  return new Map([
    ['publish', optionsTable(names('publish'))],
    ['hook', optionsTable(names('hook provision', 'hook teardown'))],
    ['pipeline', optionsTable(names('pipeline'))],
    ['ci', ciSettingsTable()],
  ]);
}

/** `readme` with every generated table replaced; unknown or unclosed markers are left as they are. */
export async function withReadmeTables(readme: string): Promise<string> {
  let text = readme;
  for (const [name, table] of await readmeTables()) {
    const pattern = new RegExp(`(<!-- options:${name} -->\\n)[\\s\\S]*?(<!-- /options:${name} -->)`);
    text = text.replace(pattern, (_m, open: string, close: string) => `${open}${table}\n${close}`);
  }
  return text;
}
