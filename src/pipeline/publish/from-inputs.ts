import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { renderFleet, type ManifestFile } from '../../charts/render.js';
import { loadFleet } from '../../sites/load.js';
import { authorOf, resolveInputs } from '../config-repo/inputs.js';
import { credentialsFrom } from '../git/credentials.js';
import { changesToward, diffFiles, normalisePrefix, readTree, trackedFiles } from '../git/sync.js';
import { normaliseRemote, WorkDir } from '../git/workdir.js';
import { writeDist } from '../manifests/write-dist.js';
import { readIfExists } from '../shared/files.js';
import { RENDER_SALT } from '../shared/version.js';
import { planOf, type Plan } from './plan.js';
import { publish, type PublishMode, type PublishResult } from './publish.js';

/** What `aviary publish`, `rollback` and `deploy` publish from: the input files and where the manifests go. */
export interface PublishInputsOptions {
  readonly sites: string;
  readonly canary: string;
  /** dist/: written as well, so it shows what was published. */
  readonly out: string;
  readonly repo: string;
  readonly branch: string;
  readonly path: string;
  /** Start `branch` when the repository has branches but not this one. @default false */
  readonly createBranch?: boolean;
  readonly mode: PublishMode;
  readonly workRoot: string;
  /** A token given as a flag; otherwise AVIARY_GIT_TOKEN. */
  readonly token?: string;
  readonly github: { readonly url: string; readonly repo?: string; readonly token?: string };
  /** The input commit; @default HEAD of the config repo holding the inputs */
  readonly source?: string;
  /** Publish inputs that differ from their commit, recording no input commit. */
  readonly allowDirty?: boolean;
  readonly log: (line: string) => void;
}

/** validate → synth (into `out`) → commit → push or pull request. */
export async function publishInputs(o: PublishInputsOptions): Promise<PublishResult> {
  const fleet = loadFleet(o.sites, o.canary);
  const origin = await resolveInputs([o.sites, o.canary], { source: o.source, allowDirty: o.allowDirty });
  if (!origin.source) o.log('note: --allow-dirty: the inputs are not a commit of the config repo, so this deploy names no input commit.');
  return publish(
    (previous) => {
      const files = renderFleet(fleet, { previous, salt: RENDER_SALT });
      writeDist(o.out, files);
      return files;
    },
    {
      repo: o.repo,
      branch: o.branch,
      path: o.path,
      createBranch: o.createBranch,
      mode: o.mode,
      workRoot: o.workRoot,
      credentials: credentialsFrom({ token: o.token }),
      source: origin.source,
      base: origin.base,
      configDir: origin.configDir,
      author: origin.source && origin.configDir ? await authorOf(origin.configDir, origin.source) : undefined,
      github: o.github,
      log: o.log,
    },
  );
}

export interface PlanInputsOptions {
  readonly sites: string;
  readonly canary: string;
  /** A manifests repository (URL or path), or a folder such as dist/. */
  readonly against: string;
  readonly branch: string;
  readonly path: string;
  readonly workRoot: string;
  readonly token?: string;
}

/** Renders the inputs and compares them with a manifests repo or a folder, writing nothing. */
export async function planInputs(o: PlanInputsOptions): Promise<Plan> {
  const fleet = loadFleet(o.sites, o.canary);
  const render = (previous: (path: string) => string | undefined): ManifestFile[] => renderFleet(fleet, { previous, salt: RENDER_SALT });
  const { against } = o;
  const isFolder = existsSync(against) && statSync(against).isDirectory() && !existsSync(join(against, '.git')) && !existsSync(join(against, 'HEAD'));
  if (isFolder) {
    const before = readTree(against);
    const old = new Map(before.map((f) => [f.path, f.content]));
    return planOf(diffFiles(before, render((path) => old.get(path))));
  }
  const prefix = normalisePrefix(o.path);
  const work = await WorkDir.open(o.workRoot, normaliseRemote(against, credentialsFrom({ token: o.token })));
  await work.resetTo(await work.fetch(o.branch));
  const tracked = await trackedFiles(work.git, prefix);
  const files = render((path) => (tracked.has(path) ? readIfExists(join(work.dir, prefix, path)) : undefined));
  const { changes, unmanaged } = changesToward(work.dir, prefix, tracked, files);
  return planOf(changes, unmanaged);
}
