import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError } from '../errors.js';
import { checksumsDir, listGenerations, listNames, snapshotsDir } from './layout.js';
import { relativeSnapshotPath } from './names.js';
import { componentsWithGenerations, type SnapshotFilter } from './query.js';

export interface CollectGarbageOptions extends SnapshotFilter {
  /** Generations to keep per component (default 1, as Dysnomia's --keep). */
  keep?: number;
  /** Told about every removal, with Dysnomia's messages. */
  log?: (message: string) => void;
}

export interface CollectGarbageResult {
  /** Removed generation links, as container/component/N. */
  generations: string[];
  /** Removed snapshots, as container/component/id. */
  snapshots: string[];
}

/**
 * `dysnomia-snapshots --gc`: for every component with more than `keep`
 * generations, removes all but the last `keep` generation links, then every
 * snapshot of that component the kept generations do not link to (and its
 * checksum). Components with `keep` generations or fewer are left alone, as
 * Dysnomia leaves them.
 */
export async function collectGarbage(root: string, options: CollectGarbageOptions = {}): Promise<CollectGarbageResult> {
  const keep = options.keep ?? 1;
  if (!Number.isInteger(keep) || keep < 0) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `the number of generations to keep must be a whole number >= 0, not ${keep}`);
  const log = options.log ?? (() => {});
  const removed: CollectGarbageResult = { generations: [], snapshots: [] };

  for (const { container, component } of await componentsWithGenerations(root, options)) {
    const generations = await listGenerations(root, container, component);
    if (generations.length <= keep) continue;
    const kept = generations.slice(generations.length - keep);
    const keptIds = new Set(kept.map((g) => g.snapshot));

    for (const old of generations.slice(0, generations.length - keep)) {
      const relative = `${container}/${component}/${old.generation}`;
      log(`Removing old generation symlink: ${relative}`);
      await rm(old.link, { force: true });
      removed.generations.push(relative);
    }

    const dir = snapshotsDir(root, container, component);
    for (const id of await listNames(dir)) {
      if (keptIds.has(id)) continue;
      const relative = relativeSnapshotPath(container, component, id);
      log(`Removing old snapshot: ${relative}`);
      // Renamed away first, so nobody sees a half-removed snapshot under its name.
      const trash = path.join(dir, `.trash-${id}-${process.pid}-${Date.now()}`);
      try {
        await rename(path.join(dir, id), trash);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile
        throw error;
      }
      await rm(trash, { recursive: true, force: true });
      await rm(path.join(checksumsDir(root, container, component), id), { force: true });
      removed.snapshots.push(relative);
    }
  }
  return removed;
}
