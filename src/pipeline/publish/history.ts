import { parse } from 'yaml';
import { gitStep } from '../git/run.js';
import { SOURCE_TRAILER } from './message.js';
import { normalisePrefix } from '../git/sync.js';
import { normaliseRemote, WorkDir, type ManifestsRemote } from '../git/workdir.js';
import { isServicesFile, siteOfFile } from '../../sites/names.js';

/** A commit on the manifests branch, as a site's "last deploy" names it. */
export interface DeployRecord {
  /** The manifests commit. */
  readonly commit: string;
  /** The input commit in the config repo (the Aviary-Source trailer), when the commit has one. */
  readonly source?: string;
  readonly author: string;
  /** ISO 8601, when the commit was made (committer date). */
  readonly date: string;
  readonly subject: string;
}

/** One deployment: a commit on the manifests branch, with what it changed and the images it left. */
export interface Deployment extends DeployRecord {
  /** The image each color ran after this deployment. */
  readonly images: Readonly<Record<string, string>>;
  /** The active canary after this deployment. */
  readonly selector?: string;
  /** Sites whose manifests this deployment changed. */
  readonly sites: readonly string[];
  /** Whether it changed the shared services. */
  readonly services: boolean;
}

export interface HistoryOptions {
  readonly repo: string;
  readonly branch?: string;
  readonly path?: string;
  /** @default 20 */
  readonly limit?: number;
  readonly workRoot?: string;
  readonly credentials?: ManifestsRemote['credentials'];
}

/** The manifests branch read for `aviary status`: its head, its newest deployments, and each site's last one. */
export interface FleetHistory {
  /** Undefined when nothing was ever published. */
  readonly head?: string;
  /** The newest `limit` deployments, newest first. */
  readonly deployments: readonly Deployment[];
  /** Each site's newest deployment that changed its manifests (sites since removed included). */
  readonly lastBySite: ReadonlyMap<string, DeployRecord>;
}

const FIELD = '\x1f';
const RECORD = '\x1e';

/** The deployments on the manifests branch, newest first, read from a (full) fetch of it. */
export async function history(options: HistoryOptions): Promise<Deployment[]> {
  return [...(await readHistory(options, false)).deployments];
}

/** As history, and each site's last deployment: the whole branch's log is read (names only), once. */
export function fleetHistory(options: HistoryOptions): Promise<FleetHistory> {
  return readHistory(options, true);
}

async function readHistory(options: HistoryOptions, everySite: boolean): Promise<FleetHistory> {
  const branch = options.branch ?? 'main';
  const limit = options.limit ?? 20;
  const prefix = normalisePrefix(options.path ?? '.');
  const work = await WorkDir.open(options.workRoot ?? '.aviary/manifests', normaliseRemote(options.repo, options.credentials));
  const head = await work.fetch(branch, { full: true });
  if (!head) return { deployments: [], lastBySite: new Map() };
  const format = ['%H', '%an <%ae>', '%cI', '%s', `%(trailers:key=${SOURCE_TRAILER},valueonly,separator=%x2C)`].join('%x1f');
  const log = await gitStep('reading the manifests history', () =>
    work.git.raw(['log', ...(everySite ? [] : [`-n${limit}`]), `--format=%x1e${format}%x1f`, '--name-only', head, '--', prefix]),
  );
  const under = prefix === '.' ? '' : `${prefix}/`;
  const entries = log.split(RECORD).filter((r) => r.trim()).map((record) => {
    const [commit = '', author = '', date = '', subject = '', source = '', names = ''] = record.split(FIELD);
    const paths = names.split('\n').filter(Boolean).map((p) => p.slice(under.length));
    const deploy: DeployRecord = { commit, ...(source.trim() ? { source: source.trim().split(',')[0]! } : {}), author, date, subject };
    return { deploy, sites: [...new Set(paths.map(siteOfFile).filter((s): s is string => Boolean(s)))].sort(), services: paths.some(isServicesFile) };
  });
  const lastBySite = new Map<string, DeployRecord>();
  for (const { deploy, sites } of entries) for (const id of sites) if (!lastBySite.has(id)) lastBySite.set(id, deploy);
  const newest = entries.slice(0, limit);
  const state = await imagesAt(work, newest.map((e) => e.deploy.commit), under);
  const deployments = newest.map(({ deploy, sites, services }) => {
    const at = state.get(deploy.commit);
    return { ...deploy, images: at?.images ?? {}, ...(at?.selector ? { selector: at.selector } : {}), sites, services };
  });
  return { head, deployments, lastBySite };
}

/**
 * The image per color and the canary selector at each commit, from one
 * `git grep` over all of them: the Deployments' `image:` lines and the
 * canary-env ConfigMap.
 */
async function imagesAt(work: WorkDir, commits: readonly string[], under: string): Promise<Map<string, { images: Record<string, string>; selector?: string }>> {
  const out = new Map<string, { images: Record<string, string>; selector?: string }>();
  if (commits.length === 0) return out;
  const grep = await work.git
    .raw(['grep', '-I', '--full-name', '-e', ' image: ', '-e', 'canaryEnv: ', ...commits, '--', `${under}services/`, `:(glob)${under}clusters/*/services/**`])
    .catch(() => ''); // git grep exits 1 when nothing matches
  for (const line of grep.split('\n')) {
    const m = /^([0-9a-f]{40}):(.*?\.yaml):[\s-]*(image|canaryEnv): (.*)$/.exec(line);
    if (!m) continue;
    const [, commit, path, key, raw] = m as unknown as [string, string, string, string, string];
    const entry = out.get(commit) ?? { images: {} };
    out.set(commit, entry);
    const value = parse(raw) as unknown;
    if (typeof value !== 'string') continue;
    if (key === 'image') {
      const color = /services\/([^/]+)\.yaml$/.exec(path)?.[1];
      if (color) entry.images[color] = value;
    } else {
      try {
        entry.selector = (JSON.parse(value) as { selector?: string }).selector;
      } catch {
        // not ours: leave the selector unknown
      }
    }
  }
  return out;
}

export function formatHistory(deployments: readonly Deployment[]): string {
  if (deployments.length === 0) return 'No deployments yet.';
  const short = (image?: string) => (image ? shortImage(image) : '-');
  return deployments
    .map((d) => {
      const colors = Object.keys(d.images).sort().map((c) => `${c}${c === d.selector ? '*' : ''}=${short(d.images[c])}`).join(' ');
      const sites = d.sites.length > 5 ? `${d.sites.slice(0, 5).join(', ')} and ${d.sites.length - 5} more` : d.sites.join(', ');
      return [
        `${d.commit.slice(0, 12)}  ${d.date}  ${d.author}`,
        `    ${d.subject}`,
        `    input ${d.source ? d.source.slice(0, 12) : '(none)'}  images ${colors || '-'}${d.services ? '  (services changed)' : ''}`,
        ...(sites ? [`    sites ${sites}`] : []),
      ].join('\n');
    })
    .join('\n\n');
}

/** An image pinned by digest, by the digest's first 12 hex digits (as `docker images` shows IDs). */
export function shortImage(image: string): string {
  return image.split('@sha256:')[1]?.slice(0, 12) ?? image;
}
