import { Option, type Command } from 'commander';
import { loadFleet } from '../../../sites/load.js';
import { applicationOf, layoutOf } from '../../../sites/names.js';
import { COLORS, type Color } from '../../../sites/types.js';
import { credentialsFrom } from '../../git/credentials.js';
import { remoteHead } from '../../git/branches.js';
import { normaliseRemote } from '../../git/workdir.js';
import { argoCdTarget } from '../../publish/argocd.js';
import { ChecksFailedError, OutsideSystemError, UsageError } from '../../shared/errors.js';
import { plural } from '../../shared/words.js';
import { parseResolve, verifySites, type SiteVerdict } from '../../stages/verify.js';
import { answer } from '../print.js';
import { duration, globals, wholeNumber, withOptions } from '../options.js';
import { MANIFESTS_OPTIONS, targetOf } from '../publish-flags.js';

interface VerifyFlags {
  readonly color?: Color;
  readonly expectStatus: number;
  readonly expectText?: string;
  readonly budget: number;
  readonly resolve: string[];
  readonly connectTo: string[];
  readonly argocdUrl?: string;
  readonly argocdWait: number;
  readonly token?: string;
  readonly json?: boolean;
}

export function register(program: Command): void {
  withOptions(
    program
      .command('verify')
      .description('check that sites are served as published: an HTTP check of each, and with Argo CD its Application Synced at the published commit and Healthy')
      .argument('<ids...>', 'the sites to verify'),
    'repo',
    ...MANIFESTS_OPTIONS,
    { name: 'argocdUrl', help: "Argo CD, to wait until each site's Application is Synced at the published manifests commit and Healthy" },
    'argocdToken',
    { name: 'argocdWait', help: 'how long to wait for that' },
    'json',
  )
    .addOption(new Option('--color <color>', "verify the host that shows this color: the preview host for the site's service color, the public host for its traffic color").choices([...COLORS]))
    .addOption(new Option('--expect-status <code>', 'the HTTP status each page must answer').argParser(wholeNumber).default(200))
    .addOption(new Option('--expect-text <text>', 'text each page must contain'))
    .addOption(new Option('--budget <duration>', 'the longest a whole answer may take (90s, 500ms …)').argParser(duration).default(5000, '5s'))
    .addOption(new Option('--resolve <host:port:address>', 'connect to ADDRESS for requests to HOST on PORT, as curl does (repeatable)').argParser(collect).default([]))
    .addOption(new Option('--connect-to <host:port:address:port2>', 'connect to ADDRESS:PORT2 for requests to HOST on PORT, as curl does (repeatable)').argParser(collect).default([]))
    .addHelpText('after', '\nExit status: 0 every check passed, 1 a check failed (each named), 3 a site or Argo CD could not be reached.')
    .action(async (ids: string[], opts: VerifyFlags, cmd: Command) => {
      const g = globals(cmd);
      const fleet = loadFleet(g.sites, g.canary);
      const unknown = ids.filter((id) => !fleet.sites.some((s) => s.id === id));
      if (unknown.length) throw new UsageError(`not in ${g.sites}: ${unknown.join(', ')}`);
      const sites = ids.map((id) => fleet.sites.find((s) => s.id === id)!);
      const target = argoCdTarget({ url: opts.argocdUrl, project: fleet.canary.settings.argocd.project });
      let argocd;
      if (target) {
        const manifests = targetOf(cmd, fleet.canary, { readOnly: true });
        if (!manifests.repo) throw new UsageError('verifying with Argo CD compares with the published commit: pass --repo, or set argocd.repoURL in canary.yaml');
        const revision = await remoteHead(normaliseRemote(manifests.repo, credentialsFrom({ token: opts.token })), manifests.branch);
        const layout = layoutOf(fleet.canary.settings);
        argocd = { target, application: (site: (typeof sites)[number]) => applicationOf(site, layout), revision, waitMs: opts.argocdWait };
      }
      const verdicts = await verifySites(sites, fleet.canary, {
        expect: { status: opts.expectStatus, text: opts.expectText, budgetMs: opts.budget },
        color: opts.color,
        resolve: parseResolve(opts.resolve, opts.connectTo),
        argocd,
      });
      answer(opts.json, verdicts, () => verdicts.map(line).join('\n'));
      const unreachable = verdicts.filter((v) => v.outcome === 'unreachable');
      const failed = verdicts.filter((v) => v.outcome === 'failed');
      if (unreachable.length) throw new OutsideSystemError('HTTP', `verifying ${plural(sites.length, 'site')}`, new Error(`${unreachable.map((v) => v.id).join(', ')} could not be reached`));
      if (failed.length) throw new ChecksFailedError(`${plural(failed.length, 'site')} failed verification: ${failed.map((v) => v.id).join(', ')}`);
    });
}

function line(v: SiteVerdict): string {
  const head = `${v.outcome === 'ok' ? 'ok  ' : 'FAIL'} ${v.id}  ${v.url}${v.status !== undefined ? `  ${v.status} in ${v.ms} ms` : ''}${v.argocd ? `  (Application ${v.argocd.application}: ${v.argocd.sync}, ${v.argocd.health})` : ''}`;
  return [head, ...v.problems.map((p) => `       ${p}`)].join('\n');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
