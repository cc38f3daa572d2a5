import { chmod, lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileKind, storedFileMode } from './file-modes.js';

/**
 * As Nix leaves store paths: files 0444 (0555 if executable), folders 0555;
 * private files (file-modes.ts) 0400 (0500 if executable).
 */
export async function makeReadOnly(root: string): Promise<void> {
  await walk(root, async (file, isDirectory, mode) => {
    await chmod(file, isDirectory ? 0o555 : storedFileMode(fileKind(mode)));
  });
}

/** Gives the owner write access back to the folders, so the tree can be removed. */
async function makeFoldersWritable(root: string): Promise<void> {
  await walk(root, async (file, isDirectory, mode) => {
    if (isDirectory) await chmod(file, mode | 0o700);
  }, true);
}

/** rm -rf that also works on read-only store trees for users other than root. */
export async function removeTree(root: string): Promise<void> {
  try {
    await rm(root, { recursive: true, force: true });
  } catch {
    await makeFoldersWritable(root).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}

/** Visits every file and folder below (and including) root, without following links. */
async function walk(root: string, visit: (file: string, isDirectory: boolean, mode: number) => Promise<void>, parentsFirst = false): Promise<void> {
  const info = await lstat(root).catch(() => undefined);
  if (info === undefined || info.isSymbolicLink()) return;
  if (info.isDirectory()) {
    if (parentsFirst) await visit(root, true, info.mode);
    for (const name of await readdir(root)) await walk(path.join(root, name), visit, parentsFirst);
    if (!parentsFirst) await visit(root, true, info.mode);
  } else {
    await visit(root, false, info.mode);
  }
}
