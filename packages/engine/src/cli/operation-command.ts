import { Engine } from '../engine.js';
import { DysnomiaError } from '../errors.js';
import { readFile } from 'node:fs/promises';
import { parseJsonContainer } from '../containers/parse-container-file.js';
import { isOperation } from '../plugin.js';
import { didYouMean } from '../suggest.js';
import { commandWords } from './command-words.js';
import { abortOnSignals, parseOptions } from './run-cli.js';
import { printVersion } from './version-text.js';

export const HELP = `Usage: dysnomia --operation OPERATION --component COMPONENT --container CONTAINER [--type TYPE]
  or:  dysnomia --operation OPERATION --component COMPONENT --type TYPE --environment
  or:  dysnomia OPERATION --component COMPONENT (--container CONTAINER | --type TYPE --environment)
  or:  dysnomia --shell --component COMPONENT (--container CONTAINER | --type TYPE --environment) [--command COMMAND]
  or:  dysnomia containers [OPTION]...      (the same as dysnomia-containers)
  or:  dysnomia snapshots [OPTION]...       (the same as dysnomia-snapshots)
  or:  dysnomia plugins [--json]
  or:  dysnomia init [--plugin NAME]     (a starting set of models, or a plugin package)
  or:  dysnomia deploy -s SERVICES -i INFRASTRUCTURE -d DISTRIBUTION [OPTION]...
                                         (deploy to machines, as disnix-env; or -P PACKAGES)
  or:  dysnomia capture-infra -i INFRASTRUCTURE [OPTION]...
  or:  dysnomia collect-garbage -i INFRASTRUCTURE [-d] [-p PROFILE] [OPTION]...
                                         (every target's store, as disnix-collect-garbage)
  or:  dysnomia diagnose -s SERVICE [-i INFRASTRUCTURE] [-p PROFILE] [-t TARGET]
                                         (a shell in the service's environment on its target)
  or:  dysnomia visualize -s SERVICES -i INFRASTRUCTURE -d DISTRIBUTION [OPTION]...
  or:  dysnomia store|profile [OPTION]...   (this machine's store and profiles)
  or:  dysnomia state [migrate --to postgres]  (where deployment records and locks live)
  or:  dysnomia query -i INFRASTRUCTURE [-p PROFILE]  (what each target runs)
  or:  dysnomia reconstruct -i INFRASTRUCTURE [-p PROFILE]
                                         (this machine's record, from the targets)
  or:  dysnomia snapshot|restore -i INFRASTRUCTURE [-p PROFILE] [OPTION]...
                                         (the profile's services' state on their
                                         machines, as disnix-snapshot/disnix-restore)
  or:  dysnomia clean-snapshots -i INFRASTRUCTURE [OPTION]...  (disnix-clean-snapshots)
  Each of these has its own --help.

Runs a deployment operation on a component hosted in a container, as Dysnomia
does, through a type plugin (an npm package) or a Dysnomia executable module.

Operations: activate, deactivate, lock, unlock, snapshot, restore,
collect-garbage, capture. activate and deactivate may be repeated safely.

Options:
  -o, --operation=OPERATION  The operation to run on the component
  -c, --component=COMPONENT  Path to the component (/… or ./…), or a name looked
                             up as DIR/CONTAINER/NAME in DYSNOMIA_COMPONENTS_PATH
  -C, --container=CONTAINER  Path to a container configuration (/… or ./…), or
                             a container name (see "Containers" below)
  -t, --type=TYPE            The type, i.e. the module that runs the operation;
                             a name, or a path to a module. Without it the
                             container's "type=" property names the type
  -E, --environment          Take the container's properties from the current
                             environment instead of a container file; an
                             executable module then inherits the environment
      --shell                Start a bash session with the container's
                             properties in the environment, set up by the module
      --command=COMMAND      With --shell: run COMMAND instead of a session
      --container-properties=FILE
                             With --container NAME: a JSON file of properties
                             laid over the container's own, as a deployment
                             gives them (dysnomia diagnose uses it)
      --config=FILE          Use this config file instead of searching for one
      --debug                Show stack traces and the commands modules run
  -h, --help                 Show this help
  -v, --version              Show the version

Modules are searched in this order (first hit wins):
  1. --type given as a path: an executable file (Dysnomia module), a .js/.mjs
     file or a folder with package.json (plugin), or a folder holding one
     module in etc/dysnomia/modules/ or libexec/dysnomia/
  2. DYSNOMIA_MODULES_PATH, then the config's modulesPath: DIR/TYPE (an
     executable or a plugin folder) or DIR/TYPE.js|.mjs
  3. every profile in STATEDIR/profiles: etc/dysnomia/modules/TYPE and
     libexec/dysnomia/TYPE
  4. npm: plugins listed in the config, then @dysnomia/plugin-TYPE and
     dysnomia-plugin-TYPE, resolved from the config file's folder, the working
     folder, then the engine's own install

Containers are searched by name in DYSNOMIA_CONTAINERS_PATH, the config's
containersPath, STATEDIR/profiles/*/etc/dysnomia/containers, then
/etc/dysnomia/containers, as NAME (key=value lines) or NAME.json.

Config: dysnomia.config.{js,mjs,cjs,ts,json},
.dysnomiarc[.json|.yaml|.yml|.js|.mjs|.cjs|.ts] or a "dysnomia" key in
package.json, from the working folder up to the project root (--config FILE
names one). Keys: modulesPath, containersPath, plugins, stateDir.

Environment:
  DYSNOMIA_STATEDIR         State folder (default /var/state/dysnomia for root,
                            ~/.dysnomia otherwise; the config's stateDir if set)
  DYSNOMIA_MODULES_PATH     Colon-separated folders searched for modules
  DYSNOMIA_CONTAINERS_PATH  Colon-separated folders searched for containers
  DYSNOMIA_COMPONENTS_PATH  Colon-separated folders searched for components
                            given by name (default /etc/dysnomia/components)
  DYSNOMIA_CODE_CACHE       "off": compile the engine afresh on every call
                            instead of keeping V8's code cache in
                            $XDG_CACHE_HOME/dysnomia (default ~/.cache/dysnomia)

Exit status: 0 success; 1 the operation failed; 2 bad usage or bad input
(nothing was run).
`;

export const OPTIONS = {
  operation: { type: 'string', short: 'o' },
  component: { type: 'string', short: 'c' },
  container: { type: 'string', short: 'C' },
  type: { type: 'string', short: 't' },
  environment: { type: 'boolean', short: 'E' },
  shell: { type: 'boolean' },
  command: { type: 'string' },
  'container-properties': { type: 'string' },
  config: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export async function operationCommand(argv: string[], operationWord: string | undefined): Promise<number> {
  // A first word that is no command (a misspelt "depoy"), named before its options, which belong to the command meant.
  const word = operationWord === undefined ? argv[0] : undefined;
  if (word !== undefined && !word.startsWith('-')) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `unexpected argument "${word}"${didYouMean(word, commandWords())}`);
  const { values, positionals } = parseOptions(argv, OPTIONS, true);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) return printVersion('dysnomia');
  if (positionals.length > 0) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `unexpected argument "${positionals[0]!}"`);
  if (values.command !== undefined && !values.shell) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', '--command goes with --shell');
  const operation = values.operation ?? operationWord;
  if (values.operation && operationWord && values.operation !== operationWord) {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `two operations given: "${operationWord}" and --operation ${values.operation}`);
  }
  if (!values.shell && operation === undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'no operation given: pass --operation OPERATION (or --shell)');
  if (values.shell && operation !== undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', '--shell takes no operation');
  if (operation !== undefined && !isOperation(operation)) {
    throw new DysnomiaError(
      'ERR_DYSNOMIA_USAGE',
      `--operation ${operation}: unknown operation (one of activate, deactivate, lock, unlock, snapshot, restore, collect-garbage, capture)`,
    );
  }
  if (values.component === undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'no component given: pass --component PATH');
  if (values['container-properties'] !== undefined && (values.container === undefined || values.environment)) {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', '--container-properties goes with --container NAME (not with --environment)');
  }
  const containerProperties = values['container-properties'] === undefined ? undefined : await readContainerProperties(values['container-properties']);

  const engine = await Engine.create({
    ...(values.config ? { configFile: values.config } : {}),
    logLevel: values.debug ? 'debug' : 'info',
    signal: abortOnSignals(),
  });
  const request = {
    component: values.component,
    ...(values.container === undefined ? {} : { container: values.container }),
    ...(values.type === undefined ? {} : { type: values.type }),
    useEnvironment: values.environment ?? false,
    ...(containerProperties === undefined ? {} : { containerProperties }),
  };
  if (values.shell) return engine.shell(request, values.command);
  const outcome = await engine.run({ ...request, operation: operation as Parameters<Engine['run']>[0]['operation'] });
  if (outcome.skipped) engine.log.info(`${operation} ${outcome.context.componentName} in ${outcome.context.container.name}: ${outcome.skipped}`);
  if (outcome.result !== undefined) process.stdout.write(`${typeof outcome.result === 'string' ? outcome.result : JSON.stringify(outcome.result, null, 2)}\n`);
  return 0;
}

async function readContainerProperties(file: string): Promise<ReturnType<typeof parseJsonContainer>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `--container-properties ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  return parseJsonContainer(text, file);
}
