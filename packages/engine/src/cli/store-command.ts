import { loadConfig } from '../config.js';
import type { DysnomiaConfig } from '../config.js';
import { DysnomiaError } from '../errors.js';
import { withCollectionLock } from '../store/collection.js';
import { chooseStateDir } from '../state-dir.js';
import { assertComponentName, isEntryName } from '../store/entry-name.js';
import { Store } from '../store/store.js';
import { DEPLOY_PACKAGE } from './coordinator-commands.js';
import { parseOptions } from './run-cli.js';
import { printVersion } from './version-text.js';

export const HELP = `Usage: dysnomia store [OPTION]... OPERATION [ARG]...

Manages the content-addressed store, STATEDIR/store: read-only entries named
HASH-NAME, the hash covering the contents, the name and the entries each one
refers to. An ENTRY argument is an entry name or its path in the store.

Operations (one at a time):
      --add SOURCE...         Add folders, tarballs (.tgz, .tar.gz, .tar) or
                              npm:SPEC packages (installed with their
                              production dependencies; their commands in
                              ENTRY/bin); print the entry paths
      --query-missing ENTRY...
                              Print the given entries the store lacks
      --closure ENTRY...      Print the paths of the entries and of all they
                              refer to, references first
      --export ENTRY...       Write an archive of the entries (only those:
                              use --closure to find what they need) to
                              standard output
      --import                Read an archive from standard input, verify
                              every entry's hash and add them; print their
                              paths. A damaged or cut-off archive adds nothing
      --verify [ENTRY...]     Recompute the hashes of the entries (all when
                              none is given); print those that fail and exit
                              with status 1 if any does
      --gc                    Remove the entries no profile generation, no
                              deployment manifest (STATEDIR/deployments/**.json,
                              "storePaths") and no activated component refers
                              to, directly or not, and that no running
                              deployment holds; print them. Refused while a
                              deployment holds a profile lock here
  -h, --help                  Show this help
  -v, --version               Show the version

Parameters:
      --name=NAME    With --add of one source: the name after the hash
      --dry-run      With --gc: only print what would be removed
      --json         Print the result as JSON
      --debug        Show stack traces on errors

Environment:
  DYSNOMIA_STATEDIR  The state folder (default: the config's stateDir, else
                     /var/state/dysnomia for root, ~/.dysnomia otherwise)

Exit status: 0 success; 1 an operation failed (an entry failed --verify, an
archive was refused, a build failed); 2 bad usage or bad input.
`;

const OPERATIONS = ['add', 'query-missing', 'closure', 'export', 'import', 'verify', 'gc'] as const;
type Operation = (typeof OPERATIONS)[number];
const NEEDS_ARGS: ReadonlySet<Operation> = new Set(['add', 'query-missing', 'closure', 'export']);
const TAKES_ARGS: ReadonlySet<Operation> = new Set([...NEEDS_ARGS, 'verify']);

export const OPTIONS = {
  add: { type: 'boolean' },
  'query-missing': { type: 'boolean' },
  closure: { type: 'boolean' },
  export: { type: 'boolean' },
  import: { type: 'boolean' },
  verify: { type: 'boolean' },
  gc: { type: 'boolean' },
  name: { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export async function storeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, true);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) return printVersion('dysnomia');

  const operation = chooseOperation(values);
  if (NEEDS_ARGS.has(operation) && positionals.length === 0) throw usage(`--${operation} needs at least one argument`);
  if (!TAKES_ARGS.has(operation) && positionals.length > 0) throw usage(`unexpected argument for --${operation}: ${positionals[0]}`);
  if (values.name !== undefined) {
    if (operation !== 'add') throw usage('--name only applies to --add');
    if (positionals.length !== 1) throw usage('--name names one source: give --add exactly one');
    assertComponentName(values.name);
  }
  if (values['dry-run'] && operation !== 'gc') throw usage('--dry-run only applies to --gc');

  const store = Store.at(await stateDirFromEnvironment());
  const log = (message: string) => process.stderr.write(`${message}\n`);
  const print = (lines: string[], json: unknown = lines) => {
    if (values.json) process.stdout.write(`${JSON.stringify(json)}\n`);
    else if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  };

  switch (operation) {
    case 'add': {
      const entries: string[] = [];
      for (const source of positionals) entries.push(await store.add(source, { cwd: process.cwd(), log, ...(values.name ? { name: values.name } : {}) }));
      print(entries.map((e) => store.path(e)));
      return 0;
    }
    case 'query-missing': {
      const entries = positionals.map((arg) => entryArgument(store, arg));
      const missing = new Set(await store.missing(entries));
      print(positionals.filter((_, i) => missing.has(entries[i]!)));
      return 0;
    }
    case 'closure': {
      const closure = await store.closure(await presentEntries(store, positionals));
      print(closure.map((e) => store.path(e)));
      return 0;
    }
    case 'export':
      await store.exportArchive(await presentEntries(store, positionals), process.stdout);
      return 0;
    case 'import': {
      const entries = await store.importArchive(process.stdin);
      print(entries.map((e) => store.path(e)));
      return 0;
    }
    case 'verify': {
      const entries = positionals.length > 0 ? positionals.map((arg) => entryArgument(store, arg)) : await store.list();
      const failed: string[] = [];
      for (const entry of entries) {
        if (await store.verify(entry)) continue;
        failed.push(entry);
        log(`${entry}: ${(await store.has(entry)) ? 'the contents do not match the hash' : 'not in the store'}`);
      }
      print(failed.map((e) => store.path(e)), { checked: entries.length, failed: failed.map((e) => store.path(e)) });
      return failed.length > 0 ? 1 : 0;
    }
    case 'gc': {
      const extraRoots = await recordedElsewhere(store.stateDir);
      const result = await withCollectionLock(store.stateDir, () => store.collectGarbage({ dryRun: values['dry-run'] === true, extraRoots, ...(values['dry-run'] ? {} : { log }) }), {
        refuseWhileDeploying: true,
      });
      print(result.removed.map((e) => store.path(e)), { removed: result.removed.map((e) => store.path(e)), kept: result.kept, dryRun: values['dry-run'] === true });
      return 0;
    }
  }
}

/**
 * The store entries a coordinator's deployment records in PostgreSQL need
 * (config "state"): roots like the record files in the state folder. A
 * database that cannot be reached stops the collection: better to keep
 * garbage than to remove a recorded component.
 */
async function recordedElsewhere(stateDir: string): Promise<string[]> {
  const config = await loadConfig(process.cwd());
  if (config.state?.backend !== 'postgres') return [];
  // The state backends are the coordinator's (@dysnomia/deploy); only a coordinator's config names PostgreSQL.
  const backends: string = `${DEPLOY_PACKAGE}/state`;
  const { stateBackendFor } = (await import(backends)) as { stateBackendFor(config: DysnomiaConfig, stateDir: string): { storePaths(): Promise<string[]>; close(): Promise<void> } };
  const state = stateBackendFor(config, stateDir);
  try {
    return await state.storePaths();
  } finally {
    await state.close();
  }
}

export async function stateDirFromEnvironment(): Promise<string> {
  return chooseStateDir((await loadConfig(process.cwd())).stateDir);
}

function chooseOperation(values: Partial<Record<Operation, boolean | string | undefined>>): Operation {
  const chosen = OPERATIONS.filter((operation) => values[operation] === true);
  if (chosen[0] === undefined) throw usage(`no operation given: use one of ${OPERATIONS.map((o) => `--${o}`).join(', ')}`);
  if (chosen.length > 1) throw usage(`only one operation at a time: ${chosen.map((o) => `--${o}`).join(' and ')}`);
  return chosen[0];
}

/** An entry name or a path into the store; anything else is bad input naming the argument. */
export function entryArgument(store: Store, arg: string): string {
  const entry = store.entryOf(arg);
  if (entry === undefined || (!isEntryName(arg) && store.path(entry) !== arg.replace(/\/+$/, ''))) {
    throw usage(`not a store entry: '${arg}' (expected HASH-NAME or ${store.dir}/HASH-NAME)`);
  }
  return entry;
}

async function presentEntries(store: Store, args: string[]): Promise<string[]> {
  const entries = args.map((arg) => entryArgument(store, arg));
  const missing = await store.missing(entries);
  if (missing.length > 0) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `not in the store: ${missing.join(', ')}`);
  return entries;
}

function usage(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_USAGE', message);
}
