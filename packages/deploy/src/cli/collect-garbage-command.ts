import { loadConfig } from '@dysnomia/engine/internal/config.js';
import { EXIT_OPERATION_FAILED, usageError as usage } from '@dysnomia/engine/internal/errors.js';
import { parseOptions } from '@dysnomia/engine/internal/cli/run-cli.js';
import { assertProfileName } from '@dysnomia/engine/internal/profiles/names.js';
import { chooseStateDir } from '@dysnomia/engine/internal/state-dir.js';
import { Store } from '@dysnomia/engine/internal/store/store.js';
import { collectGarbageOnTargets } from '../collect/collect-garbage.js';
import { jsonReporter, plainReporter, terminalReporter } from '../deploy/progress.js';
import { loadInfrastructure } from '../models/infrastructure.js';
import { MANY_TARGETS_OPTIONS, MANY_TARGETS_OPTIONS_HELP, targetSettingsFrom } from './target-options.js';

export const HELP = `Usage: dysnomia collect-garbage -i INFRASTRUCTURE [-d] [-p PROFILE] [OPTION]...

Collects the garbage of the store on every target of INFRASTRUCTURE, as
disnix-collect-garbage does: removes each store entry that no profile
generation, no deployment record and no activated component of the target
refers to (the runtime a target runs stays). Connects as deploy does
(installing the runtime where it is missing). With -d, first deletes every
generation but the current one of every profile on each target (only of
PROFILE with -p), so what only old generations referred to goes too.

A collection and a deployment on the same target are serialised: what a
running deployment has sent but not yet put into a profile is held by it
until its profile switch (or until its agent ends: a killed deploy holds
nothing), and a collection keeps it; a deployment waits while a collection
runs. -d leaves the generations of a profile whose lock a deployment holds.

Each target says what it removed and the bytes freed.

Options:
  -i, --infrastructure=FILE  The infrastructure model
  -d, --delete-old           Delete old profile generations first
  -p, --profile=NAME         With -d: only this profile's (default: every profile)
      --json                 Print one JSON event per line ({"v":1,"event":…});
                             "collected" events carry each target's summary
${MANY_TARGETS_OPTIONS_HELP}      --debug                Show stack traces
  -h, --help                 Show this help

Without -i, "dysnomia collect-garbage" is the operation on one component here
(see dysnomia --help).

Exit status: 0 success; 1 a target could not be reached or its collection
failed (the message names it; the other targets are collected); 2 bad usage
or a bad model (the message names the file and line).
`;

export const OPTIONS = {
  infrastructure: { type: 'string', short: 'i' },
  'delete-old': { type: 'boolean', short: 'd' },
  profile: { type: 'string', short: 'p' },
  json: { type: 'boolean' },
  ...MANY_TARGETS_OPTIONS,
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;


export async function collectGarbageCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.infrastructure === undefined) throw usage('no infrastructure model: pass -i INFRASTRUCTURE');
  if (values.profile !== undefined && !values['delete-old']) throw usage('--profile chooses whose old generations -d deletes: it goes with -d');
  if (values.profile !== undefined) assertProfileName(values.profile);
  const settings = targetSettingsFrom(values);
  const infrastructure = await loadInfrastructure(values.infrastructure);
  const config = await loadConfig(process.cwd());
  const reporter = values.json ? jsonReporter(process.stdout) : process.stdout.isTTY ? terminalReporter(process.stdout) : plainReporter(process.stdout);
  let result;
  try {
    result = await collectGarbageOnTargets({
      infrastructure,
      store: Store.at(chooseStateDir(config.stateDir)),
      reporter,
      ...settings,
      log: (message) => process.stderr.write(`dysnomia: ${message}\n`),
      deleteOldGenerations: values['delete-old'] === true,
      ...(values.profile === undefined ? {} : { profile: values.profile }),
    });
  } finally {
    reporter.finish();
  }
  for (const message of result.failed.values()) process.stderr.write(`dysnomia: error: ${message}\n`);
  return result.failed.size > 0 ? EXIT_OPERATION_FAILED : 0;
}
