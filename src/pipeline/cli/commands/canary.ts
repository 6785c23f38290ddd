import { Argument, type Command } from 'commander';
import { selectCanary, setCanaryImage } from '../../../sites/edit.js';
import { COLORS, type Color } from '../../../sites/types.js';
import { editInputs, printEdit, refuseOverload } from '../../config-repo/edit-files.js';
import { listIds, plural } from '../../shared/words.js';
import { globals, option } from '../options.js';
import { runGate, withGate, type GateFlags } from '../verify-flags.js';

interface EditFlags {
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

/** `aviary canary …`: the old `POST|PUT /services`, as edits of canary.yaml. */
export function register(program: Command): void {
  const canary = program.command('canary').description('choose the active canary color and its image (each change is an edit of canary.yaml)');

  canary
    .command('select')
    .description('make COLOR the active canary; sites do not move until they are upgraded or promoted')
    .addArgument(new Argument('<color>', 'the color to make the active canary').choices(COLORS))
    .option('--dry-run', 'print the YAML diff, write nothing')
    .addOption(option('json'))
    .action((color: Color, opts: EditFlags, cmd: Command) => {
      const applied = editInputs(globals(cmd), (input) => selectCanary(input, color), opts);
      const { previous } = applied.outcome;
      printEdit(
        applied,
        {
          summary: [
            `The active canary is now ${color} (was ${previous}); the canary-env ConfigMap changes.`,
            `No site moved: \`aviary site upgrade\` or \`aviary site promote\` (with --all for every site) moves sites to ${color}.`,
          ],
          noop: `${color} is already the active canary; nothing changed.`,
          facts: { selector: color, previous },
        },
        opts,
      );
    });

  const setImage = canary
    .command('set-image')
    .description("set the image digest of the active canary color; the sites on that color rerun their Jobs with it")
    .argument('<digest>', 'sha256 digest of the image: 64 hex characters, with or without "sha256:"')
    .option('--promote', 'also promote every site on the canary color, so its traffic switches to it')
    .option('--force', 'with --promote: move more than half of the traffic onto a color that can run fewer pods than the one it leaves')
    .option('--dry-run', 'print the YAML diff, write nothing')
    .addOption(option('json'));
  withGate(setImage).action(async (digest: string, opts: EditFlags & GateFlags & { promote?: boolean; force?: boolean }, cmd: Command) => {
    const imageTag = digest.replace(/^sha256:/, '');
    const applied = editInputs(
      globals(cmd),
      (input) => {
        const outcome = setCanaryImage(input, imageTag, { promote: opts.promote });
        refuseOverload(input.fleet, outcome.promoted, opts.force);
        return outcome;
      },
      opts,
    );
    const { color, previous, rerun, promoted } = applied.outcome;
    const changedImage = imageTag !== previous;
    const summary = changedImage
      ? [
          `${color} (the active canary) now runs sha256:${short(imageTag)} (was sha256:${short(previous)}).`,
          rerun.length
            ? `${plural(rerun.length, 'site')} on ${color} update their database for it (update-db Job) and flush caches: ${listIds(rerun)}.`
            : `No site runs on ${color} yet.`,
        ]
      : [`${color} already runs sha256:${short(imageTag)}.`];
    if (promoted.length) summary.push(`Promoted ${plural(promoted.length, 'site')}: public traffic switches to ${color}: ${listIds(promoted.map((m) => m.id))}.`);
    printEdit(
      applied,
      {
        summary,
        noop: `${color} (the active canary) already runs sha256:${short(imageTag)}${opts.promote ? ` and every site on ${color} already routes to it` : ''}; nothing changed.`,
        facts: { color, imageTag, previous, rerun, promoted },
      },
      opts,
    );
    // The sites that now run or serve the new image are what it must prove on.
    const touched = [...new Set([...rerun, ...promoted.map((m) => m.id)])];
    if (opts.verify && !opts.dryRun && changedImage && touched.length > 0) {
      await runGate(cmd, opts, { subject: `${color} runs sha256:${short(imageTag)}${promoted.length ? `; promote ${listIds(promoted.map((m) => m.id))}` : ''}`, ids: touched });
    }
  });
}

function short(digest: string): string {
  return digest.length > 16 ? `${digest.slice(0, 12)}…` : digest;
}
