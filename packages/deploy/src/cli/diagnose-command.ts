import { loadConfig } from '@dysnomia/engine/internal/config.js';
import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';
import { parseOptions } from '@dysnomia/engine/internal/cli/run-cli.js';
import { chooseStateDir } from '@dysnomia/engine/internal/state-dir.js';
import { Store } from '@dysnomia/engine/internal/store/store.js';
import { diagnose } from '../diagnose/diagnose.js';
import { quietReporter } from '../deploy/progress.js';
import { stateBackendFor } from '../deploy/state/open-state.js';
import { loadInfrastructure } from '../models/infrastructure.js';
import { processTerminal } from '../remote/terminal.js';
import { CONNECTION_OPTIONS, CONNECTION_OPTIONS_HELP, connectionSettingsFrom, profileOption } from './target-options.js';

export const HELP = `Usage: dysnomia diagnose -s SERVICE [-i INFRASTRUCTURE] [-p PROFILE] [-t TARGET]
                         [-C CONTAINER] [--command COMMAND] [OPTION]...

Opens a shell on the target a service runs on, in its container's
environment as its module sets it up, as disnix-diagnose does: the same
shell "dysnomia --shell" gives on that machine (the container's properties
as the models gave them, this_component, this_container,
this_dysnomia_module). Which target, container, type and component: from
this machine's record of the profile's current deployment (the state
backend: files, or PostgreSQL). A service on several targets needs -t, one
in several containers there -C; the message lists them.

On a terminal the shell gets a pseudo-terminal of this one's size (resized
with it); otherwise standard input is passed on. The exit status is the
shell's. With --command, COMMAND runs instead (with no input), its output is
printed and its exit status is this command's.

Options:
  -s, --service=NAME         The service
  -i, --infrastructure=FILE  How to reach the targets (default: as the
                             recorded deployment reached them)
  -p, --profile=NAME         The profile (default: default)
  -t, --target=NAME          The target, when the service runs on several
  -C, --container=NAME       The container, when it runs in several there
      --command=COMMAND      Run COMMAND in that environment and exit
${CONNECTION_OPTIONS_HELP}      --debug                Show stack traces
  -h, --help                 Show this help

Exit status: the shell's or COMMAND's; 1 the target could not be reached;
2 bad usage, a bad model, or an unknown service, target or container (the
message names it and lists the known ones).
`;

export const OPTIONS = {
  service: { type: 'string', short: 's' },
  infrastructure: { type: 'string', short: 'i' },
  profile: { type: 'string', short: 'p' },
  target: { type: 'string', short: 't' },
  container: { type: 'string', short: 'C' },
  command: { type: 'string' },
  ...CONNECTION_OPTIONS,
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function diagnoseCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.service === undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'no service given: pass -s SERVICE');
  const profile = profileOption(values.profile, 'default');
  const connection = connectionSettingsFrom(values);
  const infrastructure = values.infrastructure === undefined ? undefined : await loadInfrastructure(values.infrastructure);
  const config = await loadConfig(process.cwd());
  const stateDir = chooseStateDir(config.stateDir);
  const state = stateBackendFor(config, stateDir);
  try {
    return await diagnose(
      {
        service: values.service,
        ...(values.target === undefined ? {} : { target: values.target }),
        ...(values.container === undefined ? {} : { container: values.container }),
        ...(values.command === undefined ? {} : { command: values.command }),
      },
      {
        records: state.records(profile),
        profile,
        ...(infrastructure ? { infrastructure } : {}),
        store: Store.at(stateDir),
        reporter: quietReporter,
        ...connection,
        log: (message) => process.stderr.write(`dysnomia: ${message}\n`),
        terminal: processTerminal(values.command === undefined ? 'pass' : 'none'),
      },
    );
  } finally {
    await state.close();
  }
}
