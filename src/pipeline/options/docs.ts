import { ciSettings, flagName, OPTIONS, type CiCommand, type OptionName, type OptionSpec } from './catalogue.js';

/** The catalogue as documentation: the README's tables and `aviary ci --help`. */

const code = (s: string) => `\`${s}\``;
const cell = (s: string) => s.replaceAll('|', '\\|');

function commandsText(commands: readonly CiCommand[]): string {
  return commands.length === 3 ? 'all' : commands.join(', ');
}

/** `| setting (Drone / action) | commands | becomes | meaning |`, one row per CI setting. */
export function ciSettingsTable(): string {
  const rows = ciSettings().map((s) => {
    const spelled = s.name.includes('_') ? `${code(s.name)} / ${code(s.name.replaceAll('_', '-'))}` : code(s.name);
    const becomes = s.targets
      .map((t) => {
        const to = t.target === undefined ? 'read by aviary ci' : 'env' in t.target ? code(t.target.env) : code(t.target.flag);
        return s.targets.length > 1 ? `${to} (${t.commands.join(', ')})` : to;
      })
      .join(', ');
    return `| ${spelled} | ${commandsText(s.commands)} | ${becomes} | ${cell(s.help)}${s.secret ? ' (secret)' : ''} |`;
  });
  return ['| setting (Drone / action) | commands | becomes | |', '|---|---|---|---|', ...rows].join('\n');
}

/** The CI settings as plain text, for `aviary ci --help`. */
export function ciSettingsHelp(): string {
  const lines = ciSettings().map((s) => `  ${s.name.padEnd(22)} ${s.help}${s.secret ? ' (secret)' : ''} [${commandsText(s.commands)}]`);
  return `\nSettings (Drone: PLUGIN_<NAME>; GitHub Actions: the input of the same name in kebab-case):\n${lines.join('\n')}`;
}

/** `| flag | variable | default | |` for the given settings, in order. */
export function optionsTable(names: readonly OptionName[]): string {
  const rows = names.map((name) => {
    const s: OptionSpec = OPTIONS[name];
    const flag = s.flag ? code(s.flag.includes('<') ? `${flagName(s)} ${s.flag.slice(s.flag.indexOf('<'))}` : s.flag) : '';
    return `| ${cell(flag)} | ${s.env ? code(s.env) : ''} | ${s.default !== undefined ? code(String(s.default)) : ''} | ${cell(s.help)}${s.secret ? ' (secret)' : ''} |`;
  });
  return ['| flag | variable | default | |', '|---|---|---|---|', ...rows].join('\n');
}
