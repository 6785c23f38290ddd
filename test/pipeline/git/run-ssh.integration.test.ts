// SSH remotes: git's own ssh transport, with GIT_SSH_COMMAND pointing at a
// stand-in for ssh that runs the remote's git-upload-pack / git-receive-pack
// here (no sshd on a CI machine). What is tested is that Aviary hands the
// operator's GIT_SSH_COMMAND to git for the manifests repo and the config repo.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { scratchDir, sitesYaml } from '../../support/fixtures.js';
import { bareRepo, commitInputs, configRepo, git, treeAt } from '../../support/git.js';

const root = scratchDir('aviary-ssh-');

/** `ssh [host] [command]` (GIT_SSH_VARIANT=simple): records the host, runs the command locally. */
function fakeSsh(): { env: NodeJS.ProcessEnv; hosts: () => string[] } {
  const script = join(root, 'fake-ssh');
  const log = join(root, 'ssh.log');
  writeFileSync(script, `#!/bin/sh\necho "$1" >> '${log}'\nshift\nexec sh -c "$*"\n`);
  chmodSync(script, 0o755);
  writeFileSync(log, '');
  return {
    env: { GIT_SSH_COMMAND: script, GIT_SSH_VARIANT: 'simple' },
    hosts: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}

describe('SSH remotes', () => {
  it('publishes to an ssh:// manifests repo and pushes a rollback to an scp-style config remote through GIT_SSH_COMMAND', { timeout: 120_000 }, async () => {
    const ssh = fakeSsh();
    const manifests = await bareRepo(join(root, 'manifests.git'));
    const origin = await bareRepo(join(root, 'config.git'));
    const dir = await configRepo(join(root, 'config'), sitesYaml([{ id: 'alpha' }]));
    await git(dir, 'remote', 'add', 'origin', `git@config.example.com:${origin}`);
    await git(dir, 'config', 'branch.main.remote', 'origin');
    await git(dir, 'config', 'branch.main.merge', 'refs/heads/main');
    const repo = `ssh://git@manifests.example.com${manifests}`;

    const first = await runCli(dir, ['publish', '--repo', repo], ssh.env);
    expect(first.code, first.stderr).toBe(0);
    expect([...(await treeAt(manifests, 'main')).keys()]).toContain('sites/alpha/alpha.yaml');

    await commitInputs(dir, 'add bravo', sitesYaml([{ id: 'alpha' }, { id: 'bravo' }]));
    const back = await runCli(dir, ['rollback', '--repo', repo], ssh.env);
    expect(back.code, back.stderr).toBe(0);
    expect((await git(origin, 'log', '-1', '--format=%s', 'main')).trim()).toBe('Revert "add bravo"');
    expect([...(await treeAt(manifests, 'main')).keys()]).not.toContain('sites/bravo/bravo.yaml');
    expect(new Set(ssh.hosts())).toEqual(new Set(['git@manifests.example.com', 'git@config.example.com']));
  });

  it('fails with exit 3 and git\'s reason when the SSH command fails', { timeout: 60_000 }, async () => {
    const dir = await configRepo(join(root, 'broken'), sitesYaml([{ id: 'alpha' }]));
    const r = await runCli(dir, ['publish', '--repo', 'ssh://git@manifests.example.com/nowhere.git'], { GIT_SSH_COMMAND: 'false', GIT_SSH_VARIANT: 'simple' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/git: .*Could not read from remote repository/s);
  });
});
