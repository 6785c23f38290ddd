import { DEFAULT_GITHUB_API } from '../publish/github.js';
import { DEFAULT_SITE_CONCURRENCY } from '../hook/each-site.js';
import { DEFAULT_RETRY } from '../hook/retry.js';
import { DEFAULT_RECOVERY_DAYS, DEFAULT_TEARDOWN_THRESHOLD } from '../hook/teardown.js';

/**
 * Every setting Aviary reads, defined once: its flag, its environment
 * variable, its CI setting and its help. The commands compose their options
 * from it (`cli/options.ts`), `aviary ci` maps Drone settings and action
 * inputs through it (`ci/ci.ts`), the secrets mask learns which variables
 * hold secrets from it, and the README's tables are generated from it
 * (`options/docs.ts`), so none of them can drift.
 */

/** The commands `aviary ci` runs. */
export type CiCommand = 'validate' | 'plan' | 'pipeline';
export const CI_COMMANDS: readonly CiCommand[] = ['validate', 'plan', 'pipeline'];

/** How a value is checked and converted; the CLI's parsers implement these. */
export type ValueKind =
  /** digits only */
  | 'whole'
  /** digits only, at least 1 */
  | 'positive'
  /** `0`, `90s`, `30m`, `1h`, `2d` (bare digits are seconds), into milliseconds */
  | 'duration'
  /** a flag without a value; as a CI setting `true` or `false` */
  | 'switch'
  /** repeatable, and each value may hold several, separated by commas or spaces, into a list */
  | 'list';

export interface OptionSpec {
  /**
   * The flag as commander reads it, with its value placeholder
   * (`--branch <name>`); absent for a setting that is a variable only
   * (credentials: flags show in `ps`).
   */
  readonly flag?: string;
  /** The environment variable read when the flag is absent. */
  readonly env?: string;
  readonly help: string;
  /** In the value's own words (`1h`, not 3600000): shown in help and parsed like a given value. */
  readonly default?: string | number;
  readonly kind?: ValueKind;
  readonly choices?: readonly string[];
  /** Masked in every output; a CI passes it to the CLI as a variable, never as a flag. */
  readonly secret?: boolean;
  /** Set on the root command, before the command name. */
  readonly global?: boolean;
  /** Accepted but not shown in help (an old or alternative spelling). */
  readonly hidden?: boolean;
  /**
   * The CI setting that carries it: snake_case as in a `.drone.yml`
   * (`manifests_repo`), kebab-case as an action input (`manifests-repo`),
   * and the `aviary ci` commands it is passed to. Two options may share a
   * setting for different commands (`--against` for plan, `--manifests-repo`
   * for pipeline).
   */
  readonly ci?: {
    readonly name: string;
    readonly commands: readonly CiCommand[];
    /** A Drone setting only: a GitHub job gets it from its environment (aws-actions/configure-aws-credentials), so action.yml declares no input. @default true */
    readonly actionInput?: false;
  };
}

const ALL = CI_COMMANDS;
const REMOTE: readonly CiCommand[] = ['plan', 'pipeline'];
const PIPELINE: readonly CiCommand[] = ['pipeline'];

/** In the order `aviary ci` and the README list them. */
export const OPTIONS = {
  command: { help: 'validate | plan | pipeline (required)', choices: CI_COMMANDS, ci: { name: 'command', commands: ALL } },
  sites: { flag: '--sites <file>', help: 'the sites file', default: 'sites.yaml', global: true, ci: { name: 'sites', commands: ALL } },
  canary: { flag: '--canary <file>', help: 'the canary and fleet settings file', default: 'canary.yaml', global: true, ci: { name: 'canary', commands: ALL } },
  out: { flag: '--out <dir>', env: 'CDK8S_OUTDIR', help: 'where manifests are synthesized', default: 'dist', global: true, ci: { name: 'out', commands: REMOTE } },
  workingDirectory: { help: 'the folder of the workspace (the config repo) holding the inputs', ci: { name: 'working_directory', commands: ALL } },

  repo: { flag: '--repo <url|path>', env: 'AVIARY_MANIFESTS_REPO', help: 'the manifests repository: a URL or a local path' },
  manifestsRepo: {
    flag: '--manifests-repo <url|path>',
    env: 'AVIARY_MANIFESTS_REPO',
    help: 'the manifests repository: a URL or a local path',
    ci: { name: 'manifests_repo', commands: PIPELINE },
  },
  against: {
    flag: '--against <repo-or-dir>',
    env: 'AVIARY_MANIFESTS_REPO',
    help: 'the manifests repository (URL or path) or a folder to compare with (default: --out)',
    ci: { name: 'manifests_repo', commands: ['plan'] },
  },
  branch: { flag: '--branch <name>', env: 'AVIARY_MANIFESTS_BRANCH', help: 'the branch of the manifests repository Argo CD syncs', default: 'main', ci: { name: 'branch', commands: REMOTE } },
  path: {
    flag: '--path <dir>',
    env: 'AVIARY_MANIFESTS_PATH',
    help: 'the folder of the manifests repository that mirrors dist/',
    default: '.',
    ci: { name: 'path', commands: REMOTE },
  },
  force: { flag: '--force', help: "publish to the --repo, --branch or --path given even where canary.yaml's argocd settings name another" },
  createBranch: {
    flag: '--create-branch',
    help: 'start --branch in a manifests repository that has branches but not this one (a first publish into an empty repository needs no flag)',
  },
  workDir: {
    flag: '--work-dir <dir>',
    help: 'where clones of the manifests repository are kept between runs (cache it between builds)',
    default: '.aviary/manifests',
    ci: { name: 'work_dir', commands: REMOTE },
  },
  token: { flag: '--token <token>', help: 'token for git over HTTPS (better: AVIARY_GIT_TOKEN, which does not show in ps)', secret: true },
  gitToken: { env: 'AVIARY_GIT_TOKEN', help: 'token for git over HTTPS (and the GitHub API when GITHUB_TOKEN is unset)', secret: true, ci: { name: 'token', commands: REMOTE } },
  gitUsername: { env: 'AVIARY_GIT_USERNAME', help: 'git username for the token (default x-access-token)', ci: { name: 'username', commands: REMOTE } },
  mode: {
    flag: '--mode <mode>',
    env: 'AVIARY_PUBLISH_MODE',
    help: 'push a commit, or open a pull request',
    choices: ['push', 'pr'],
    default: 'push',
    ci: { name: 'mode', commands: PIPELINE },
  },
  githubUrl: {
    flag: '--github-url <url>',
    env: 'GITHUB_API_URL',
    help: 'GitHub API root (GitHub Enterprise: https://HOST/api/v3)',
    default: DEFAULT_GITHUB_API,
    ci: { name: 'github_url', commands: PIPELINE },
  },
  githubRepo: {
    flag: '--github-repo <owner/name>',
    env: 'AVIARY_GITHUB_REPO',
    help: 'the repository for pull requests (default: from the manifests repository URL)',
    ci: { name: 'github_repo', commands: PIPELINE },
  },
  githubToken: { env: 'GITHUB_TOKEN', help: 'GitHub API token for pull requests (default: AVIARY_GIT_TOKEN)', secret: true },
  source: { flag: '--source <sha>', help: 'the input commit the manifests come from (default: HEAD of the config repo)' },
  allowDirty: { flag: '--allow-dirty', help: 'deploy inputs that are not a commit of the config repo: no input commit is recorded and nothing is torn down' },

  table: { flag: '--table <name>', env: 'AVIARY_TABLE', help: 'DynamoDB registry table, partition key id (string)', ci: { name: 'table', commands: PIPELINE } },
  bucket: { flag: '--bucket <name>', env: 'AVIARY_BUCKET', help: "the fleet's S3 bucket", ci: { name: 'bucket', commands: PIPELINE } },
  secretPrefix: {
    flag: '--secret-prefix <prefix>',
    env: 'AVIARY_SECRET_PREFIX',
    help: "Secrets Manager name prefix (default: canary.yaml's secrets.prefix)",
    ci: { name: 'secret_prefix', commands: PIPELINE },
  },
  mysqlUrl: {
    flag: '--mysql-url <url>',
    env: 'AVIARY_MYSQL_URL',
    help: 'MySQL admin connection mysql://user:password@host:port (better the variable: flags show in ps)',
    secret: true,
    ci: { name: 'mysql_url', commands: PIPELINE },
  },
  mysqlSecret: {
    env: 'AVIARY_MYSQL_SECRET',
    help: 'Secrets Manager secret holding the MySQL admin password (a bare string, or RDS-style JSON with password and optionally username, host, port)',
    ci: { name: 'mysql_secret', commands: PIPELINE },
  },
  dbHost: { flag: '--db-host <host[:port]>', env: 'AVIARY_DB_HOST', help: "what the sites' pods connect to, when not the admin URL's host", ci: { name: 'db_host', commands: PIPELINE } },
  confirm: { flag: '--confirm <count>', help: 'the exact number of removed sites, required to tear down more than --threshold', kind: 'whole', ci: { name: 'confirm', commands: PIPELINE } },
  threshold: {
    flag: '--threshold <count>',
    env: 'AVIARY_TEARDOWN_THRESHOLD',
    help: 'how many sites may be torn down without --confirm',
    kind: 'whole',
    default: DEFAULT_TEARDOWN_THRESHOLD,
    ci: { name: 'threshold', commands: PIPELINE },
  },
  recoveryDays: {
    flag: '--recovery-days <days>',
    env: 'AVIARY_RECOVERY_DAYS',
    help: "how long a torn-down site stays recoverable, 7 to 30: its secrets' recovery window and its final backup's lifetime",
    kind: 'whole',
    default: DEFAULT_RECOVERY_DAYS,
    ci: { name: 'recovery_days', commands: PIPELINE },
  },
  teardownGrace: {
    flag: '--teardown-grace <duration>',
    env: 'AVIARY_TEARDOWN_GRACE',
    help: 'how long a removed site keeps its data before its final backup and teardown (0: at once; 90s, 30m, 2d)',
    kind: 'duration',
    default: '1h',
    ci: { name: 'teardown_grace', commands: PIPELINE },
  },
  argocdUrl: {
    flag: '--argocd-url <url>',
    env: 'AVIARY_ARGOCD_URL',
    help: "Argo CD, to delete a removed site's Application with its objects and wait until they are gone before its data goes",
    ci: { name: 'argocd_url', commands: PIPELINE },
  },
  argocdToken: { env: 'AVIARY_ARGOCD_TOKEN', help: 'Argo CD API token (argocd account generate-token)', secret: true, ci: { name: 'argocd_token', commands: PIPELINE } },
  argocdWait: {
    flag: '--argocd-wait <duration>',
    env: 'AVIARY_ARGOCD_WAIT',
    help: "how long to wait for Argo CD to delete a removed site's Application",
    kind: 'duration',
    default: '10m',
    ci: { name: 'argocd_wait', commands: PIPELINE },
  },
  retries: {
    flag: '--retries <n>',
    env: 'AVIARY_RETRIES',
    help: 'retries of a failing AWS or MySQL call, with backoff',
    kind: 'whole',
    default: DEFAULT_RETRY.retries,
    ci: { name: 'retries', commands: PIPELINE },
  },
  concurrency: {
    flag: '--concurrency <n>',
    env: 'AVIARY_CONCURRENCY',
    help: 'sites provisioned or torn down at once',
    kind: 'positive',
    default: DEFAULT_SITE_CONCURRENCY,
    ci: { name: 'concurrency', commands: PIPELINE },
  },
  awsRegion: { env: 'AWS_REGION', help: 'AWS region', ci: { name: 'aws_region', commands: PIPELINE } },
  awsAccessKeyId: { env: 'AWS_ACCESS_KEY_ID', help: 'AWS access key (better: the runner role)', ci: { name: 'aws_access_key_id', commands: PIPELINE, actionInput: false } },
  awsSecretAccessKey: { env: 'AWS_SECRET_ACCESS_KEY', help: 'AWS secret key', secret: true, ci: { name: 'aws_secret_access_key', commands: PIPELINE, actionInput: false } },
  awsSessionToken: { env: 'AWS_SESSION_TOKEN', help: 'AWS session token', secret: true, ci: { name: 'aws_session_token', commands: PIPELINE, actionInput: false } },
  awsEndpointUrl: { env: 'AWS_ENDPOINT_URL', help: 'a custom AWS endpoint (LocalStack, moto): S3 then uses path-style addressing', ci: { name: 'aws_endpoint_url', commands: PIPELINE, actionInput: false } },

  verify: {
    flag: '--verify',
    help: 'verify the sites the deploy changed once published, and revert the input commit (pushed, then published) if they fail',
    kind: 'switch',
    ci: { name: 'verify', commands: PIPELINE },
  },
  expectStatus: { flag: '--expect-status <code>', help: 'the HTTP status each page must answer', kind: 'whole', default: 200, ci: { name: 'expect_status', commands: PIPELINE } },
  expectText: { flag: '--expect-text <text>', help: 'text each page must contain', ci: { name: 'expect_text', commands: PIPELINE } },
  resolve: {
    flag: '--resolve <host:port:address>',
    env: 'AVIARY_RESOLVE',
    help: 'connect to ADDRESS for requests to HOST on PORT, as curl does (repeatable; the variable takes a comma-separated list)',
    kind: 'list',
    ci: { name: 'resolve', commands: PIPELINE },
  },
  connectTo: {
    flag: '--connect-to <host:port:address:port2>',
    env: 'AVIARY_CONNECT_TO',
    help: 'connect to ADDRESS:PORT2 for requests to HOST on PORT, as curl does (repeatable; the variable takes a comma-separated list)',
    kind: 'list',
    ci: { name: 'connect_to', commands: PIPELINE },
  },
  budget: { flag: '--budget <duration>', help: 'the longest a whole answer may take (90s, 500ms …)', kind: 'duration', default: '5s', ci: { name: 'budget', commands: PIPELINE } },

  dryRun: { flag: '--dry-run', help: 'print what would change; change nothing' },
  detailedExitcode: { flag: '--detailed-exitcode', help: 'exit 0 when nothing would change, 2 when something would, 1 on any error (as terraform plan does)' },
  json: { flag: '--json', help: 'machine-readable output on stdout (progress and errors go to stderr)' },
  html: { flag: '--html <file>', help: 'also write the status as one self-contained web page (searchable, readable on a phone) to this file' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** `--branch <name>` → `--branch`. */
export function flagName(spec: OptionSpec): string | undefined {
  return spec.flag?.split(/[ ,]/).find((part) => part.startsWith('--'));
}

/** The variables that hold secrets, as Aviary reads them and as each CI hands them over. */
export function secretVariables(): string[] {
  const names: string[] = [];
  for (const s of Object.values(OPTIONS) as OptionSpec[]) {
    if (!s.secret) continue;
    if (s.env) names.push(s.env);
    if (s.ci) names.push(...ciVariables(s.ci.name));
  }
  return [...new Set(names)];
}

/** How a CI setting arrives: `PLUGIN_MANIFESTS_REPO` (Drone), `INPUT_MANIFESTS-REPO` or `INPUT_MANIFESTS_REPO` (GitHub). */
export function ciVariables(name: string): string[] {
  const upper = name.toUpperCase();
  return [`PLUGIN_${upper}`, `INPUT_${upper.replaceAll('_', '-')}`, `INPUT_${upper}`];
}

/** How a setting reaches the CLI: as a flag, or as a variable (secrets: flags show in `ps`); absent for what `aviary ci` reads itself. */
export type CiTarget = { readonly flag: string; readonly global: boolean } | { readonly env: string };

/** One CI setting: a Drone `settings:` key and an action input. */
export interface CiSetting {
  /** snake_case, as in a .drone.yml; the action input is the same with dashes. */
  readonly name: string;
  readonly help: string;
  readonly secret: boolean;
  /** Must be a whole number. */
  readonly integer: boolean;
  /** Declared as an input in action.yml (false: a Drone setting only). */
  readonly actionInput: boolean;
  /** `true` or `false`: a flag without a value when true. */
  readonly switch: boolean;
  readonly choices?: readonly string[];
  /** The commands it applies to; others ignore it (one settings block may serve several steps). */
  readonly commands: readonly CiCommand[];
  /** What it becomes for each command. */
  readonly targets: readonly { readonly commands: readonly CiCommand[]; readonly target?: CiTarget }[];
}

/** The CI settings, derived from the options that name one, in catalogue order. */
export function ciSettings(): CiSetting[] {
  const byName = new Map<string, CiSetting>();
  for (const s of Object.values(OPTIONS) as OptionSpec[]) {
    if (!s.ci) continue;
    const target: CiTarget | undefined = s.flag && !s.secret ? { flag: flagName(s)!, global: s.global === true } : s.env ? { env: s.env } : undefined;
    const known = byName.get(s.ci.name);
    byName.set(s.ci.name, {
      name: s.ci.name,
      help: known?.help ?? s.help,
      secret: known?.secret || s.secret === true,
      integer: known?.integer || s.kind === 'whole' || s.kind === 'positive',
      switch: known?.switch || s.kind === 'switch',
      actionInput: s.ci.actionInput !== false,
      ...(s.choices ? { choices: s.choices } : known?.choices ? { choices: known.choices } : {}),
      commands: CI_COMMANDS.filter((c) => known?.commands.includes(c) || s.ci!.commands.includes(c)),
      targets: [...(known?.targets ?? []), { commands: s.ci.commands, ...(target ? { target } : {}) }],
    });
  }
  return [...byName.values()];
}
