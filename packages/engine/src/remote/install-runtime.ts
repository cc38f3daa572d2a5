import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { isEntryName, parseEntryName } from '../store/entry-name.js';
import { Store } from '../store/store.js';
import { RUNTIME_ROOT_FILE, RUNTIMES_KEPT } from './runtime-compose.js';

/** What the bootstrap script hands over: the runtime it composed in `folder/runtime` and the packages it received in `folder/packages`. */
export interface ComposedRuntime {
  runtime: { entry: string; name: string; references: string[] };
  received: string[];
}

function damaged(what: string, got: string, wanted: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_INPUT', `${what} hashes to ${got}, not ${wanted}: it was damaged on the way`, { exitCode: EXIT_OPERATION_FAILED });
}

/**
 * Run on a target by the bootstrap script, in its own process, from the
 * runtime it has just composed: adds the received packages and the runtime
 * to the store, each only if it hashes to its entry's name, and puts the
 * runtime first in the target's GC root. Everything this needs is imported
 * before the composed folder moves into the store.
 */
export async function installComposedRuntime(folder: string, stateDir: string, spec: ComposedRuntime): Promise<string> {
  for (const entry of [spec.runtime.entry, ...spec.received, ...spec.runtime.references]) {
    if (!isEntryName(entry)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a store entry: ${JSON.stringify(entry)}`);
  }
  const store = Store.at(stateDir);
  for (const entry of spec.received) {
    const added = await store.addTree(parseEntryName(entry)!.name, [], (out) => rename(path.join(folder, 'packages', entry), out));
    if (added !== entry) throw damaged(`package ${entry}`, added, entry);
  }
  // Moved, not copied: the received files and the links to the store's packages are already in place.
  const runtime = await store.addTree(spec.runtime.name, spec.runtime.references, (out) => rename(path.join(folder, 'runtime'), out));
  if (runtime !== spec.runtime.entry) throw damaged('the runtime', runtime, spec.runtime.entry);
  await keepRuntime(stateDir, runtime);
  return runtime;
}

/** Puts the runtime first in the GC root of the target's runtimes, keeping the ones before it. */
async function keepRuntime(stateDir: string, runtime: string): Promise<void> {
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
