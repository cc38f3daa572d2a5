import { createInterface } from 'node:readline/promises';
import { listContainerFiles } from '../containers/container-files.js';
import { toJsonDescription, toNixExpression } from '../containers/expression.js';
import { availableComponents, describeMachine } from '../containers/machine.js';
import { Engine } from '../engine.js';
import { DysnomiaError } from '../errors.js';
import { isOperation } from '../plugin.js';
import type { Operation } from '../plugin.js';
import { readMarker } from '../state-dir.js';
import { abortOnSignals, parseOptions } from './run-cli.js';
import { printVersion } from './version-text.js';

export const HELP = `Usage: dysnomia-containers [OPTION]... ACTION
  or:  dysnomia containers [OPTION]... ACTION

Manages all mutable components deployed to the containers of this machine.

Actions:
      --query-containers            List the available containers
      --query-available-components  List the components in the components path
                                    (DIR/CONTAINER/COMPONENT) as CONTAINER/COMPONENT
      --query-activated-components  List the activated components (markers in
                                    STATEDIR/activated) as CONTAINER/COMPONENT
      --generate-expr               Print a Nix expression of the machine's
                                    properties (DYSNOMIA_PROPERTIES) and every
                                    container with its properties
      --json                        Print the same description as JSON; with one
                                    of the query actions, print its list as JSON
  -o, --operation=OPERATION         Run OPERATION on every activated component
      --deploy                      Activate available components that are not
                                    activated; deactivate activated components
                                    that are no longer available
      --snapshot                    Snapshot every activated component
      --restore                     Restore every activated component (asks
                                    first unless -y is given)
      --collect-garbage             Run collect-garbage on every component
                                    marked as garbage

Options:
  -C, --container=CONTAINER         Restrict the action to this container
  -y                                Do not ask before destructive actions
      --config=FILE                 Use this config file instead of searching
      --debug                       Show stack traces and commands run
  -h, --help                        Show this help
  -v, --version                     Show the version

Environment:
  DYSNOMIA_CONTAINERS_PATH  Colon-separated folders of container files (then the
                            config's containersPath, the profiles' containers
                            and /etc/dysnomia/containers)
  DYSNOMIA_COMPONENTS_PATH  Colon-separated folders of components (default
                            /etc/dysnomia/components)
  DYSNOMIA_PROPERTIES       Machine properties file (default /etc/dysnomia/properties)
  DYSNOMIA_STATEDIR         State folder (default /var/state/dysnomia for root,
                            ~/.dysnomia otherwise)

Exit status: 0 success; 1 an operation failed (the ones after it are not run);
2 bad usage or bad input.
`;

const ACTIONS = [
  'query-containers',
  'query-available-components',
  'query-activated-components',
  'generate-expr',
  'operation',
  'deploy',
  'snapshot',
  'restore',
  'collect-garbage',
] as const;

export const OPTIONS = {
    'query-containers': { type: 'boolean' },
    'query-available-components': { type: 'boolean' },
    'query-activated-components': { type: 'boolean' },
    'generate-expr': { type: 'boolean' },
    json: { type: 'boolean' },
    operation: { type: 'string', short: 'o' },
    deploy: { type: 'boolean' },
    snapshot: { type: 'boolean' },
    restore: { type: 'boolean' },
    'collect-garbage': { type: 'boolean' },
    container: { type: 'string', short: 'C' },
    y: { type: 'boolean', short: 'y' },
    config: { type: 'string' },
    debug: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
} as const;

export async function containersCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) return printVersion('dysnomia-containers');
  const chosen = ACTIONS.filter((action) => values[action] !== undefined && values[action] !== false);
  if (chosen.length > 1) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `choose one action, not ${chosen.map((a) => `--${a}`).join(' and ')}`);
  const action = chosen[0] ?? (values.json ? 'generate-expr' : undefined);
  if (!action) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'no action given (for example --query-containers or --generate-expr)');
  if (values.operation !== undefined && !isOperation(values.operation)) {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `--operation ${values.operation}: unknown operation`);
  }

  const engine = await Engine.create({
    ...(values.config ? { configFile: values.config } : {}),
    logLevel: values.debug ? 'debug' : 'info',
    signal: abortOnSignals(),
  });
  const only = values.container;
  const printList = (items: string[]) => process.stdout.write(values.json ? `${JSON.stringify(items)}\n` : items.map((i) => `${i}\n`).join(''));

  switch (action) {
    case 'query-containers': {
      const names = [...(await listContainerFiles(await engine.searchPaths.containersDirs())).keys()];
      printList(names.filter((n) => only === undefined || n === only));
      return 0;
    }
    case 'query-available-components':
      printList((await availableComponents(engine, only)).map((c) => `${c.container}/${c.component}`));
      return 0;
    case 'query-activated-components':
      printList((await engine.stateDir.listMarkers('activated', only)).map((m) => `${m.container}/${m.component}`));
      return 0;
    case 'generate-expr': {
      const machine = await describeMachine(engine, only);
      process.stdout.write(values.json ? toJsonDescription(machine) : toNixExpression(machine));
      return 0;
    }
    case 'operation':
      return onActivated(engine, values.operation as Operation, only);
    case 'snapshot':
      return onActivated(engine, 'snapshot', only);
    case 'restore':
      if (!values.y && !(await confirmRestore())) {
        process.stderr.write('Not executing the restore operations.\n');
        return process.stdin.isTTY ? 0 : 2;
      }
      return onActivated(engine, 'restore', only);
    case 'collect-garbage':
      return runOnEach(engine, 'collect-garbage', await markerTargets(engine, 'garbage', only));
    case 'deploy':
      return deploy(engine, only);
  }
}

interface Target {
  container: string;
  component: string;
  /** What to pass as --component: the component's path. */
  path: string;
}

/**
 * The components markers name: the path a marker holds (the engine writes
 * it), else, for a module's own empty marker, the component of that name in
 * the components path. A marker whose component cannot be found is skipped
 * with a warning.
 */
async function markerTargets(engine: Engine, kind: 'activated' | 'garbage', only: string | undefined): Promise<Target[]> {
  const markers = await engine.stateDir.listMarkers(kind, only);
  const available = markers.length > 0 ? await availableComponents(engine, only) : [];
  const targets: Target[] = [];
  for (const m of markers) {
    const recorded = await readMarker(m.marker);
    const found = recorded ? recorded : available.find((c) => c.container === m.container && c.component === m.component)?.path;
    if (found) targets.push({ container: m.container, component: m.component, path: found });
    else engine.log.warn(`skipping ${m.container}/${m.component}: its ${kind} marker names no component, and none of that name is in the components path`);
  }
  return targets;
}

/**
 * Runs an operation on each component in turn, stopping at the first failure
 * (as Dysnomia's loop does). A container with no configuration on this machine
 * (a stray folder, or a marker left by --environment) is skipped with a
 * warning rather than stopping everything else.
 */
async function runOnEach(engine: Engine, operation: Operation, targets: Target[]): Promise<number> {
  const missing = new Set<string>();
  const skip = (target: Target) =>
    engine.log.warn(`skipping ${target.container}/${target.component}: no container configuration named "${target.container}" on this machine`);
  for (const target of targets) {
    if (missing.has(target.container)) {
      skip(target);
      continue;
    }
    try {
      await engine.run({ operation, container: target.container, component: target.path });
      engine.log.info(`${operation} ${target.component} in container ${target.container}: done`);
    } catch (error) {
      if ((error as DysnomiaError).code !== 'ERR_DYSNOMIA_CONTAINER_NOT_FOUND') throw error;
      missing.add(target.container);
      skip(target);
    }
  }
  return 0;
}

async function onActivated(engine: Engine, operation: Operation, only: string | undefined): Promise<number> {
  return runOnEach(engine, operation, await markerTargets(engine, 'activated', only));
}

async function deploy(engine: Engine, only: string | undefined): Promise<number> {
  const available = await availableComponents(engine, only);
  const activated = await engine.stateDir.listMarkers('activated', only);
  const key = (c: { container: string; component: string }) => `${c.container}/${c.component}`;
  const availableKeys = new Set(available.map(key));
  const activatedKeys = new Set(activated.map(key));
  const gone = new Set(activated.filter((m) => !availableKeys.has(key(m))).map(key));
  await runOnEach(engine, 'deactivate', (await markerTargets(engine, 'activated', only)).filter((m) => gone.has(key(m))));
  return runOnEach(engine, 'activate', available.filter((c) => !activatedKeys.has(key(c))));
}

async function confirmRestore(): Promise<boolean> {
  if (!process.stdin.isTTY) {
    process.stderr.write('dysnomia-containers: --restore overwrites the state of every activated component; pass -y to confirm.\n');
    return false;
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(
      'This restores the state of all mutable components in the selected containers; it can only be undone from\nrecent snapshots. Proceed? [n] ',
    );
    return answer.trim().toLowerCase() === 'y';
  } finally {
    prompt.close();
  }
}
