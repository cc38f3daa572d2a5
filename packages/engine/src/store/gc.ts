import { lstat, readdir, readFile, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { isEntryName } from './entry-name.js';
import { removeTree } from './permissions.js';
import { readMarker } from '../state-dir.js';
import type { Store } from './store.js';
import { heldEntries } from './holds.js';

export interface GarbageCollection {
  removed: string[];
  kept: number;
  /** The sizes of the removed entries, as their metadata records them. */
  bytes: number;
}

const GENERATION_LINK = /-\d+-link$/;

/**
 * The roots the garbage collector keeps, with everything they reference:
 * - every profile generation, `<stateDir>/profiles/<name>-<N>-link`;
 * - every string of a `storePaths` array (entry names or absolute store
 *   paths), at any depth, of every `<stateDir>/deployments/**\/*.json` (the
 *   deployment manifests the orchestrator writes, the runtimes' root) and
 *   `<stateDir>/activations/*.json` (a target's record of what it runs);
 * - every activation marker, `<stateDir>/activated/<container>/<component>`,
 *   that names a component in the store.
 * A manifest that cannot be read stops the collection: better to keep
 * garbage than to remove a deployed component.
 */
export async function gcRoots(store: Store): Promise<string[]> {
  const roots = new Set<string>();
  const addPath = (value: string) => {
    const entry = store.entryOf(value);
    if (entry !== undefined) roots.add(entry);
  };
  const profiles = path.join(store.stateDir, 'profiles');
  for (const name of await readdirOrEmpty(profiles)) {
    if (!GENERATION_LINK.test(name)) continue;
    const target = await readlink(path.join(profiles, name)).catch(() => undefined);
    if (target !== undefined) addPath(path.resolve(profiles, target));
  }
  // The orchestrator's manifests here, and the targets' own records of what they run (activations/).
  const manifests = [...(await jsonFilesBelow(path.join(store.stateDir, 'deployments'))), ...(await jsonFilesBelow(path.join(store.stateDir, 'activations')))];
  for (const manifest of manifests) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(manifest, 'utf8'));
    } catch (error) {
      throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${manifest}: cannot read this deployment manifest, so nothing is collected (${(error as Error).message})`, {
        exitCode: EXIT_OPERATION_FAILED,
      });
    }
    for (const value of storePathsIn(parsed)) addPath(value);
  }
  const activated = path.join(store.stateDir, 'activated');
  for (const container of await readdirOrEmpty(activated)) {
    for (const component of await readdirOrEmpty(path.join(activated, container))) {
      const target = await readMarker(path.join(activated, container, component));
      if (target) addPath(target);
    }
  }
  return [...roots].sort();
}

export interface CollectOptions {
  dryRun?: boolean;
  log?: (message: string) => void;
  /** More roots (entry names or store paths): the deployment records a state backend keeps elsewhere (PostgreSQL). */
  extraRoots?: string[];
}

export async function collectGarbage(store: Store, options: CollectOptions): Promise<GarbageCollection> {
  const log = options.log ?? (() => undefined);
  const present = await store.list();
  const roots: string[] = [];
  const extra = (options.extraRoots ?? []).map((value) => store.entryOf(value)).filter((entry): entry is string => entry !== undefined);
  // What live processes hold (a deployment's entries between their transfer and its profile switch) is kept too.
  const held = (await heldEntries(store.stateDir, { prune: options.dryRun !== true })).map((value) => store.entryOf(value)).filter((entry): entry is string => entry !== undefined);
  for (const root of new Set([...(await gcRoots(store)), ...extra, ...held])) if (await store.has(root)) roots.push(root);
  const live = new Set(await store.closure(roots));
  const dead = present.filter((entry) => !live.has(entry));
  let bytes = 0;
  for (const entry of dead) bytes += await store.meta(entry).then((meta) => meta.size ?? 0, () => 0);
  if (options.dryRun) return { removed: dead, kept: present.length - dead.length, bytes };
  for (const entry of dead) {
    log(`removing ${entry}`);
    await store.remove(entry);
  }
  await removeLeftovers(store, log);
  return { removed: dead, kept: present.length - dead.length, bytes };
}

/** Temporary folders of processes that are gone (an interrupted import or bootstrap): removed, as every deployment does when it locks a target. */
export async function removeStaleTemporaries(store: Store, log: (message: string) => void = () => undefined): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(store.dir).catch(() => [] as string[])) {
    const pid = /^\.tmp-(\d+)-/.exec(name)?.[1];
    if (pid === undefined || isAlive(Number(pid))) continue;
    log(`removing the leftover ${name}`);
    await removeTree(path.join(store.dir, name));
    removed.push(name);
  }
  return removed;
}

/** Temporary folders of processes that are gone, metadata without its entry, index records pointing nowhere. */
async function removeLeftovers(store: Store, log: (message: string) => void): Promise<void> {
  await removeStaleTemporaries(store, log);
  for (const name of await readdirOrEmpty(path.join(store.dir, '.meta'))) {
    const entry = name.replace(/\.json$/, '');
    if (name.endsWith('.json') && isEntryName(entry) && (await lstat(path.join(store.dir, entry)).catch(() => undefined)) === undefined) {
      await rm(path.join(store.dir, '.meta', name), { force: true });
    }
  }
  for (const kind of ['derivations', 'npm'] as const) {
    for (const key of await readdirOrEmpty(path.join(store.dir, `.${kind}`))) {
      if ((await store.lookupIndex(kind, key)) === undefined) await rm(store.indexPath(kind, key), { force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function storePathsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(storePathsIn);
  if (typeof value !== 'object' || value === null) return [];
  const found: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    if (key === 'storePaths' && Array.isArray(item)) found.push(...item.filter((v): v is string => typeof v === 'string'));
    else found.push(...storePathsIn(item));
  }
  return found;
}

async function jsonFilesBelow(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const name of await readdirOrEmpty(dir)) {
    const full = path.join(dir, name);
    const info = await lstat(full).catch(() => undefined);
    if (info?.isDirectory()) files.push(...(await jsonFilesBelow(full)));
    else if (info?.isFile() && name.endsWith('.json')) files.push(full);
  }
  return files.sort();
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
}
