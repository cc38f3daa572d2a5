import { loadConfig } from '../config.js';
import { DysnomiaError } from '../errors.js';
import { chooseStateDir, StateDir } from '../state-dir.js';
import { checkSnapshots } from '../snapshots/check.js';
import { collectGarbage } from '../snapshots/gc.js';
import { assertSegment, determineName } from '../snapshots/names.js';
import { missingSnapshots, queryAll, queryLatest, resolveSnapshotPaths, type SnapshotFilter } from '../snapshots/query.js';
import { importSnapshot } from '../snapshots/store.js';
import { exportSnapshotArchive, importSnapshotArchive } from '../snapshots/archive.js';
import { parseOptions } from './run-cli.js';
import { printVersion } from './version-text.js';

export const HELP = `Usage: dysnomia-snapshots [OPTION]... OPERATION [PATH]...
  or:  dysnomia snapshots [OPTION]... OPERATION [PATH]...

Manages the store of snapshots in the state folder: generations of the logical
state of mutable components hosted in containers. A snapshot is named by its
path relative to STATEDIR/snapshots, CONTAINER/COMPONENT/ID, the same on every
machine; generation N of a component is the link
STATEDIR/generations/CONTAINER/COMPONENT/N, and the latest snapshot is the one
the highest generation links to.

Operations (one at a time):
      --query-all      Print the relative paths of the snapshots every
                       generation of the selected components links to, oldest
                       first
      --query-latest   Print the relative path of the latest snapshot of each
                       selected component
      --print-missing PATH...
                       Print the given relative paths that do not exist in
                       the snapshots folder
      --resolve PATH...
                       Print the absolute paths of the given relative paths
      --check [PATH...]
                       Verify snapshots against the checksums recorded in
                       STATEDIR/checksums (every snapshot --query-all lists
                       when no path is given); print the paths that fail, the
                       reason on standard error, and exit with status 1 if any
                       does
      --import PATH... Copy snapshots (folders or files, named by their ID)
                       into the snapshots of the component given with -c in
                       the container given with -C, and make each the next
                       generation (unless it already is the latest); a
                       snapshot already stored with the same contents is not
                       copied again. Prints their relative paths
      --export-archive PATH...
                       Write the given snapshots to standard output as one
                       archive (a header line listing each with its checksum,
                       then a tar stream), for --import-archive on another
                       machine; what "dysnomia snapshot -i" transfers
      --import-archive Read such an archive from standard input into the
                       snapshots of the component given with -c in the
                       container given with -C, each the next generation in
                       the archive's order; a snapshot whose contents do not
                       match its checksum refuses the whole archive. Prints
                       their relative paths
      --gc             Remove all but the last --keep generations of each
                       selected component, and the snapshots the kept
                       generations do not link to
  -h, --help           Show this help
  -v, --version        Show the version

Parameters:
  -C, --container=CONTAINER  Name of (or path to) the container: restricts
                             --query-all, --query-latest, --check without
                             paths and --gc to it; required by --import and
                             --import-archive
  -c, --component=COMPONENT  Name of (or path to) the component: restricts
                             the same operations to it; required by --import
                             and --import-archive
      --keep=NUM             With --gc: the number of generations to keep per
                             component (default 1)
      --debug                Show stack traces on errors

A path to a container or component stands for its last segment; for a Nix
store path, without the hash prefix.

Environment:
  DYSNOMIA_STATEDIR  The state folder holding snapshots/, generations/ and
                     checksums/ (default: the config's stateDir, else
                     /var/state/dysnomia for root, ~/.dysnomia otherwise)
  NIX_STORE_DIR      The Nix store whose hash prefix is stripped from -C and
                     -c paths (default /nix/store)

Exit status: 0 success; 1 an operation failed (a snapshot failed --check, or
--import found a snapshot with that ID stored with other contents); 2 bad
usage or bad input.
`;

const OPERATIONS = ['query-all', 'query-latest', 'print-missing', 'resolve', 'check', 'import', 'export-archive', 'import-archive', 'gc'] as const;
type Operation = (typeof OPERATIONS)[number];
const TAKES_PATHS: ReadonlySet<Operation> = new Set(['print-missing', 'resolve', 'check', 'import', 'export-archive']);

export const OPTIONS = {
  'query-all': { type: 'boolean' },
  'query-latest': { type: 'boolean' },
  'print-missing': { type: 'boolean' },
  resolve: { type: 'boolean' },
  check: { type: 'boolean' },
  import: { type: 'boolean' },
  'export-archive': { type: 'boolean' },
  'import-archive': { type: 'boolean' },
  gc: { type: 'boolean' },
  container: { type: 'string', short: 'C' },
  component: { type: 'string', short: 'c' },
  keep: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export async function snapshotsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, true);

  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) return printVersion('dysnomia-snapshots');

  const chosen = OPERATIONS.filter((operation) => values[operation] === true);
  const operation = chosen[0];
  if (operation === undefined) throw usage(`no operation given: use one of ${OPERATIONS.map((o) => `--${o}`).join(', ')}`);
  if (chosen.length > 1) throw usage(`only one operation at a time: ${chosen.map((o) => `--${o}`).join(' and ')}`);
  if (!TAKES_PATHS.has(operation) && positionals.length > 0) throw usage(`unexpected argument for --${operation}: ${positionals[0]}`);

  let keep: number | undefined;
  if (values.keep !== undefined) {
    if (operation !== 'gc') throw usage('--keep only applies to --gc');
    if (!/^\d+$/.test(values.keep)) throw usage(`--keep takes a whole number of generations, not '${values.keep}'`);
    keep = Number(values.keep);
  }

  const filter: SnapshotFilter = {
    container: nameOption('container', values.container),
    component: nameOption('component', values.component),
  };
  const root = new StateDir(chooseStateDir((await loadConfig(process.cwd())).stateDir)).root;

  switch (operation) {
    case 'query-all':
      printLines(await queryAll(root, filter));
      return 0;
    case 'query-latest':
      printLines(await queryLatest(root, filter));
      return 0;
    case 'print-missing':
      printLines(await missingSnapshots(root, positionals));
      return 0;
    case 'resolve':
      printLines(resolveSnapshotPaths(root, positionals));
      return 0;
    case 'check': {
      const results = await checkSnapshots(root, positionals.length > 0 ? positionals : await queryAll(root, filter));
      const failed = results.filter((r) => r.status !== 'ok');
      for (const r of failed) {
        const reason =
          r.status === 'missing'
            ? 'the snapshot does not exist'
            : r.status === 'no-checksum'
              ? 'no checksum is recorded for it'
              : `checksum mismatch: recorded ${r.expected}, contents have ${r.actual}`;
        process.stderr.write(`${r.path}: ${reason}\n`);
      }
      printLines(failed.map((r) => r.path));
      return failed.length > 0 ? 1 : 0;
    }
    case 'import': {
      if (filter.container === undefined) throw usage('--import needs the container: -C CONTAINER');
      if (filter.component === undefined) throw usage('--import needs the component: -c COMPONENT');
      for (const source of positionals) {
        const stored = await importSnapshot(root, filter.container, filter.component, source);
        printLines([stored.relativePath]);
      }
      return 0;
    }
    case 'export-archive':
      if (positionals.length === 0) throw usage('--export-archive needs the relative paths of the snapshots (CONTAINER/COMPONENT/ID)');
      await exportSnapshotArchive(root, positionals, process.stdout);
      return 0;
    case 'import-archive': {
      if (filter.container === undefined) throw usage('--import-archive needs the container: -C CONTAINER');
      if (filter.component === undefined) throw usage('--import-archive needs the component: -c COMPONENT');
      printLines((await importSnapshotArchive(process.stdin, root, filter.container, filter.component)).map((s) => s.path));
      return 0;
    }
    case 'gc':
      await collectGarbage(root, { ...filter, keep, log: (message) => process.stderr.write(`${message}\n`) });
      return 0;
  }
}

function usage(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_USAGE', message);
}

function nameOption(kind: 'container' | 'component', value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const name = determineName(value);
  try {
    return assertSegment(kind, name);
  } catch {
    throw usage(`--${kind}: not a ${kind} name or path: '${value}'`);
  }
}

function printLines(lines: string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}
