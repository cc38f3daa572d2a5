import { mkdir, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError } from '../errors.js';
import { computeOutputHash } from './hash.js';
import { generationLinkTarget, generationsDir, latestGeneration, readChecksum, snapshotDir, writeChecksum } from './layout.js';
import { assertSegment, relativeSnapshotPath } from './names.js';

export interface GenerationLinkResult {
  /** The generation that now links to the snapshot (new or the existing latest one). */
  generation: number;
  /** Whether a new generation link was made. */
  created: boolean;
}

/**
 * Dysnomia's `createGenerationSymlink`: makes generation N+1 link to the
 * snapshot `id` (`../../../snapshots/<container>/<component>/<id>`) unless the
 * latest generation already links to it, and records the snapshot's checksum
 * in `checksums/<container>/<component>/<id>`.
 *
 * `checksum` is the snapshot's `computeOutputHash` when the caller has it;
 * otherwise it is computed. Creating the link fails when a concurrent writer
 * took that number first, and is then retried with the next one.
 */
export async function createGenerationLink(root: string, container: string, component: string, id: string, checksum?: string): Promise<GenerationLinkResult> {
  assertSegment('container', container);
  assertSegment('component', component);
  assertSegment('snapshot', id);
  const snapshot = snapshotDir(root, container, component, id);
  if (!(await stat(snapshot).then(() => true, () => false))) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `no such snapshot: ${relativeSnapshotPath(container, component, id)} (${snapshot})`);
  }
  const dir = generationsDir(root, container, component);
  await mkdir(dir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const latest = await latestGeneration(root, container, component);
    if (latest?.snapshot === id) {
      if (checksum !== undefined && (await readChecksum(root, container, component, id)) === undefined) {
        await writeChecksum(root, container, component, id, checksum);
      }
      return { generation: latest.generation, created: false };
    }
    const generation = (latest?.generation ?? 0) + 1;
    try {
      await symlink(generationLinkTarget(container, component, id), path.join(dir, String(generation)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
      throw error;
    }
    await writeChecksum(root, container, component, id, checksum ?? (await computeOutputHash(snapshot)));
    return { generation, created: true };
  }
}
