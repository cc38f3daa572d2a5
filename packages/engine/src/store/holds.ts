import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { currentHolder, gcLockFile, holderIsDead, liveHolder } from '../locks/profile-lock.js';
import type { LockHolder } from '../locks/profile-lock.js';
import { writeFileAtomic } from '../write-file-atomic.js';

/**
 * Store holds: the shared side of the store's garbage collection. A process
 * that needs entries which no profile or record refers to yet (an agent
 * receiving a deployment's entries before its profile switch) holds them in
 * `STATEDIR/store-holds/<pid>-<random>.json`; a collection keeps what every live hold
 * names. A hold belongs to a process of this machine: when that process is
 * gone (a killed deploy's agent ends with its SSH channel) the hold counts for
 * nothing and the next collection removes its file, so nothing is held
 * forever. The collection is the exclusive side (`locks/store-gc.json`):
 * a hold is written first and the collection's lock checked after, the
 * collection's lock written first and the holds read after, so one of the two
 * always sees the other.
 */
export interface StoreHoldRecord {
  version: 1;
  holder: LockHolder;
  storePaths: string[];
}

const HOLDS_DIR = 'store-holds';

export function holdsDir(stateDir: string): string {
  return path.join(stateDir, HOLDS_DIR);
}

/** How often a hold looks again whether a running collection has finished. */
const COLLECTION_POLL_MS = 100;

/** This process's hold on entries of a store: grows with `add`, goes with `release` (or with the process). */
export class StoreHold {
  private readonly entries = new Set<string>();
  private readonly holder = currentHolder();
  private readonly file: string;
  constructor(private readonly stateDir: string) {
    this.file = path.join(holdsDir(stateDir), `${process.pid}-${randomBytes(4).toString('hex')}.json`);
  }

  /**
   * Holds `entries` too, then waits while a collection runs (one that
   * started before the hold was written may still remove what it found
   * unreferenced). When it returns, no collection takes the held entries.
   */
  async add(entries: string[], signal?: AbortSignal): Promise<void> {
    for (const entry of entries) this.entries.add(entry);
    await mkdir(holdsDir(this.stateDir), { recursive: true });
    const record: StoreHoldRecord = { version: 1, holder: this.holder, storePaths: [...this.entries].sort() };
    await writeFileAtomic(this.file, `${JSON.stringify(record)}\n`, 0o644);
    while ((await liveHolder(gcLockFile(this.stateDir))) !== undefined) {
      if (signal?.aborted) throw new DysnomiaError('ERR_DYSNOMIA_LOCKED', 'gave up waiting for the store collection to finish', { exitCode: EXIT_OPERATION_FAILED });
      await delay(COLLECTION_POLL_MS);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  async release(): Promise<void> {
    if (this.entries.size === 0) return;
    this.entries.clear();
    await rm(this.file, { force: true });
  }
}

/**
 * The entries live holds name. Holds of processes that are gone are removed
 * (`prune`, the collector's job); a hold that cannot be read stops the
 * collection: better to keep garbage than to remove what a deploy sent.
 */
export async function heldEntries(stateDir: string, options: { prune?: boolean } = {}): Promise<string[]> {
  const dir = holdsDir(stateDir);
  const held: string[] = [];
  for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const file = path.join(dir, name);
    let record: StoreHoldRecord;
    try {
      record = JSON.parse(await readFile(file, 'utf8')) as StoreHoldRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${file}: cannot read this store hold, so nothing is collected (${(error as Error).message})`, { exitCode: EXIT_OPERATION_FAILED });
    }
    if (holderIsDead(record.holder) === true) {
      if (options.prune) await rm(file, { force: true });
      continue;
    }
    if (Array.isArray(record.storePaths)) held.push(...record.storePaths.filter((p): p is string => typeof p === 'string'));
  }
  return held;
}
