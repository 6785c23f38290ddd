import { relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { RefusedError } from '../shared/errors.js';
import type { GitCredentials } from '../git/credentials.js';
import { configRemote, configRepo } from '../config-repo/inputs.js';
import { outsideGitError } from '../git/run.js';
import { normalisePrefix } from '../git/sync.js';
import { normaliseRemote, WorkDir } from '../git/workdir.js';
import { deployTarget } from '../publish/last-deploy.js';
import { siteOfFile } from '../../sites/names.js';

/**
 * A site's data may be deleted only when the site is gone everywhere a
 * deploy could bring it back from: (a) the inputs of this run, (b) the
 * config repo's remote default branch as fetched now, and (c) `--path` of
 * the manifests branch. Local files alone are not enough: a `sites.yaml`
 * emptied by mistake, another file passed with `--sites`, or an old
 * checkout must never drop a live site's database.
 */

export interface GateOptions {
  /** Ids declared in the inputs of this run. */
  readonly declared: ReadonlySet<string>;
  /** The config repository (top level) and the path of its sites.yaml. */
  readonly configDir: string;
  readonly sitesPath: string;
  readonly manifests: {
    readonly repo: string;
    readonly branch: string;
    readonly path: string;
    readonly workRoot: string;
    readonly credentials?: GitCredentials;
  };
}

/** For each of `ids` still declared or published somewhere: where (empty map: all gone everywhere). */
export async function whereStillLive(ids: readonly string[], options: GateOptions): Promise<Map<string, string[]>> {
  const live = new Map<string, string[]>();
  if (ids.length === 0) return live;
  const add = (id: string, where: string) => live.set(id, [...(live.get(id) ?? []), where]);
  const remote = await declaredOnConfigRemote(options.configDir, options.sitesPath);
  const published = await publishedSites(options.manifests, ids);
  for (const id of ids) {
    if (options.declared.has(id)) add(id, `declared in ${options.sitesPath}`);
    if (remote.ids.has(id)) add(id, `declared in ${remote.where}`);
    if (published.ids.has(id)) add(id, `published on ${published.where}`);
  }
  return live;
}

/** "still declared in sites.yaml on main of origin; published on main of …" */
export function describeLive(live: ReadonlyMap<string, readonly string[]>): string {
  return [...live].map(([id, where]) => `${id} (${where.join('; ')})`).join(', ');
}

/** Refuses (exit 1) when any of `ids` is still live, naming each and where. */
export function refuseLive(live: ReadonlyMap<string, readonly string[]>): void {
  if (live.size === 0) return;
  throw new RefusedError(
    `refusing to tear down ${describeLive(live)}: a site's data goes only once it is gone from the inputs, the config repo's remote ` +
      'and the manifests branch. Remove it there (and publish) first; nothing was deleted.',
  );
}

/**
 * The ids in sites.yaml on the default branch of the config repo's remote,
 * fetched now. A repository with no remote has no other copy: its HEAD is
 * read instead.
 */
async function declaredOnConfigRemote(configDir: string, sitesPath: string): Promise<{ ids: Set<string>; where: string }> {
  const git = configRepo(configDir);
  const rel = relative(configDir, resolve(sitesPath)).split('\\').join('/');
  const remote = await configRemote(configDir);
  let ref = 'HEAD';
  let where = `${rel} at HEAD of ${configDir} (it has no remote)`;
  if (remote) {
    try {
      const symref = await git.raw(['ls-remote', '--symref', remote, 'HEAD']);
      const branch = /^ref: refs\/heads\/(\S+)\s+HEAD/m.exec(symref)?.[1];
      if (!branch) throw new Error(`the remote ${remote} names no default branch (HEAD)`);
      ref = `refs/remotes/${remote}/${branch}`;
      await git.raw(['fetch', '-q', '--no-tags', remote, `+refs/heads/${branch}:${ref}`]);
      where = `${rel} on ${branch} of the config repo's remote ${remote}`;
    } catch (error) {
      throw outsideGitError(`reading the config repo's remote ${remote} to check that removed sites are gone there too (nothing was torn down)`, error);
    }
  }
  const text = await git.show([`${ref}:${rel}`]).catch(() => undefined);
  if (text === undefined) return { ids: new Set(), where };
  return { ids: idsIn(text, where), where };
}

/** Only the ids: a file that does not even say which sites it declares stops every teardown. */
function idsIn(text: string, where: string): Set<string> {
  const doc = parseDocument(text);
  const data = doc.errors.length ? undefined : (doc.toJS({ maxAliasCount: 100 }) as { sites?: unknown } | null);
  const sites = data?.sites ?? (data === null ? [] : undefined);
  if (!Array.isArray(sites)) throw new RefusedError(`cannot read the sites declared in ${where}; nothing was torn down`);
  return new Set(sites.map((s: { id?: unknown } | null) => s?.id).filter((id): id is string => typeof id === 'string'));
}

/** Which of `ids` have a site file (in any layout: see siteOfFile) in `--path` of the manifests branch, fetched now. */
async function publishedSites(manifests: GateOptions['manifests'], ids: readonly string[]): Promise<{ ids: Set<string>; where: string }> {
  const remote = normaliseRemote(manifests.repo, manifests.credentials);
  const prefix = normalisePrefix(manifests.path);
  const where = deployTarget(manifests.branch, remote.url, prefix);
  const work = await WorkDir.open(manifests.workRoot, remote);
  const head = await work.fetch(manifests.branch);
  if (!head) return { ids: new Set(), where };
  // One listing of the published folder, not one pathspec per site: site files lie under sites/ or,
  // with several clusters, under clusters/<name>/sites/; siteOfFile knows every layout.
  const under = prefix === '.' ? '' : `${prefix}/`;
  const files = (await work.git.raw(['ls-tree', '-r', '--name-only', head, ...(under ? ['--', under] : [])])).split('\n').filter(Boolean);
  const listed = new Set(files.map((p) => siteOfFile(p.slice(under.length))).filter((id): id is string => id !== undefined));
  return { ids: new Set(ids.filter((id) => listed.has(id))), where };
}
