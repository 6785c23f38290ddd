import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/pipeline/cli/main.js';
import { ciSettings, OPTIONS, secretVariables, type OptionSpec } from '../../../src/pipeline/options/catalogue.js';

const SRC = join(import.meta.dirname, '../../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

async function command(path: string): Promise<Command> {
  let cmd = await buildProgram(path.split(' '));
  for (const word of path.split(' ')) cmd = cmd.commands.find((c) => c.name() === word)!;
  return cmd;
}

describe('the option catalogue', () => {
  it('names every AVIARY_ variable the code reads', () => {
    const read = new Set(sources(SRC).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\benv(?:\.|\[')(AVIARY_[A-Z_]+)/g)].map((m) => m[1]!)));
    const known = new Set((Object.values(OPTIONS) as OptionSpec[]).map((s) => s.env));
    expect(read.size).toBeGreaterThan(3);
    expect([...read].filter((name) => !known.has(name))).toEqual([]);
  });

  it('gives every CI setting a flag or variable the command it is passed to really has', async () => {
    const missing: string[] = [];
    for (const setting of ciSettings()) {
      for (const { commands, target } of setting.targets) {
        if (!target) continue;
        for (const name of commands) {
          const cmd = await command(name);
          // Variables are listed under "Environment" in the command's help (validate and plan read none).
          const ok = 'flag' in target ? [...cmd.options, ...cmd.parent!.options].some((o) => o.long === target.flag) : (await helpOf(name)).includes(target.env);
          if (!ok) missing.push(`${setting.name} → ${'flag' in target ? target.flag : target.env} (aviary ${name})`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('treats the password in a URL setting and every token as secrets, as each CI names them', () => {
    const names = secretVariables();
    for (const name of ['AVIARY_GIT_TOKEN', 'PLUGIN_TOKEN', 'INPUT_TOKEN', 'AVIARY_MYSQL_URL', 'INPUT_MYSQL-URL', 'INPUT_MYSQL_URL', 'AVIARY_ARGOCD_TOKEN', 'INPUT_ARGOCD-TOKEN', 'GITHUB_TOKEN', 'PLUGIN_AWS_SECRET_ACCESS_KEY']) {
      expect(names).toContain(name);
    }
    expect(names).not.toContain('AVIARY_TABLE');
  });

  it('passes secrets from CI as variables, never as flags (flags show in ps)', () => {
    for (const s of ciSettings().filter((s) => s.secret)) for (const t of s.targets) expect(t.target && 'env' in t.target, s.name).toBe(true);
  });
});

async function helpOf(path: string): Promise<string> {
  const cmd = await command(path);
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}
