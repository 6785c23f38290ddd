import type { Command } from 'commander';
import { loadFleet } from '../../sites/load.js';
import { landGated, readyToGate } from '../stages/gate.js';
import { note } from './print.js';
import { globals, withOptions, type OptionUse } from './options.js';
import { MANIFESTS_OPTIONS, publishInputsOptions, requireRepo, targetOf, type PublishFlags } from './publish-flags.js';
import type { Canary, Site } from '../../sites/types.js';
import { applicationOf, layoutOf } from '../../sites/names.js';
import { argoCdTarget } from '../publish/argocd.js';
import { parseResolve, type VerifyPlan } from '../stages/verify.js';
import { verdictsText } from './verdicts.js';

/** The flags of `aviary verify` and of every `--verify` gate, as commander gives them. */
export interface VerifyFlags {
  readonly expectStatus: number;
  readonly expectText?: string;
  readonly budget: number;
  readonly resolve: string[];
  readonly connectTo: string[];
  readonly argocdUrl?: string;
  readonly argocdWait: number;
}

/** The catalogue's settings verification takes (Argo CD's, with verification's own words). */
export const VERIFY_SETTINGS: readonly OptionUse[] = [
  { name: 'argocdUrl', help: "Argo CD, to wait until each site's Application is Synced at the published manifests commit and Healthy" },
  'argocdToken',
  { name: 'argocdWait', help: 'how long to wait for that' },
];

/** What a page must answer, and where to connect: verification's own flags. */
export function withVerifyFlags(cmd: Command): Command {
  return withOptions(cmd, 'expectStatus', 'expectText', 'budget', 'resolve', 'connectTo');
}

/** The HTTP side of verification, and Argo CD's when a URL and token are set (the revision is the caller's to add). */
export function verifyOptionsOf(opts: VerifyFlags, canary: Canary): VerifyPlan {
  const target = argoCdTarget({ url: opts.argocdUrl, project: canary.settings.argocd.project });
  const layout = layoutOf(canary.settings);
  return {
    expect: { status: opts.expectStatus, text: opts.expectText, budgetMs: opts.budget },
    resolve: parseResolve(opts.resolve, opts.connectTo),
    ...(target ? { argocd: { target, application: (site: Site) => applicationOf(site, layout), waitMs: opts.argocdWait } } : {}),
  };
}

/**
 * `--verify` on an editing command: the edit is committed, pushed to the
 * config repo, published, and its sites verified; a failure reverts and
 * publishes the revert (stages/gate.ts). Takes publish's settings (where the
 * manifests go) and verification's.
 */
export function withGate(cmd: Command, { checkedByStage = false }: { /** The command's stage checks readyToGate itself (a rollout). */ readonly checkedByStage?: boolean } = {}): Command {
  // Checked before the edit is written: a refused gate leaves the files as they were.
  if (!checkedByStage) {
    cmd.hook('preAction', async (command) => {
      const opts = command.opts<{ verify?: boolean; dryRun?: boolean }>();
      if (opts.verify && !opts.dryRun) await readyToGate(globals(command));
    });
  }
  return withVerifyFlags(
    withOptions(
      cmd,
      { name: 'verify', help: 'commit, push and publish the edit, verify its sites, and revert it (pushed and published) if they fail' },
      'repo',
      ...MANIFESTS_OPTIONS,
      ...VERIFY_SETTINGS,
    ),
  );
}

export type GateFlags = VerifyFlags & Pick<PublishFlags, 'repo' | 'branch' | 'path' | 'token' | 'workDir'> & { readonly verify?: boolean };

/** Runs the gate for an edit already written (see withGate); prints the verdicts. */
export async function runGate(cmd: Command, opts: GateFlags, change: { readonly subject: string; readonly ids: readonly string[] }): Promise<void> {
  const g = globals(cmd);
  const fleet = loadFleet(g.sites, g.canary);
  // An editing command's own --force (capacity) says nothing about where the manifests go.
  const target = targetOf(cmd, fleet.canary, { force: false });
  requireRepo(target);
  const outcome = await landGated({ ...publishInputsOptions(g, opts, target), subject: change.subject, ids: change.ids, verify: verifyOptionsOf(opts, fleet.canary) });
  note(verdictsText(outcome.verdicts));
  note(`Verified: ${change.subject}.`);
}
