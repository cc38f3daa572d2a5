import type { GenerationSelector } from '@dysnomia/engine/internal/profiles/profiles.js';
import type { LockHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import type { Deployment } from '../deployment.js';
import type { Manifest } from '../manifests.js';
import type { Reporter } from '../progress.js';

/** The recorded deployments (generations) of one profile, wherever they are kept. */
export interface DeploymentRecords {
  readonly profile: string;
  /** Where a generation is kept, for events and messages (a file, or a row); never a secret. */
  where(generation: number): string;
  generations(): Promise<number[]>;
  currentGeneration(): Promise<number | undefined>;
  read(generation: number): Promise<Manifest>;
  current(): Promise<Manifest | undefined>;
  /** Records a deployment as the next generation and makes it the current one, in one step where the backend can. */
  recordCurrent(deployment: Deployment): Promise<Manifest>;
  setCurrent(generation: number): Promise<void>;
  /** Deletes generations (never the current one); returns those deleted. */
  delete(which: GenerationSelector): Promise<number[]>;
}

export interface ProfileLockOptions {
  reporter: Reporter;
  /** Also break a lock whose holder cannot be checked from here (file backend). */
  breakStaleLock: boolean;
}

/**
 * Where the coordinator keeps deployment records, generations and its
 * profile locks: `file` (the state folder) or `postgres` (shared by several
 * coordinators). Chosen by the config's `state`.
 */
export interface StateBackend {
  readonly kind: 'file' | 'postgres';
  /** Where the state is, for messages: no password, ever. */
  readonly description: string;
  /** Starts what takes time (a connection) while the caller does other work; its failure is reported on first use. */
  warmUp(): void;
  records(profile: string): DeploymentRecords;
  /** Takes the coordinator's lock of a profile for `holder`; refused (exit status 1) naming the holder. Returns the release. */
  lockProfile(profile: string, options: ProfileLockOptions, holder: LockHolder): Promise<() => Promise<void>>;
  /** Profiles that have records. */
  profiles(): Promise<string[]>;
  /** Every store entry a recorded deployment of any profile needs: GC roots of this machine's store. */
  storePaths(): Promise<string[]>;
  close(): Promise<void>;
}
