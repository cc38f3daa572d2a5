import { chmod, cp, lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { createGenerationLink } from './generations.js';
import { computeOutputHash } from './hash.js';
import { exists, readChecksum, snapshotDir, snapshotsDir } from './layout.js';
import { assertSegment, relativeSnapshotPath } from './names.js';

export interface StoredSnapshot {
  container: string;
  component: string;
  /** The snapshot's id: its folder name under snapshots/<container>/<component>/. */
  id: string;
  /** `container/component/id`, as --query-all prints it. */
  relativePath: string;
  /** Absolute path of the snapshot folder. */
  path: string;
  /** `sha256:<hex>`, as recorded in checksums/. */
  checksum: string;
  /** The generation that links to it. */
  generation: number;
  /** Whether a new generation was made (false: the latest generation already had this snapshot). */
  createdGeneration: boolean;
  /** Whether the contents were copied in (false: a snapshot with that id was already stored). */
  copied: boolean;
}

/**
 * Stores the contents of `sourceDir` as a new snapshot of `componentName` in
 * `container`, named by its content hash (the hex of `computeOutputHash`,
 * which also goes to checksums/), and makes it the next generation unless the
 * latest generation already has identical contents.
 *
 * Atomic: the contents are copied into a hidden temporary folder beside the
 * snapshots, hashed there, then renamed into place; readers never see a
 * partial snapshot. The source folder is left as it is.
 */
export async function storeSnapshot(stateDirRoot: string, container: string, componentName: string, sourceDir: string): Promise<StoredSnapshot> {
  assertSegment('container', container);
  assertSegment('component', componentName);
  const info = await stat(sourceDir).catch(() => undefined);
  if (!info?.isDirectory()) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `the snapshot source is not a folder: ${sourceDir}`);
  const temporary = await copyToTemporary(stateDirRoot, container, componentName, sourceDir);
  try {
    const checksum = await computeOutputHash(temporary);
    const id = checksum.slice('sha256:'.length);
    const target = snapshotDir(stateDirRoot, container, componentName, id);
    const copied = await moveIntoPlace(temporary, target, checksum);
    const link = await createGenerationLink(stateDirRoot, container, componentName, id, checksum);
    return result(container, componentName, id, target, checksum, link.generation, link.created, copied);
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

/**
 * `dysnomia-snapshots --import`: brings the snapshot at `source` (a folder, or
 * a file, named by its id as the module that took it named it) into
 * snapshots/<container>/<component>/<basename> and makes it the next
 * generation, as Dysnomia does, except that the source is copied, not moved.
 *
 * - `source` already is that snapshot in this state folder: only the
 *   generation link is made;
 * - a snapshot with that id is already stored with the same contents: nothing
 *   is copied;
 * - one is stored with other contents: an error (exit status 1), nothing changes.
 */
export async function importSnapshot(stateDirRoot: string, container: string, componentName: string, source: string): Promise<StoredSnapshot> {
  assertSegment('container', container);
  assertSegment('component', componentName);
  const absoluteSource = path.resolve(source);
  const id = assertSegment('snapshot', path.basename(absoluteSource));
  const target = snapshotDir(stateDirRoot, container, componentName, id);
  const relative = relativeSnapshotPath(container, componentName, id);
  if (!(await stat(absoluteSource).then(() => true, () => false))) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `no such snapshot to import: ${source}`);
  }

  if (absoluteSource === path.resolve(target)) {
    const checksum = (await readChecksum(stateDirRoot, container, componentName, id)) ?? (await computeOutputHash(target));
    const link = await createGenerationLink(stateDirRoot, container, componentName, id, checksum);
    return result(container, componentName, id, target, checksum, link.generation, link.created, false);
  }

  if (await exists(target)) {
    const [incoming, stored] = await Promise.all([computeOutputHash(absoluteSource), computeOutputHash(target)]);
    if (incoming !== stored) {
      throw new DysnomiaError(
        'ERR_DYSNOMIA_INPUT',
        `snapshot ${relative} is already stored with other contents (${stored}) than ${source} (${incoming}); not imported`,
        { exitCode: EXIT_OPERATION_FAILED },
      );
    }
    const link = await createGenerationLink(stateDirRoot, container, componentName, id, stored);
    return result(container, componentName, id, target, stored, link.generation, link.created, false);
  }

  const temporary = await copyToTemporary(stateDirRoot, container, componentName, absoluteSource);
  try {
    const checksum = await computeOutputHash(temporary);
    const copied = await moveIntoPlace(temporary, target, checksum);
    const link = await createGenerationLink(stateDirRoot, container, componentName, id, checksum);
    return result(container, componentName, id, target, checksum, link.generation, link.created, copied);
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

function result(container: string, component: string, id: string, target: string, checksum: string, generation: number, createdGeneration: boolean, copied: boolean): StoredSnapshot {
  return { container, component, id, relativePath: relativeSnapshotPath(container, component, id), path: target, checksum, generation, createdGeneration, copied };
}

/**
 * Copies `source` into a hidden folder beside the component's snapshots
 * (same file system, so it can be renamed into place). Snapshots are the
 * data of databases and the like: the snapshots folders are 0700 and what a
 * snapshot holds is readable by the owner only (0600, 0700 if executable).
 */
async function copyToTemporary(root: string, container: string, component: string, source: string): Promise<string> {
  const dir = snapshotsDir(root, container, component);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Folders made by an earlier version (0755) are closed too.
  for (let folder = dir; folder !== path.dirname(path.join(root, 'snapshots')); folder = path.dirname(folder)) await chmod(folder, 0o700);
  const temporary = path.join(dir, `.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  await cp(source, temporary, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
  await makePrivate(temporary);
  return temporary;
}

/** Owner-only modes for a copied snapshot: folders 0700, files 0600 (0700 if executable); links as they are. */
export async function makePrivate(file: string): Promise<void> {
  const info = await lstat(file);
  if (info.isSymbolicLink()) return;
  if (info.isDirectory()) {
    for (const name of await readdir(file)) await makePrivate(path.join(file, name));
    await chmod(file, 0o700);
  } else await chmod(file, info.mode & 0o100 ? 0o700 : 0o600);
}

/**
 * Renames the temporary copy to `target`. When `target` exists with the
 * expected contents it is kept (returns false); when it exists with other
 * contents (a damaged snapshot) it is replaced.
 */
async function moveIntoPlace(temporary: string, target: string, checksum: string): Promise<boolean> {
  if (await exists(target)) {
    if ((await computeOutputHash(target).catch(() => undefined)) === checksum) return false;
    const trash = path.join(path.dirname(target), `.trash-${path.basename(target)}-${process.pid}-${Date.now()}`);
    await rename(target, trash);
    await rm(trash, { recursive: true, force: true });
  }
  try {
    await rename(temporary, target);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A concurrent writer stored the same snapshot first.
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await computeOutputHash(target).catch(() => undefined)) === checksum) return false;
    throw error;
  }
}
