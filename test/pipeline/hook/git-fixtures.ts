// Real git repositories for the "which sites" tests: a config repo holding
// sites.yaml / canary.yaml, and a bare manifests repo whose commits carry the
// Aviary-Source trailer the way `aviary publish` writes it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ENV = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_'))),
  GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.com',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8' }).trim();
}

/** Writes the files and commits them; returns the commit id. */
export function commitFiles(repo: string, files: Record<string, string>, message = 'change'): string {
  for (const [path, text] of Object.entries(files)) writeFileSync(join(repo, path), text);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '--allow-empty', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}

export function initRepo(dir = mkdtempSync(join(tmpdir(), 'aviary-config-'))): string {
  git(dir, 'init', '-q', '-b', 'main');
  return dir;
}

/** A bare manifests repo and a working clone of it to publish from. */
export function manifestsRepo(): { bare: string; publish: (source: string | undefined, branch?: string) => void } {
  const bare = mkdtempSync(join(tmpdir(), 'aviary-manifests-bare-'));
  git(bare, 'init', '-q', '--bare', '-b', 'main');
  const work = initRepo();
  let n = 0;
  return {
    bare,
    publish: (source, branch = 'main') => {
      git(work, 'checkout', '-q', '-B', branch);
      writeFileSync(join(work, 'n.txt'), String(++n));
      git(work, 'add', '-A');
      const message = source ? `Publish manifests\n\nAviary-Source: ${source}\n` : 'A hand-made fix\n';
      git(work, 'commit', '-q', '-m', message);
      git(work, 'push', '-q', bare, `HEAD:refs/heads/${branch}`);
    },
  };
}
