import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseFleet } from '../../sites/load.js';
import { Source } from '../../sites/source.js';
import type { Fleet, Site } from '../../sites/types.js';
import { OutsideSystemError, RefusedError } from '../shared/errors.js';
import { SOURCE_TRAILER } from '../publish/message.js';
import { gitIn } from '../git/run.js';
import { fetchHistory, hasCommit } from '../config-repo/inputs.js';
import { lastDeployedSource } from '../publish/last-deploy.js';

/** What the hooks should do for a deploy: provision the new sites, tear down the removed ones. */
export interface HookPlan {
  readonly provision: Site[];
  readonly teardown: string[];
}

/**
 * New and removed sites between the last published deploy and now. With no
 * previous deploy, every declared site is new and none is removed.
 */
export function hookPlan(previous: readonly Site[] | undefined, current: Fleet): HookPlan {
  const before = new Set((previous ?? []).map((s) => s.id));
  const now = new Set(current.sites.map((s) => s.id));
  return {
    provision: current.sites.filter((s) => !before.has(s.id)),
    teardown: [...before].filter((id) => !now.has(id)),
  };
}

/** Explicit ids for provision: each must be declared in sites.yaml. */
export function declaredSites(ids: readonly string[], fleet: Fleet, sitesFile: string): Site[] {
  const unknown = ids.filter((id) => !fleet.sites.some((s) => s.id === id));
  if (unknown.length > 0) {
    throw new RefusedError(`not declared in ${sitesFile}: ${unknown.join(', ')}; add the site(s) to ${sitesFile} before provisioning`);
  }
  return [...new Set(ids)].map((id) => fleet.sites.find((s) => s.id === id)!);
}

/** Explicit ids for teardown: none may still be declared, or its manifests would outlive its data. */
export function undeclaredIds(ids: readonly string[], fleet: Fleet, sitesFile: string): string[] {
  const declared = ids.filter((id) => fleet.sites.some((s) => s.id === id));
  if (declared.length > 0) {
    throw new RefusedError(
      `still declared in ${sitesFile}: ${declared.join(', ')}; remove the site(s) from ${sitesFile} (and publish) before tearing them down`,
    );
  }
  return [...new Set(ids)];
}

export interface LastDeployOptions {
  /** URL or path of the manifests repository. */
  readonly manifestsRepo: string;
  /** @default 'main' */
  readonly branch?: string;
  /** The folder of the manifests repo the fleet publishes to. @default '.' */
  readonly path?: string;
  /** The input files, in the config repository (the cwd's git repository). */
  readonly sitesPath: string;
  readonly canaryPath: string;
}

/**
 * The sites of the last published deploy: the newest commit of the manifests
 * branch that carries an `Aviary-Source` trailer names a config commit, and
 * sites.yaml is read at that commit. `undefined` when nothing was published yet.
 */
export async function lastDeployedSites(opts: LastDeployOptions): Promise<readonly Site[] | undefined> {
  const source = await lastDeployedSource(opts.manifestsRepo, opts.branch ?? 'main', { path: opts.path });
  if (!source) return undefined;
  return sitesAt(source, opts.sitesPath, opts.canaryPath);
}

/** Reads and validates sites.yaml (and canary.yaml) as they were at `sha` in the config repository. */
export async function sitesAt(sha: string, sitesPath: string, canaryPath: string): Promise<readonly Site[]> {
  const git = gitIn(dirname(resolve(sitesPath)));
  const top = (await git.revparse(['--show-toplevel'])).trim();
  if (!/^[0-9a-f]{7,64}$/i.test(sha)) {
    throw new OutsideSystemError('git', 'read the last deploy', new Error(`the ${SOURCE_TRAILER} trailer "${sha}" is not a commit id`));
  }
  if (!(await hasCommit(top, sha))) {
    // CI checkouts are often shallow: fetch the history that holds it before giving up.
    await fetchHistory(top, sha);
    if (!(await hasCommit(top, sha))) {
      throw new OutsideSystemError(
        'git',
        `read the inputs of the last deploy (commit ${sha})`,
        new Error(`commit ${sha} is not in the config repository ${top}; fetch its full history (e.g. fetch-depth: 0) and run again`),
      );
    }
  }
  const show = async (path: string): Promise<string | undefined> => {
    const rel = relative(top, resolve(path)).split('\\').join('/');
    return git.show([`${sha}:${rel}`]).catch(() => undefined);
  };
  const sitesText = await show(sitesPath);
  if (sitesText === undefined) return []; // the file did not exist yet: no sites then
  // Problems are reported against e.g. `sites.yaml@1a2b3c4d5e6f`, so nobody edits today's file to fix them.
  const at = sha.slice(0, 12);
  const canaryText = (await show(canaryPath)) ?? readFileSync(canaryPath, 'utf8');
  return parseFleet(new Source(`${sitesPath}@${at}`, sitesText), new Source(`${canaryPath}@${at}`, canaryText)).sites;
}
