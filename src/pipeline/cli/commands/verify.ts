import { Option, type Command } from 'commander';
import { loadFleet } from '../../../sites/load.js';
import { COLORS, type Color } from '../../../sites/types.js';
import { credentialsFrom } from '../../git/credentials.js';
import { remoteHead } from '../../git/branches.js';
import { normaliseRemote } from '../../git/workdir.js';
import { ChecksFailedError, OutsideSystemError, UsageError } from '../../shared/errors.js';
import { plural } from '../../shared/words.js';
import { verifySites } from '../../stages/verify.js';
import { verdictsText } from '../verdicts.js';
import { answer } from '../print.js';
import { globals, withOptions } from '../options.js';
import { MANIFESTS_OPTIONS, targetOf } from '../publish-flags.js';
import { VERIFY_SETTINGS, verifyOptionsOf, withVerifyFlags, type VerifyFlags } from '../verify-flags.js';

export function register(program: Command): void {
  withVerifyFlags(
    withOptions(
      program
        .command('verify')
        .description('check that sites are served as published: an HTTP check of each, and with Argo CD its Application Synced at the published commit and Healthy')
        .argument('<ids...>', 'the sites to verify'),
      'repo',
      ...MANIFESTS_OPTIONS,
      ...VERIFY_SETTINGS,
      'json',
    ),
  )
    .addOption(new Option('--color <color>', "verify the host that shows this color: the preview host for the site's service color, the public host for its traffic color").choices([...COLORS]))
    .addHelpText('after', '\nExit status: 0 every check passed, 1 a check failed (each named), 3 a site or Argo CD could not be reached.')
    .action(async (ids: string[], opts: VerifyFlags & { color?: Color; token?: string; json?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const fleet = loadFleet(g.sites, g.canary);
      const unknown = ids.filter((id) => !fleet.sites.some((s) => s.id === id));
      if (unknown.length) throw new UsageError(`not in ${g.sites}: ${unknown.join(', ')}`);
      const sites = ids.map((id) => fleet.sites.find((s) => s.id === id)!);
      const { argocd, ...http } = verifyOptionsOf(opts, fleet.canary);
      let revision: string | undefined;
      if (argocd) {
        const manifests = targetOf(cmd, fleet.canary, { readOnly: true });
        if (!manifests.repo) throw new UsageError('verifying with Argo CD compares with the published commit: pass --repo, or set argocd.repoURL in canary.yaml');
        revision = await remoteHead(normaliseRemote(manifests.repo, credentialsFrom({ token: opts.token })), manifests.branch);
      }
      const verdicts = await verifySites(sites, fleet.canary, { ...http, color: opts.color, ...(argocd ? { argocd: { ...argocd, revision } } : {}) });
      answer(opts.json, verdicts, () => verdictsText(verdicts));
      const unreachable = verdicts.filter((v) => v.outcome === 'unreachable');
      const failed = verdicts.filter((v) => v.outcome === 'failed');
      if (unreachable.length) throw new OutsideSystemError('HTTP', `verifying ${plural(sites.length, 'site')}`, new Error(`${unreachable.map((v) => v.id).join(', ')} could not be reached`));
      if (failed.length) throw new ChecksFailedError(`${plural(failed.length, 'site')} failed verification: ${failed.map((v) => v.id).join(', ')}`);
    });
}
