import { loadConfig } from '@dysnomia/engine/internal/config.js';
import { usageError as usage } from '@dysnomia/engine/internal/errors.js';
import { assertSegment, determineName } from '@dysnomia/engine/internal/snapshots/names.js';
import { chooseStateDir } from '@dysnomia/engine/internal/state-dir.js';
import { Store } from '@dysnomia/engine/internal/store/store.js';
import { parseOptions } from '@dysnomia/engine/internal/cli/run-cli.js';
import { jsonReporter, plainReporter, terminalReporter } from '../deploy/progress.js';
import { snapshotsOnMachines } from '../deploy/snapshots-on-machines.js';
import type { SnapshotsCommand } from '../deploy/snapshots-on-machines.js';
import { stateBackendFor } from '../deploy/state/open-state.js';
import { TypePlugins } from '../deploy/type-plugins.js';
import { loadInfrastructure } from '../models/infrastructure.js';
import { MANY_TARGETS_OPTIONS, MANY_TARGETS_OPTIONS_HELP, targetSettingsFrom, profileOption } from './target-options.js';

const COMMON_OPTIONS_HELP = `Options:
  -i, --infrastructure=FILE  The infrastructure model (how to reach the targets)
  -C, --container=NAME       Only mappings in (or snapshots of) this container
  -c, --component=NAME       Only this component (its name, or the service's)
${MANY_TARGETS_OPTIONS_HELP}      --json                 Print one JSON event per line ({"v":1,"event":…})
      --debug                Show stack traces
  -h, --help                 Show this help
`;

const SELECTION_HELP = `The mappings are those of the profile's deployment as this machine recorded
it (dysnomia deploy): by default only those its last transition activated
(the ones the generation before lacked; all of them after a first
deployment), as Disnix does; --all for every mapping of the profile.
Services of type package have no state and are left out.`;

const EXIT_HELP = `Exit status: 0 success; 1 a target or a step failed (the message names it),
or the profile is locked; 2 bad usage, a bad model, or a profile with no
recorded deployment.
`;

export const SNAPSHOT_HELP = `Usage: dysnomia snapshot -i INFRASTRUCTURE [-p PROFILE] [--all] [--keep N] [-C CONTAINER] [-c COMPONENT]

Disnix's disnix-snapshot: takes a snapshot of the state of the profile's
services on their targets (each plugin's snapshot operation, e.g. a
mariadb-dump of a mysql-database), and transfers the latest snapshot of
each to this machine, where it is kept in Dysnomia's snapshot layout under
STATEDIR/target-snapshots/TARGET (snapshots/, generations/, checksums/);
only a snapshot this machine lacks is transferred. Those copies are
dysnomia-snapshots' layout: DYSNOMIA_STATEDIR=STATEDIR/target-snapshots/TARGET
dysnomia-snapshots lists them or collects their garbage.

${SELECTION_HELP}

${COMMON_OPTIONS_HELP}  -p, --profile=NAME         The profile (default: default)
      --all                  Every mapping of the profile
      --keep=N               Afterwards, remove all but the last N snapshot
                             generations of those components on the targets

${EXIT_HELP}`;

export const RESTORE_HELP = `Usage: dysnomia restore -i INFRASTRUCTURE [-p PROFILE] [--all] [--keep N] [-C CONTAINER] [-c COMPONENT]

Disnix's disnix-restore: sends each selected service's latest snapshot this
machine keeps of it (taken with dysnomia snapshot -i) to its target where
the target lacks it, makes it the latest generation there and runs the
plugin's restore operation (a mysql-database loads the dump). A service this
machine has no snapshot of is restored from what its target has.

${SELECTION_HELP}

${COMMON_OPTIONS_HELP}  -p, --profile=NAME         The profile (default: default)
      --all                  Every mapping of the profile
      --keep=N               Afterwards, remove all but the last N snapshot
                             generations of those components on the targets

${EXIT_HELP}`;

export const CLEAN_SNAPSHOTS_HELP = `Usage: dysnomia clean-snapshots -i INFRASTRUCTURE [--keep N] [-C CONTAINER] [-c COMPONENT]

Disnix's disnix-clean-snapshots: on every target of INFRASTRUCTURE, removes
all but the last N generations of each component's snapshots, and the
snapshots those generations do not link to (the garbage collection of
dysnomia-snapshots, run there).
Components with N generations or fewer are left alone.

${COMMON_OPTIONS_HELP}      --keep=N               Generations to keep per component (default: 1)
  -p, --profile=NAME, --all  Accepted as the other state commands take them,
                             and not used: every target is cleaned

Exit status: 0 success; 1 a target could not be reached or cleaned (the
message names it); 2 bad usage or a bad model.
`;

export const OPTIONS = {
  infrastructure: { type: 'string', short: 'i' },
  profile: { type: 'string', short: 'p' },
  container: { type: 'string', short: 'C' },
  component: { type: 'string', short: 'c' },
  all: { type: 'boolean' },
  keep: { type: 'string' },
  ...MANY_TARGETS_OPTIONS,
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const HELP: Record<SnapshotsCommand, string> = { snapshot: SNAPSHOT_HELP, restore: RESTORE_HELP, 'clean-snapshots': CLEAN_SNAPSHOTS_HELP };


function nameOption(kind: 'container' | 'component', value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return assertSegment(kind, determineName(value));
  } catch {
    throw usage(`--${kind}: not a ${kind} name: '${value}'`);
  }
}

/** `dysnomia snapshot|restore|clean-snapshots -i INFRASTRUCTURE …`. */
export async function snapshotsOnMachinesCommand(command: SnapshotsCommand, argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(HELP[command]);
    return 0;
  }
  if (positionals.length > 0) throw usage(`unexpected argument "${positionals[0]}"`);
  if (values.infrastructure === undefined) throw usage('no infrastructure model: pass -i INFRASTRUCTURE');
  const profile = profileOption(values.profile, 'default');
  let keep: number | undefined;
  if (values.keep !== undefined) {
    if (!/^\d+$/.test(values.keep)) throw usage(`--keep takes a whole number of generations, not '${values.keep}'`);
    keep = Number(values.keep);
  }
  const settings = targetSettingsFrom(values);
  const container = nameOption('container', values.container);
  const component = nameOption('component', values.component);
  const infrastructure = await loadInfrastructure(values.infrastructure);
  const config = await loadConfig(process.cwd());
  const stateDir = chooseStateDir(config.stateDir);
  const reporter = values.json ? jsonReporter(process.stdout) : process.stdout.isTTY ? terminalReporter(process.stdout) : plainReporter(process.stdout);
  const state = stateBackendFor(config, stateDir);
  let result;
  try {
    result = await snapshotsOnMachines({
      command,
      infrastructure,
      profile,
      all: values.all === true,
      ...(keep !== undefined ? { keep } : {}),
      ...(container !== undefined ? { container } : {}),
      ...(component !== undefined ? { component } : {}),
      store: Store.at(stateDir),
      state,
      reporter,
      ...settings,
      typePlugins: new TypePlugins(config, []),
      debug: values.debug === true,
      log: (message: string) => process.stderr.write(`dysnomia: ${message}\n`),
    });
  } finally {
    reporter.finish();
    await state.close();
  }
  for (const message of new Set(result.failed.values())) process.stderr.write(`dysnomia: error: ${message}\n`);
  return result.ok ? 0 : 1;
}
