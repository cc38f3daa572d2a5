import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { DeployedMapping } from '../deployment-types.js';
import { assertProfileName } from '../profiles/names.js';

/**
 * A target's own record of what a deployment profile has activated on it,
 * `STATEDIR/activations/PROFILE.json`: written by the agent after every
 * activation and deactivation that succeeded, so whatever happens to the
 * coordinator (killed half way, lost, another operator's), the next deploy
 * can ask the target what it runs and plan from that. It also keeps the
 * profile's services of type package (`packages`, written once the profile
 * holds them), so the record and the profile together are the target's share
 * of the deployment: `dysnomia query` and `dysnomia reconstruct` read them.
 * Mode 0600: a mapping carries its container's properties, which may hold
 * passwords. Its `storePaths` keep the activated components from the garbage
 * collector.
 */
export const ACTIVATIONS_DIR = 'activations';

export interface ActivationRecord {
  version: 1;
  profile: string;
  /** Activated mappings. */
  mappings: DeployedMapping[];
  /** Mappings of services that are only in the profile (type package). */
  packages?: DeployedMapping[];
  storePaths: string[];
}

/** What a target's record holds for a profile. */
export interface TargetRecord {
  mappings: DeployedMapping[];
  packages: DeployedMapping[];
}

export function activationsFile(stateDir: string, profile: string): string {
  return path.join(stateDir, ACTIVATIONS_DIR, `${assertProfileName(profile)}.json`);
}

/** What the record says the profile has on this target (nothing when there is no record). */
export async function readTargetRecord(stateDir: string, profile: string): Promise<TargetRecord> {
  return readRecordNow(stateDir, profile);
}

/** readTargetRecord, synchronously: the record is read before each write, which every activation and deactivation makes (see write). */
function readRecordNow(stateDir: string, profile: string): TargetRecord {
  let text: string | undefined;
  try {
    text = readFileSync(activationsFile(stateDir, profile), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text === undefined) return { mappings: [], packages: [] };
  const record = JSON.parse(text) as Partial<ActivationRecord>;
  return { mappings: Array.isArray(record.mappings) ? record.mappings : [], packages: Array.isArray(record.packages) ? record.packages : [] };
}

/** What the record says is activated for the profile (none when there is no record). */
export async function readActivations(stateDir: string, profile: string): Promise<DeployedMapping[]> {
  return (await readTargetRecord(stateDir, profile)).mappings;
}

/** Profiles this target keeps a record of. */
export async function recordedProfiles(stateDir: string): Promise<string[]> {
  const names = await readdir(path.join(stateDir, ACTIVATIONS_DIR)).catch(() => [] as string[]);
  return names.filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length)).sort();
}

type RecordChange = (record: TargetRecord) => TargetRecord;

/**
 * Changes a target's records, one write at a time per profile. Changes that
 * arrive while a write runs (an agent runs operations at once) go into the
 * next write together: each caller's promise settles once a write holding
 * its change is in place, so an operation is answered only once the record
 * says it ran, and a target running many operations writes its record far
 * fewer times than once each.
 */
export class Activations {
  private readonly waiting = new Map<string, Array<{ change: RecordChange; resolve: () => void; reject: (error: unknown) => void }>>();
  private readonly writing = new Set<string>();

  constructor(private readonly stateDir: string) {}

  /** After a successful activate: the mapping is activated (replacing one with its id). */
  activated(profile: string, mapping: DeployedMapping): Promise<void> {
    return this.change(profile, (record) => ({ ...record, mappings: [...record.mappings.filter((m) => m.id !== mapping.id), mapping] }));
  }

  /** After a successful deactivate: the mapping is not activated any more. */
  deactivated(profile: string, id: string): Promise<void> {
    return this.change(profile, (record) => ({ ...record, mappings: record.mappings.filter((m) => m.id !== id) }));
  }

  /** After the profile switched: these are its services of type package. */
  packagesInProfile(profile: string, packages: DeployedMapping[]): Promise<void> {
    return this.change(profile, (record) => ({ ...record, packages }));
  }

  private change(profile: string, change: RecordChange): Promise<void> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(profile);
      if (queue) queue.push({ change, resolve, reject });
      else this.waiting.set(profile, [{ change, resolve, reject }]);
      if (!this.writing.has(profile)) void this.writeWaiting(profile);
    });
  }

  /** Writes the profile's waiting changes, in the order they came, until none waits. */
  private async writeWaiting(profile: string): Promise<void> {
    this.writing.add(profile);
    try {
      // The changes that come in this turn of the event loop go into one write.
      await new Promise((resolve) => setImmediate(resolve));
      for (let batch = this.waiting.get(profile); batch !== undefined; batch = this.waiting.get(profile)) {
        this.waiting.delete(profile);
        try {
          this.write(profile, batch.reduce((record, { change }) => change(record), readRecordNow(this.stateDir, profile)));
          for (const { resolve } of batch) resolve();
        } catch (error) {
          for (const { reject } of batch) reject(error);
        }
      }
    } finally {
      this.writing.delete(profile);
    }
  }

  /**
   * Synchronous calls, like the markers' (state-dir.ts): a small local file
   * written once per operation, where promises (mkdir, open, write, close,
   * rename through the thread pool) cost more CPU than the write itself.
   * The same steps: a private temporary file, then a rename over the record.
   */
  private write(profile: string, { mappings, packages }: TargetRecord): void {
    const record: ActivationRecord = {
      version: 1,
      profile,
      mappings,
      ...(packages.length > 0 ? { packages } : {}),
      storePaths: [...new Set([...mappings, ...packages].map((m) => m.entry))].sort(),
    };
    const file = activationsFile(this.stateDir, profile);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, file);
  }
}
