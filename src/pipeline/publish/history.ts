import { parse } from 'yaml';
import { gitStep } from '../git/run.js';
import { SOURCE_TRAILER } from './message.js';
import { normalisePrefix } from '../git/sync.js';
import { normaliseRemote, WorkDir, type ManifestsRemote } from '../git/workdir.js';
import { isServicesFile, siteOfFile } from '../../sites/names.js';

/** One deployment: a commit on the manifests branch. */
export interface Deployment {
  /** The manifests commit. */
  readonly commit: string;
  /** The input commit in the config repo (the Aviary-Source trailer), when the commit has one. */
  readonly source?: string;
  readonly author: string;
  /** ISO 8601, when the commit was made (committer date). */
  readonly date: string;
  readonly subject: string;
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

const FIELD = '\x1f';
const RECORD = '\x1e';

/** The deployments on the manifests branch, newest first, read from a (full) fetch of it. */
export async function history(options: HistoryOptions): Promise<Deployment[]> {
  const branch = options.branch ?? 'main';
  const prefix = normalisePrefix(options.path ?? '.');
  const work = await WorkDir.open(options.workRoot ?? '.aviary/manifests', normaliseRemote(options.repo, options.credentials));
  const head = await work.fetch(branch, { full: true });
  if (!head) return [];
  const format = ['%H', '%an <%ae>', '%cI', '%s', `%(trailers:key=${SOURCE_TRAILER},valueonly,separator=%x2C)`].join('%x1f');
  const log = await gitStep('reading the manifests history', () =>
    work.git.raw(['log', `-n${options.limit ?? 20}`, `--format=%x1e${format}%x1f`, '--name-only', head, '--', prefix]),
  );
  const under = prefix === '.' ? '' : `${prefix}/`;
  const entries = log.split(RECORD).filter((r) => r.trim()).map((record) => {
    const [commit = '', author = '', date = '', subject = '', source = '', names = ''] = record.split(FIELD);
    const paths = names.split('\n').filter(Boolean).map((p) => p.slice(under.length));
    return {
      commit,
      source: source.trim().split(',')[0] || undefined,
      author,
      date,
      subject,
      sites: [...new Set(paths.map(siteOfFile).filter((s): s is string => Boolean(s)))].sort(),
      services: paths.some(isServicesFile),
    };
  });
  const state = await imagesAt(work, entries.map((e) => e.commit), under);
  return entries.map((e) => ({ ...e, images: state.get(e.commit)?.images ?? {}, ...(state.get(e.commit)?.selector ? { selector: state.get(e.commit)!.selector } : {}) }));
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
  const short = (image?: string) => (image ? (image.split('@sha256:')[1]?.slice(0, 12) ?? image) : '-');
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
