#!/usr/bin/env node
import { runCli } from './run-cli.js';

const OPERATION_WORDS = new Set(['activate', 'deactivate', 'lock', 'unlock', 'snapshot', 'restore', 'collect-garbage', 'capture']);

const HELP = `Usage: dysnomia --operation OPERATION --component COMPONENT --container CONTAINER [--type TYPE]
  or:  dysnomia --operation OPERATION --component COMPONENT --type TYPE --environment
  or:  dysnomia OPERATION --component COMPONENT (--container CONTAINER | --type TYPE --environment)
  or:  dysnomia --shell --component COMPONENT (--container CONTAINER | --type TYPE --environment) [--command COMMAND]
  or:  dysnomia containers [OPTION]...      (the same as dysnomia-containers)
  or:  dysnomia snapshots [OPTION]...       (the same as dysnomia-snapshots)
  or:  dysnomia plugins [--json]

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

Config: dysnomia.config.{js,mjs,ts,json}, .dysnomiarc[.json|.yaml|.yml|.js|.mjs]
or a "dysnomia" key in package.json, from the working folder up to the project
root. Keys: modulesPath, containersPath, plugins, stateDir.

Environment:
  DYSNOMIA_STATEDIR         State folder (default /var/state/dysnomia for root,
                            ~/.dysnomia otherwise; the config's stateDir if set)
  DYSNOMIA_MODULES_PATH     Colon-separated folders searched for modules
  DYSNOMIA_CONTAINERS_PATH  Colon-separated folders searched for containers
  DYSNOMIA_COMPONENTS_PATH  Colon-separated folders searched for components
                            given by name (default /etc/dysnomia/components)

Exit status: 0 success; 1 the operation failed; 2 bad usage or bad input
(nothing was run).
`;

await runCli('dysnomia', async (argv) => {
  const [first, ...rest] = argv;
  if (first === '-v' || first === '--version') return (await import('./version-text.js')).printVersion('dysnomia');
  if (first === 'containers') return (await import('./containers-command.js')).containersCommand(rest);
  if (first === 'snapshots') return (await import('./snapshots-command.js')).snapshotsCommand(rest);
  if (first === 'plugins') return (await import('./plugins-command.js')).pluginsCommand(rest);
  const operationWord = first !== undefined && OPERATION_WORDS.has(first) ? first : undefined;
  return (await import('./operation-command.js')).operationCommand(operationWord === undefined ? argv : rest, operationWord, HELP);
});
