import { isDeepStrictEqual } from 'node:util';
import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';
import type { LockHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import type { FileState } from './file-state.js';
import type { PostgresState } from './postgres-state.js';
import type { ProfileLockOptions } from './state-backend.js';

export interface MigrationOutcome {
  profile: string;
  /** Generations copied (none when PostgreSQL had them already). */
  copied: number[];
  current: number | undefined;
  /** Why nothing was copied, when nothing was. */
  reason?: string;
}

/**
 * Copies one profile's records from the state folder into PostgreSQL in
 * one transaction, under the profile's lock there (and here). Generations,
 * times and the current generation are kept. Refused (exit status 2) when
 * PostgreSQL has other records of the profile; a repeat is a no-op.
 */
export async function migrateProfile(files: FileState, postgres: PostgresState, profile: string, options: ProfileLockOptions, holder: LockHolder): Promise<MigrationOutcome> {
  const source = files.records(profile);
  const generations = await source.generations();
  const current = await source.currentGeneration();
  if (generations.length === 0) return { profile, copied: [], current, reason: `no deployment records in ${files.description}` };
  const release = await postgres.lockProfile(profile, options, holder);
  try {
    const destination = postgres.records(profile);
    return await postgres.transaction(async () => {
      const there = await destination.generations();
      if (there.length > 0) {
        const same =
          isDeepStrictEqual(there, generations) &&
          (await destination.currentGeneration()) === current &&
          (await Promise.all(generations.map(async (g) => isDeepStrictEqual(await destination.read(g), await source.read(g))))).every(Boolean);
        if (same) return { profile, copied: [], current, reason: `already in ${postgres.description}, the same records: nothing to copy` };
        throw new DysnomiaError(
          'ERR_DYSNOMIA_USAGE',
          `profile "${profile}" already has other deployment records in ${postgres.description} (generations ${there.join(', ')}); nothing was copied. ` +
            'Migrate into an empty database, or delete that profile\'s records there first',
        );
      }
      for (const generation of generations) await destination.insert(await source.read(generation));
      if (current !== undefined) await destination.makeCurrent(current);
      return { profile, copied: generations, current };
    });
  } finally {
    await release();
  }
}
