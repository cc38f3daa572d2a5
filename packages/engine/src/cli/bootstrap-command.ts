import fs from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { RUNTIME_ROOT_FILE, RUNTIMES_KEPT } from '../remote/runtime.js';
import { linkTree } from '../remote/runtime-compose.js';
import { chooseStateDir } from '../state-dir.js';
import { isEntryName, parseEntryName } from '../store/entry-name.js';
import { Store } from '../store/store.js';
import { parseOptions } from './run-cli.js';

export const HELP = `Usage: dysnomia bootstrap FOLDER

Used by "dysnomia deploy" and "dysnomia capture-infra" when a target lacks
the runtime it is sent: run from the runtime composed in FOLDER (a temporary
folder in the store), it adds the packages received there and the runtime
itself to the store, each only if it hashes to its entry's name, and makes
the runtime the first of STATEDIR/${RUNTIME_ROOT_FILE} (the GC root of the
target's last ${RUNTIMES_KEPT} runtimes). Prints {"runtime": ENTRY}. Not meant
to be typed by hand.
`;

interface BootstrapSpec {
  runtime: { entry: string; name: string; references: string[] };
  received: string[];
}

function damaged(what: string, got: string, wanted: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_INPUT', `${what} hashes to ${got}, not ${wanted}: it was damaged on the way`, { exitCode: EXIT_OPERATION_FAILED });
}

export async function bootstrapCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, { help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } }, true);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'bootstrap takes one folder');
  const folder = path.resolve(positionals[0]!);
  const spec = JSON.parse(await readFile(path.join(folder, 'bootstrap.json'), 'utf8')) as BootstrapSpec;
  for (const entry of [spec.runtime.entry, ...spec.received, ...spec.runtime.references]) {
    if (!isEntryName(entry)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a store entry: ${JSON.stringify(entry)}`);
  }
  const config = await loadConfig(process.cwd());
  const stateDir = chooseStateDir(config.stateDir);
  const store = Store.at(stateDir);
  for (const entry of spec.received) {
    const added = await store.addTree(parseEntryName(entry)!.name, [], (out) => rename(path.join(folder, 'packages', entry), out));
    if (added !== entry) throw damaged(`package ${entry}`, added, entry);
  }
  // Linked, not moved: this very process runs from the composed folder.
  const runtime = await store.addTree(spec.runtime.name, spec.runtime.references, async (out) => linkTree(fs, path, path.join(folder, 'runtime'), out));
  if (runtime !== spec.runtime.entry) throw damaged('the runtime', runtime, spec.runtime.entry);
  await keepRuntime(stateDir, runtime);
  process.stdout.write(`${JSON.stringify({ runtime })}\n`);
  return 0;
}

/** Puts the runtime first in the GC root of the target's runtimes, keeping the ones before it. */
export async function keepRuntime(stateDir: string, runtime: string): Promise<void> {
  const file = path.join(stateDir, RUNTIME_ROOT_FILE);
  const old = await readFile(file, 'utf8').then(
    (text) => (JSON.parse(text) as { storePaths?: unknown }).storePaths,
    () => [],
  );
  const previous = Array.isArray(old) ? old.filter((e): e is string => typeof e === 'string' && e !== runtime) : [];
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify({ storePaths: [runtime, ...previous].slice(0, RUNTIMES_KEPT) }));
  await rename(`${file}.tmp`, file);
}
