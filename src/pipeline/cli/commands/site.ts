import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { renderSite } from '../../../charts/render.js';
import { createSite, pickSites, rehomeSites, promoteSites, rerunSites, shiftSites, terminateSites, trafficWords, upgradeSites, type MoveOutcome } from '../../../sites/edit.js';
import { loadFleet } from '../../../sites/load.js';
import { applicationOf, layoutOf, siteNames } from '../../../sites/names.js';
import { clustersOf, COLORS, imageOf, JOB_KINDS, type Canary, type Color, type Fleet, type JobKind, type Site } from '../../../sites/types.js';
import { editInputs, printEdit, refuseOverload } from '../../config-repo/edit-files.js';
import { listIds, plural } from '../../shared/words.js';
import { RefusedError, UsageError } from '../../shared/errors.js';
import { globals, option, wholeNumber } from '../options.js';
import { runGate, withGate, type GateFlags } from '../verify-flags.js';

interface EditFlags {
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

/** `aviary site …`: the per-site operations of the old deployment manager, as edits of sites.yaml. */
export function register(program: Command): void {
  const site = program
    .command('site')
    .description('create, inspect, upgrade, promote, rerun, move and terminate sites (each change is an edit of sites.yaml)');
  registerRerun(site);
  registerMove(site);

  editing(
    site
      .command('create')
      .description('add a site to sites.yaml; after the merge the pipeline provisions it and publishes its manifests')
      .requiredOption('--id <id>', 'DNS-1123 label naming every resource of the site')
      .requiredOption('--name <title>', 'WordPress site title')
      .requiredOption('--theme <slug>', 'theme activated after install, e.g. astra')
      .requiredOption('--hostname <host>', 'a public hostname (repeat for more)', (v: string, all: string[]) => [...all, v], [])
      .option('--canonical <host>', 'the hostname WordPress is installed at (default: the first --hostname)')
      .addOption(new Option('--service <color>', 'the color the site runs on (default: the active canary)').choices(COLORS)),
  ).action((opts: EditFlags & { id: string; name: string; theme: string; hostname: string[]; canonical?: string; service?: Color }, cmd: Command) => {
    const applied = editInputs(
      globals(cmd),
      (input) => createSite(input, { id: opts.id, name: opts.name, theme: opts.theme, hostnames: opts.hostname, canonicalHostname: opts.canonical, service: opts.service }),
      opts,
    );
    const { site: created } = applied.outcome;
    printEdit(
      applied,
      {
        summary: [
          `Added site ${created.id} on ${created.service} (${created.hostnames.join(', ')}) to ${globals(cmd).sites}.`,
          `Once merged, the pipeline's provision hook creates its secrets, database and S3 prefix, then its manifests are published.`,
        ],
        noop: `Nothing to do.`,
        facts: { site: created },
      },
      opts,
    );
  });

  site
    .command('get')
    .description("show a site: its colors, the image it runs, its hostnames and the names of what is generated for it")
    .argument('<id>', 'the site id')
    .addOption(option('json'))
    .action((id: string, opts: { json?: boolean }, cmd: Command) => {
      const { sites, canary } = globals(cmd);
      const fleet = loadFleet(sites, canary);
      const found = fleet.sites.find((s) => s.id === id);
      if (!found) throw new RefusedError(`there is no site "${id}" in ${sites}; \`aviary site list\` shows the ids.`);
      const details = describeSite(found, fleet.canary, globals(cmd).out);
      if (opts.json) process.stdout.write(`${JSON.stringify(details, null, 2)}\n`);
      else process.stdout.write(formatSite(details));
    });

  site
    .command('list')
    .description('list the sites with their colors and hostnames')
    .addOption(new Option('--service <color>', 'only the sites running on this color').choices(COLORS))
    .addOption(new Option('--ingress <color>', 'only the sites whose traffic routes to this color').choices(COLORS))
    .addOption(option('json'))
    .action((opts: { service?: Color; ingress?: Color; json?: boolean }, cmd: Command) => {
      const { sites, canary } = globals(cmd);
      const fleet = loadFleet(sites, canary);
      const shown = fleet.sites.filter((s) => (!opts.service || s.service === opts.service) && (!opts.ingress || s.ingress === opts.ingress));
      if (opts.json) {
        const rows = shown.map((s) => ({ ...s, hostnames: [...s.hostnames], image: imageOf(fleet.canary, s.service) }));
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      } else {
        process.stdout.write(formatTable(shown, fleet));
      }
    });

  for (const how of ['upgrade', 'promote'] as const) {
    withGate(editing(
      site
        .command(how)
        .description(
          how === 'upgrade'
            ? "move sites to the active canary: service := canary, public traffic stays where it was; their database is updated for the canary's image"
            : 'move sites and their traffic to the active canary: service and ingress := canary',
        )
        .argument('[ids...]', 'the sites (or use --all / --from)')
        .option('--all', 'every site (in one edit)')
        .addOption(new Option('--from <color>', 'only the sites whose service is this color (implies --all)').choices(COLORS))
        .option('--force', 'move more than half of the traffic onto a color that can run fewer pods than the one it leaves'),
    )).action(async (ids: string[], opts: EditFlags & GateFlags & { all?: boolean; from?: Color; force?: boolean }, cmd: Command) => {
      if (ids.length > 0 && (opts.all || opts.from)) throw new UsageError(`give site ids or --all/--from, not both`);
      if (ids.length === 0 && !opts.all && !opts.from) throw new UsageError(`name the sites to ${how} (aviary site ${how} ID…), or use --all [--from COLOR]`);
      const applied = editInputs(
        globals(cmd),
        (input) => {
          const picked = pickSites(input.fleet, { ids, all: opts.all, from: opts.from });
          refuseUnknown(picked.unknown, globals(cmd).sites);
          const outcome = how === 'upgrade' ? upgradeSites(input, picked.ids) : promoteSites(input, picked.ids);
          refuseOverload(input.fleet, outcome.moved, opts.force);
          return outcome;
        },
        opts,
      );
      printEdit(applied, moveReport(how, applied.outcome, opts.from), opts);
      const moved = applied.outcome.moved.map((m) => m.id);
      if (opts.verify && !opts.dryRun && moved.length > 0) {
        const verb = how === 'upgrade' ? 'Upgrade' : 'Promote';
        await runGate(cmd, opts, { subject: `${verb} ${listIds(moved)} to ${applied.outcome.color}`, ids: moved });
      }
    });
  }

  editing(
    site
      .command('terminate')
      .description("remove sites from sites.yaml; after the merge their manifests disappear and the teardown hook deletes their AWS side")
      .argument('<ids...>', 'the sites to remove')
      .option('--yes', 'confirm removing more than one site'),
  ).action((ids: string[], opts: EditFlags & { yes?: boolean }, cmd: Command) => {
    const unique = [...new Set(ids)];
    if (unique.length > 1 && !opts.yes && !opts.dryRun) {
      throw new RefusedError(`terminating ${unique.length} sites needs --yes: the teardown hook then deletes their secrets, databases and files. Nothing was written.`);
    }
    const applied = editInputs(
      globals(cmd),
      (input) => {
        refuseUnknown(pickSites(input.fleet, { ids: unique }).unknown, globals(cmd).sites);
        const result = terminateSites(input, unique);
        return { ...result, teardown: result.removed.map((s) => teardownOf(s, input.fleet.canary)) };
      },
      opts,
    );
    const { removed, teardown } = applied.outcome;
    const lines = teardown.slice(0, 10).map((t) => `  ${t.id}: ${describeTeardown(t)}`);
    if (teardown.length > 10) lines.push(`  … and ${teardown.length - 10} more (--json lists them all)`);
    printEdit(
      applied,
      {
        summary: [
          `Removed ${removed.length === 1 ? `site ${removed[0].id}` : `${plural(removed.length, 'site')}`} from ${globals(cmd).sites}.`,
          `Once merged, the pipeline deletes ${removed.length === 1 ? 'its' : 'their'} manifests, then the teardown hook deletes:`,
          ...lines,
        ],
        noop: 'Nothing to do.',
        facts: { removed: teardown },
      },
      opts,
    );
  });
}

/** `aviary site rerun ID…`: Jobs (a failed one too) run again through git, by a counter that is part of their names. */
function registerRerun(site: Command): void {
  editing(
    site
      .command('rerun')
      .description("count up each site's rerun: in sites.yaml; once merged and synced its Jobs (or the one named) get new names and run again")
      .argument('<ids...>', 'the sites whose Jobs run again')
      .addOption(new Option('--job <name>', 'only this Job (the flush Job follows any other)').choices(JOB_KINDS)),
  ).action((ids: string[], opts: EditFlags & { job?: JobKind }, cmd: Command) => {
    const applied = editInputs(
      globals(cmd),
      (input) => {
        refuseUnknown(pickSites(input.fleet, { ids }).unknown, globals(cmd).sites);
        return rerunSites(input, ids, opts.job);
      },
      opts,
    );
    const { reran } = applied.outcome;
    printEdit(
      applied,
      {
        summary: [
          `Counted up rerun:${opts.job ? ` (${opts.job})` : ''} of ${listIds(reran.map((r) => r.id))} in ${globals(cmd).sites}: once merged and synced, ${opts.job ? `their ${opts.job} Job runs` : 'their Jobs run'} again.`,
        ],
        noop: 'Nothing to do.',
        facts: { reran },
      },
      opts,
    );
  });
}

/** `aviary site move ID… --cluster NAME`: re-home sites; their manifests move, their data stays in AWS. */
function registerMove(site: Command): void {
  editing(
    site
      .command('move')
      .description("set each site's cluster: in sites.yaml; once merged, its manifests are published under that cluster (its data in AWS stays)")
      .argument('<ids...>', 'the sites to move')
      .requiredOption('--cluster <name>', 'one of the clusters in canary.yaml'),
  ).action((ids: string[], opts: EditFlags & { cluster: string }, cmd: Command) => {
    const applied = editInputs(
      globals(cmd),
      (input) => {
        refuseUnknown(pickSites(input.fleet, { ids }).unknown, globals(cmd).sites);
        const names = clustersOf(input.fleet.canary).map((c) => c.name);
        if (!input.fleet.canary.settings.clusters || !names.includes(opts.cluster)) {
          throw new RefusedError(
            input.fleet.canary.settings.clusters
              ? `unknown cluster ${opts.cluster}: ${globals(cmd).canary} declares ${names.join(', ')}; nothing was written.`
              : `${globals(cmd).canary} declares no clusters: list them under clusters: ({ name, server } each) first; nothing was written.`,
          );
        }
        return rehomeSites(input, ids, opts.cluster);
      },
      opts,
    );
    const { moved, unchanged } = applied.outcome;
    printEdit(
      applied,
      {
        summary: [
          moved.length
            ? `Moved ${plural(moved.length, 'site')} to cluster ${opts.cluster}: ${listIds(moved.map((m) => m.id))}. Once merged, the pipeline publishes them under clusters/${opts.cluster}/ and prunes them from ${[...new Set(moved.map((m) => m.from))].join(', ')}; point their DNS at ${opts.cluster}. Their data in AWS stays as it is.`
            : '',
          ...(unchanged.length ? [`Already in ${opts.cluster}: ${listIds(unchanged)}.`] : []),
        ].filter(Boolean),
        noop: `Nothing to do: ${listIds(unchanged)} already in cluster ${opts.cluster}.`,
        facts: { cluster: opts.cluster, moved, unchanged },
      },
      opts,
    );
  });

  editing(
    withGate(site
      .command('shift')
      .description("split each site's public traffic between the colors: --weight percent to --to, the rest to the other (0 and 100 make it one color)")
      .argument('<ids...>', 'the sites to shift')
      .addOption(new Option('--to <color>', 'the color that gets --weight').choices([...COLORS]).makeOptionMandatory())
      .addOption(new Option('--weight <percent>', 'its share of the public traffic, 0 to 100').argParser(percent).makeOptionMandatory())),
  ).action(async (ids: string[], opts: EditFlags & GateFlags & { to: Color; weight: number }, cmd: Command) => {
    const applied = editInputs(
      globals(cmd),
      (input) => {
        refuseUnknown(pickSites(input.fleet, { ids }).unknown, globals(cmd).sites);
        return shiftSites(input, ids, opts.to, opts.weight);
      },
      opts,
    );
    const { shifted, unchanged } = applied.outcome;
    printEdit(
      applied,
      {
        summary: [
          ...shifted.map((s) => `Shifted ${s.id}: public traffic to ${s.to} (was ${s.from}).`),
          ...(shifted.length ? ['Once merged and synced, public traffic splits as written.'] : []),
          ...(unchanged.length ? [`Already so: ${listIds(unchanged)}.`] : []),
        ],
        noop: `Nothing to do: ${listIds(unchanged)} already route ${opts.weight}% to ${opts.to}.`,
        facts: { to: opts.to, weight: opts.weight, shifted, unchanged },
      },
      opts,
    );
    if (opts.verify && !opts.dryRun && shifted.length > 0) {
      await runGate(cmd, opts, { subject: `Shift ${listIds(shifted.map((x) => x.id))}: ${opts.weight}% of public traffic to ${opts.to}`, ids: shifted.map((x) => x.id) });
    }
  });
}

/** A share of traffic in percent: a whole number from 0 to 100. */
function percent(value: string): number {
  const n = wholeNumber(value);
  if (n > 100) throw new InvalidArgumentError('expected a whole number from 0 to 100');
  return n;
}

/** The flags every editing command has. */
function editing(cmd: Command): Command {
  return cmd.option('--dry-run', 'print the YAML diff, write nothing').addOption(option('json'));
}

function refuseUnknown(unknown: readonly string[], file: string): void {
  if (unknown.length === 0) return;
  throw new RefusedError(`unknown site${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}: not in ${file}; nothing was written. \`aviary site list\` shows the ids.`);
}

function moveReport(how: 'upgrade' | 'promote', outcome: MoveOutcome, from?: Color) {
  const { color, moved, unchanged } = outcome;
  const ids = moved.map((m) => m.id);
  const headline =
    how === 'upgrade'
      ? `Upgraded ${plural(moved.length, 'site')} to ${color}, the active canary (database updated for ${color}'s image, caches flushed, public traffic stays where it was): ${listIds(ids)}.`
      : `Promoted ${plural(moved.length, 'site')} to ${color}, the active canary (public traffic switches to ${color}): ${listIds(ids)}.`;
  // Moving traffic reruns the flush Job; update-db runs only where the color the site runs on changed
  // (a site upgraded earlier already ran it there).
  const rerun = moved.filter((m) => m.from.service !== m.to.service).map((m) => m.id);
  const jobs =
    how === 'promote' && moved.length
      ? [`Caches flushed on ${color}: ${listIds(ids)}${rerun.length ? `; database updated for ${color}'s image: ${listIds(rerun)}` : ''}.`]
      : [];
  const already = unchanged.length ? [`Already ${how === 'upgrade' ? 'on' : 'fully on'} ${color}: ${listIds(unchanged)}.`] : [];
  const noop =
    unchanged.length === 0
      ? `Nothing to do: no site${from ? ` on ${from}` : ''} to ${how}.`
      : unchanged.length === 1
        ? `Nothing to do: ${unchanged[0]} is already ${how === 'upgrade' ? 'on' : 'fully on'} ${color}, the active canary.`
        : `Nothing to do: all ${unchanged.length} sites are already ${how === 'upgrade' ? 'on' : 'fully on'} ${color}, the active canary.`;
  return { summary: [headline, ...jobs, ...already], noop, facts: { color, moved, unchanged } };
}

/** What the teardown hook deletes for a removed site (names from names.ts, shared with the hook). */
interface Teardown {
  readonly id: string;
  readonly secrets: readonly string[];
  readonly database: string;
  readonly databaseUser: string;
  readonly s3Prefix: string;
  readonly registryItem: string;
}

function teardownOf(site: Site, canary: Canary): Teardown {
  const names = siteNames(site.id, canary.settings);
  return {
    id: site.id,
    secrets: [names.dbSecretId, names.adminSecretId, names.keysSecretId],
    database: names.database,
    databaseUser: names.databaseUser,
    s3Prefix: names.s3Prefix,
    registryItem: site.id,
  };
}

function describeTeardown(t: Teardown): string {
  return `secrets ${t.secrets.slice(0, -1).join(', ')} and ${t.secrets.at(-1)} (7-day recovery window), database ${t.database} and user ${t.databaseUser}, S3 prefix ${t.s3Prefix}, registry item ${t.registryItem}`;
}

/** Everything `site get` shows; the generated names are read from the synthesized manifests, not re-derived. */
interface SiteDetails {
  readonly id: string;
  readonly name: string;
  readonly theme: string;
  readonly service: Color;
  readonly ingress: Color;
  /** The traffic split, when the site has one. */
  readonly weights?: Readonly<Record<Color, number>>;
  readonly activeCanary: Color;
  readonly image: string;
  readonly hostnames: readonly string[];
  readonly canonicalHostname: string;
  readonly previewHostname: string | null;
  readonly manifest: string;
  /** The cluster it runs in, and the Argo CD Application that deploys it. */
  readonly cluster: string;
  readonly application: string;
  readonly resources: {
    readonly ingress: string[];
    readonly externalSecrets: string[];
    readonly jobs: Array<{ readonly job: string; readonly name: string }>;
  };
  readonly aws: Omit<Teardown, 'id'>;
}

function describeSite(site: Site, canary: Canary, out: string): SiteDetails {
  const file = renderSite(site, canary);
  const objects = parseAllDocuments(file.content).map((d) => d.toJS() as K8sObject);
  const named = (kind: string) => objects.filter((o) => o.kind === kind);
  const { id: _, ...aws } = teardownOf(site, canary);
  return {
    id: site.id,
    name: site.name,
    theme: site.theme,
    service: site.service,
    ingress: site.ingress,
    ...(site.weights ? { weights: site.weights } : {}),
    activeCanary: canary.selector,
    image: imageOf(canary, site.service),
    hostnames: site.hostnames,
    canonicalHostname: site.canonicalHostname,
    previewHostname: siteNames(site.id, canary.settings).previewHostname ?? null,
    manifest: `${out}/${file.path}`,
    cluster: site.cluster,
    application: applicationOf(site, layoutOf(canary.settings)),
    resources: {
      ingress: [...named('Ingress'), ...named('HTTPRoute')].map((o) => o.metadata.name),
      externalSecrets: named('ExternalSecret').map((o) => o.metadata.name),
      jobs: named('Job').map((o) => ({ job: o.metadata.labels?.['aviary.io/job'] ?? '', name: o.metadata.name })),
    },
    aws,
  };
}

interface K8sObject {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
}

function formatSite(d: SiteDetails): string {
  const colors = d.weights
    ? `service ${d.service}, traffic split blue ${d.weights.blue}%, green ${d.weights.green}% (the active canary is ${d.activeCanary})`
    : d.service === d.ingress
      ? `${d.service}${d.service === d.activeCanary ? ' (the active canary)' : ` (the active canary is ${d.activeCanary})`}`
      : `service ${d.service}, traffic on ${d.ingress} (upgraded, not promoted; the active canary is ${d.activeCanary})`;
  const rows: Array<[string, string]> = [
    ['name', d.name],
    ['theme', d.theme],
    ['color', colors],
    ['image', d.image],
    ['hostnames', d.hostnames.map((h) => (h === d.canonicalHostname ? `${h} (canonical)` : h)).join(', ')],
    ['preview', d.previewHostname ?? '(no previewDomain in canary.yaml)'],
    ['manifest', d.manifest],
    ['Argo CD', `Application ${d.application} on cluster ${d.cluster}`],
    ['routes', d.resources.ingress.join(', ')],
    ['ExternalSecret', d.resources.externalSecrets.join(', ')],
    ['Jobs', d.resources.jobs.map((j) => j.name).join(', ')],
    ['secrets', d.aws.secrets.join(', ')],
    ['database', `${d.aws.database} (user ${d.aws.databaseUser})`],
    ['S3 prefix', d.aws.s3Prefix],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `site ${d.id}\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

function formatTable(sites: readonly Site[], fleet: Fleet): string {
  if (sites.length === 0) return `No sites match (${plural(fleet.sites.length, 'site')} in all).\n`;
  const rows = [['ID', 'SERVICE', 'INGRESS', 'HOSTNAMES'], ...sites.map((s) => [s.id, s.service, trafficWords(s).replace(', ', '/'), s.hostnames.join(',')])];
  const widths = [0, 1, 2].map((c) => rows.reduce((w, r) => Math.max(w, r[c].length), 0));
  const lines = rows.map((r) => r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell)).join('  '));
  return `${lines.join('\n')}\n${plural(sites.length, 'site')}; active canary ${fleet.canary.selector}.\n`;
}

