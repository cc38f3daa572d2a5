import { lstat, mkdir, readdir, readFile, readlink, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StateDir } from '../state-dir.js';

/*
 * Dysnomia's snapshot layout under the state folder:
 *
 *   snapshots/<container>/<component>/<id>/…   the snapshot contents
 *   generations/<container>/<component>/<N>    symlink ../../../snapshots/<container>/<component>/<id>
 *   checksums/<container>/<component>/<id>     "sha256:<hex>" of the snapshot (no newline)
 *
 * The latest snapshot of a component is the one the highest-numbered
 * generation links to (`ls | sort -n | tail -1`).
 */

export function snapshotsDir(root: string, container: string, component: string): string {
  return new StateDir(root).snapshots(container, component);
}

export function generationsDir(root: string, container: string, component: string): string {
  return new StateDir(root).generations(container, component);
}

export function checksumsDir(root: string, container: string, component: string): string {
  return path.join(root, 'checksums', container, component);
}

export function snapshotDir(root: string, container: string, component: string, id: string): string {
  return path.join(snapshotsDir(root, container, component), id);
}

/** The target Dysnomia gives a generation link: relative, so a state folder can be moved. */
export function generationLinkTarget(container: string, component: string, id: string): string {
  return `../../../snapshots/${container}/${component}/${id}`;
}

export interface Generation {
  /** The generation number (the link's name). */
  generation: number;
  /** The id (folder name) of the snapshot it links to. */
  snapshot: string;
  /** Absolute path of the generation link. */
  link: string;
}

/** The names in a folder, hidden ones left out, sorted; none if it does not exist. */
export async function listNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => !name.startsWith('.')).sort(compareBytes);
  } catch {
    return [];
  }
}

export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The generations of a component, oldest first (numeric order). Entries that are not numbered links are ignored. */
export async function listGenerations(root: string, container: string, component: string): Promise<Generation[]> {
  const dir = generationsDir(root, container, component);
  const generations: Generation[] = [];
  for (const name of await listNames(dir)) {
    if (!/^\d+$/.test(name)) continue;
    const link = path.join(dir, name);
    let target: string;
    try {
      target = await readlink(link);
    } catch {
      continue;
    }
    generations.push({ generation: Number(name), snapshot: path.basename(target), link });
  }
  return generations.sort((a, b) => a.generation - b.generation);
}

export async function latestGeneration(root: string, container: string, component: string): Promise<Generation | undefined> {
  return (await listGenerations(root, container, component)).at(-1);
}

export async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

export async function readChecksum(root: string, container: string, component: string, id: string): Promise<string | undefined> {
  try {
    return (await readFile(path.join(checksumsDir(root, container, component), id), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Writes `checksums/<container>/<component>/<id>` as Dysnomia does (`sha256:<hex>`, no newline), atomically. */
export async function writeChecksum(root: string, container: string, component: string, id: string, checksum: string): Promise<void> {
  const dir = checksumsDir(root, container, component);
  await mkdir(dir, { recursive: true });
  const temporary = path.join(dir, `.${id}.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  await writeFile(temporary, checksum);
  await rename(temporary, path.join(dir, id));
}
