import { Option, type Command } from 'commander';
import { loadFleet } from '../../../sites/load.js';
import { credentialsFrom } from '../../git/credentials.js';
import { argoCdTarget } from '../../publish/argocd.js';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { OutsideSystemError } from '../../shared/errors.js';
import { mask } from '../../shared/mask.js';
import { fleetStatus } from '../../stages/status.js';
import { answer, note } from '../print.js';
import { globals, wholeNumber, withOptions } from '../options.js';
import { MANIFESTS_OPTIONS, targetOf, type PublishFlags } from '../publish-flags.js';
import { statusPage } from '../status-page.js';
import { statusText } from '../status-text.js';

export function register(program: Command): void {
  withOptions(
    program.command('status').description("every site's colors, traffic, image and last deploy and, with Argo CD, its Application's sync and health"),
    { name: 'repo', help: 'the manifests repository to read last deploys and the deploy history from' },
    ...MANIFESTS_OPTIONS,
    { name: 'argocdUrl', help: "Argo CD, to show each site's Application sync and health (one request for the whole fleet)" },
    'argocdToken',
    'json',
    'html',
  )
    .addOption(new Option('-n, --limit <n>', 'how many deployments the history lists').argParser(wholeNumber).default(20))
    .action(async (opts: PublishFlags & { argocdUrl?: string; html?: string; limit: number }, cmd: Command) => {
      const g = globals(cmd);
      const fleet = loadFleet(g.sites, g.canary);
      const target = targetOf(cmd, fleet.canary, { readOnly: true });
      const argocd = argoCdTarget({ url: opts.argocdUrl, project: fleet.canary.settings.argocd.project });
      const status = await fleetStatus(fleet, {
        ...(target.repo
          ? { manifests: { repo: target.repo, branch: target.branch, path: target.path, limit: opts.limit, workRoot: opts.workDir, credentials: credentialsFrom({ token: opts.token }) } }
          : {}),
        ...(argocd ? { argocd } : {}),
      });
      if (opts.html) {
        writeFileAtomic(opts.html, mask(statusPage(status)));
        note(`Wrote ${opts.html}: ${status.sites.length} sites, ${status.history.length} deployments.`);
      }
      answer(opts.json, status, () => statusText(status));
      // Shown and written as far as it could be read; the exit status says it is incomplete.
      if (status.unavailable.length) throw new OutsideSystemError('status', 'reading every source', new Error(status.unavailable.join('; ')));
    });
}
