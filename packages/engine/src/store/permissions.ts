import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import { chmod, lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileKind, storedFileMode } from './file-modes.js';

/**
 * As Nix leaves store paths: files 0444 (0555 if executable), folders 0555;
 * private files (file-modes.ts) 0400 (0500 if executable).
 */
export async function makeReadOnly(root: string): Promise<void> {
  // Synchronous: one thread-pool round trip per file cost more than the chmod itself (an entry may have hundreds of files).
  const visit = (file: string): void => {
    const info = lstatSync(file);
    if (info.isSymbolicLink()) return;
    if (info.isDirectory()) for (const name of readdirSync(file)) visit(path.join(file, name));
    const mode = info.isDirectory() ? 0o555 : storedFileMode(fileKind(info.mode));
    // A file hard-linked from another entry has its mode already.
    if ((info.mode & 0o7777) !== mode) chmodSync(file, mode);
  };
  if (lstatSync(root, { throwIfNoEntry: false }) !== undefined) visit(root);
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
