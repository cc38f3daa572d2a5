import { loadConfig } from '@dysnomia/engine/internal/config.js';
import { EXIT_OPERATION_FAILED, usageError as usage } from '@dysnomia/engine/internal/errors.js';
import { parseOptions } from '@dysnomia/engine/internal/cli/run-cli.js';
import { chooseStateDir } from '@dysnomia/engine/internal/state-dir.js';
import { Store } from '@dysnomia/engine/internal/store/store.js';
import { quietReporter, terminalReporter } from '../deploy/progress.js';
import { reconstruct } from '../deploy/reconstruct.js';
import type { ReconstructOutcome } from '../deploy/reconstruct.js';
import { stateBackendFor } from '../deploy/state/open-state.js';
import { loadInfrastructure } from '../models/infrastructure.js';
import { TARGET_OPTIONS, TARGET_OPTIONS_HELP, targetSettingsFrom, profileOption } from './target-options.js';

export const HELP = `Usage: dysnomia reconstruct -i INFRASTRUCTURE [-p PROFILE] [--dry-run] [--json]

Rebuilds this coordinator's record of a deployment from what the targets of
INFRASTRUCTURE hold, as disnix-reconstruct does: each target keeps its own
record of the profile's services (activated ones and those of type package)
and the profile's current generation. For a new coordinator, one whose state
folder was lost, or a second operator: afterwards "dysnomia deploy" plans its
transition from the reconstructed record, so deploying the same models again
changes nothing. Every target must answer; the deployment they describe
becomes the profile's next generation here (under the profile's lock), unless
the current one already is it. Services' own properties that only the
coordinator uses (a health check's settings) are not kept on targets: they
come back with the next deploy that changes something.

Options:
${TARGET_OPTIONS_HELP}  -p, --profile=NAME         The profile (default: default)
      --dry-run              Say what would be recorded; record nothing
      --json                 Print the outcome as JSON
      --debug                Show stack traces
  -h, --help                 Show this help

Exit status: 0 recorded (or already recorded); 1 a target could not be
reached or asked, no target holds the profile, or the profile is locked;
2 bad usage or a bad model (the message names the file and line).
`;

export const OPTIONS = {
  ...TARGET_OPTIONS,
  profile: { type: 'string', short: 'p' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;


export async function reconstructCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.infrastructure === undefined) throw usage('no infrastructure model: pass -i INFRASTRUCTURE');
  const profile = profileOption(values.profile, 'default');
  const settings = targetSettingsFrom(values);
  const infrastructure = await loadInfrastructure(values.infrastructure);
  const config = await loadConfig(process.cwd());
  const stateDir = chooseStateDir(config.stateDir);
  const state = stateBackendFor(config, stateDir);
  state.warmUp();
  const reporter = process.stderr.isTTY && !values.json ? terminalReporter(process.stderr) : quietReporter;
  let outcome: ReconstructOutcome;
  try {
    outcome = await reconstruct({
      ...settings,
      infrastructure,
      store: Store.at(stateDir),
      reporter,
      log: (message) => process.stderr.write(`dysnomia: ${message}\n`),
      ...(values.debug ? { debug: true } : {}),
      profile,
      state,
      dryRun: values['dry-run'] === true,
    });
  } finally {
    reporter.finish();
    await state.close();
  }
  if (outcome.kind === 'unreachable') {
    for (const message of outcome.failed.values()) process.stderr.write(`dysnomia: error: ${message}\n`);
    process.stderr.write('dysnomia: nothing reconstructed: every target must answer for a complete record\n');
    return EXIT_OPERATION_FAILED;
  }
  if (outcome.kind === 'nothing') {
    process.stderr.write(`dysnomia: error: no target of ${values.infrastructure} holds profile "${profile}": nothing to reconstruct (dysnomia query -i ${values.infrastructure} lists the profiles each target has)\n`);
    return EXIT_OPERATION_FAILED;
  }
  const { deployment } = outcome;
  const summary = `${deployment.mappings.length} service mapping${deployment.mappings.length === 1 ? '' : 's'} on ${Object.keys(deployment.targets).length} target${Object.keys(deployment.targets).length === 1 ? '' : 's'}`;
  if (values.json) {
    const { deployment: _, ...rest } = outcome;
    process.stdout.write(`${JSON.stringify({ profile, ...rest, dryRun: values['dry-run'] === true, mappings: deployment.mappings.length, targets: Object.keys(deployment.targets) })}\n`);
  } else if (outcome.kind === 'unchanged') {
    process.stdout.write(`profile ${profile}: the targets hold what generation ${outcome.generation} records (${summary}); nothing recorded\n`);
  } else if (values['dry-run']) {
    process.stdout.write(`profile ${profile}: would record ${summary} as generation ${outcome.generation} (dry run: nothing recorded)\n`);
  } else {
    process.stdout.write(`profile ${profile}: recorded ${summary} as generation ${outcome.generation}${outcome.previous === undefined ? '' : ` (it was ${outcome.previous})`} in ${state.description}\n`);
  }
  return 0;
}
