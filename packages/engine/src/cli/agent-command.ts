import { serveAgent } from '../agent/agent.js';
import { loadConfig } from '../config.js';
import { chooseStateDir } from '../state-dir.js';
import { parseOptions } from './run-cli.js';

export const HELP = `Usage: dysnomia agent [--plugin=FOLDER]... [--debug]

Used by "dysnomia deploy", "capture-infra", "collect-garbage -i" and
"diagnose" on each target: reads one JSON request per line on standard input
(run an operation on a store entry, describe this machine's containers, take
or release a profile lock, hold store entries from the garbage collector,
collect the store) and prints one JSON answer per line, until its input ends;
then what it held is released. Not meant to be
typed by hand. Each --plugin is a plugin package folder loaded as if the
config listed it (the plugins the coordinator sent with the runtime);
--debug passes modules' debug lines on.

Environment:
  DYSNOMIA_STATEDIR  The state folder (default: the config's stateDir, else
                     /var/state/dysnomia for root, ~/.dysnomia otherwise)
`;

export async function agentCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, { help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' }, plugin: { type: 'string', multiple: true } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const config = await loadConfig(process.cwd());
  await serveAgent(process.stdin, process.stdout, chooseStateDir(config.stateDir), { plugins: values.plugin ?? [], debug: values.debug === true });
  return 0;
}
