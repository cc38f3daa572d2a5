import { setTimeout as delay } from 'node:timers/promises';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { acquireLock, currentHolder, describeHolder, gcLockFile, liveHolder, liveProfileLocks, mayBreak, profileLockFile, releaseLock } from '../locks/profile-lock.js';
import { Profiles } from '../profiles/profiles.js';
import type { CollectOptions, GarbageCollection } from './gc.js';
import { Store } from './store.js';

/**
 * Runs `work` under the store's collection lock (`locks/store-gc.json`), the
 * exclusive side of the store: deployments hold what they need through store
 * holds (holds.ts), which wait while this lock is live. A lock whose holder is
 * provably gone is broken. With `refuseWhileDeploying` it also refuses while a
 * live holder has a profile lock of this state folder (`store --gc` on a
 * coordinator: what a running deploy built here is in no record yet).
 */
export async function withCollectionLock<T>(stateDir: string, work: () => Promise<T>, options: { refuseWhileDeploying: boolean }): Promise<T> {
  const file = gcLockFile(stateDir);
  const holder = currentHolder();
  let outcome = await acquireLock(file, holder);
  if (!outcome.acquired && mayBreak(outcome.holder, false)) outcome = await acquireLock(file, holder, outcome.holder);
  if (!outcome.acquired) throw new DysnomiaError('ERR_DYSNOMIA_LOCKED', `the store is being collected already, by ${describeHolder(outcome.holder)}`, { exitCode: EXIT_OPERATION_FAILED });
  try {
    if (options.refuseWhileDeploying) {
      const deploying = await liveProfileLocks(stateDir);
      if (deploying.length > 0) {
        const which = deploying.map((d) => `profile "${d.profile}" by ${describeHolder(d.holder)}`).join(', ');
        throw new DysnomiaError('ERR_DYSNOMIA_LOCKED', `a deployment is running (${which}): the store is not collected now; run the collection again when it is done`, { exitCode: EXIT_OPERATION_FAILED });
      }
    }
    return await work();
  } finally {
    await releaseLock(file, holder);
  }
}

/** How often a profile change looks again whether the collection lock is free. */
const LOCK_POLL_MS = 100;
let changes: Promise<unknown> = Promise.resolve();

/**
 * Runs `work` (a profile install: it adds the generation's tree to the store,
 * then links it) under the collection lock, waiting while a collection runs:
 * a collection between the two steps would find the new tree unreferenced.
 * One at a time in this process (a holder is its process).
 */
export function outsideCollections<T>(stateDir: string, work: () => Promise<T>): Promise<T> {
  const run = changes.catch(() => undefined).then(async () => {
    const file = gcLockFile(stateDir);
    const holder = currentHolder();
    for (;;) {
      const outcome = await acquireLock(file, holder);
      if (outcome.acquired) break;
      if (mayBreak(outcome.holder, false)) {
        if ((await acquireLock(file, holder, outcome.holder)).acquired) break;
        continue;
      }
      await delay(LOCK_POLL_MS);
    }
    try {
      return await work();
    } finally {
      await releaseLock(file, holder);
    }
  });
  changes = run;
  return run;
}

export interface MachineCollectionOptions extends Pick<CollectOptions, 'log'> {
  /** First delete every profile's generations but the current one (`-d`); only `profile`'s when given. */
  deleteOldGenerations?: { profile?: string };
}

export interface MachineCollection extends GarbageCollection {
  /** Generations deleted, per profile (only those that lost some). */
  generations: Array<{ profile: string; deleted: number[] }>;
  /** Profiles whose generations were left because a deployment holds their lock. */
  lockedProfiles: Array<{ profile: string; holder: string }>;
}

/**
 * A target's collection (disnix-collect-garbage on one machine): old
 * generations first when asked (never of a profile a deployment holds: its
 * rollback needs the generation it came from), then the store, keeping what
 * running deployments hold.
 */
export async function collectMachine(stateDir: string, options: MachineCollectionOptions = {}): Promise<MachineCollection> {
  return withCollectionLock(
    stateDir,
    async () => {
      const generations: MachineCollection['generations'] = [];
      const lockedProfiles: MachineCollection['lockedProfiles'] = [];
      if (options.deleteOldGenerations !== undefined) {
        const profiles = Profiles.at(stateDir);
        const only = options.deleteOldGenerations.profile;
        for (const profile of await profiles.list()) {
          if (only !== undefined && profile !== only) continue;
          const holder = await liveHolder(profileLockFile(stateDir, profile));
          if (holder !== undefined) {
            lockedProfiles.push({ profile, holder: describeHolder(holder) });
            continue;
          }
          const deleted = await profiles.deleteGenerations(profile, 'old');
          if (deleted.length > 0) generations.push({ profile, deleted });
        }
      }
      const collected = await Store.at(stateDir).collectGarbage({ ...(options.log ? { log: options.log } : {}) });
      return { ...collected, generations, lockedProfiles };
    },
    { refuseWhileDeploying: false },
  );
}
