import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { LockHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import { lockCoordinator } from '../locking.js';
import { Manifests } from '../manifests.js';
import type { ProfileLockOptions, StateBackend } from './state-backend.js';

/** Today's state: `STATEDIR/deployments/PROFILE/N.json` and `current`, and `STATEDIR/locks/profile-PROFILE.json`. */
export class FileState implements StateBackend {
  readonly kind = 'file';
  readonly description: string;

  constructor(readonly stateDir: string) {
    this.description = `the state folder ${stateDir}`;
  }

  warmUp(): void {}

  records(profile: string): Manifests {
    return new Manifests(this.stateDir, profile);
  }

  lockProfile(profile: string, options: ProfileLockOptions, holder: LockHolder): Promise<() => Promise<void>> {
    return lockCoordinator(this.stateDir, profile, options, holder);
  }

  async profiles(): Promise<string[]> {
    const entries = await readdir(path.join(this.stateDir, 'deployments'), { withFileTypes: true }).catch(() => []);
    const profiles: string[] = [];
    for (const entry of entries) if (entry.isDirectory() && (await this.records(entry.name).generations()).length > 0) profiles.push(entry.name);
    return profiles.sort();
  }

  /** The store's collector reads these files itself. */
  async storePaths(): Promise<string[]> {
    return [];
  }

  async close(): Promise<void> {}
}
