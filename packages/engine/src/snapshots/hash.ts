import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Dysnomia's `computeOutputHash`: `sha256:<hex>`.
 *
 * - a file: the SHA-256 of its contents (`sha256sum FILE`);
 * - a folder: the SHA-256 of Dysnomia's `serializeDirectory` output, i.e. the
 *   listing `find .` prints (`.`, then `./a`, `./a/b`, … one per line, depth
 *   first), an empty line, then the contents of every regular file in the same
 *   order. Dysnomia lists in readdir order; here entries are sorted by their
 *   bytes (what `find` prints on file systems that return sorted entries) so
 *   the hash is deterministic. Symbolic links are listed, never followed, and
 *   their targets are not hashed, as with `find . -type f`.
 */
export async function computeOutputHash(target: string): Promise<string> {
  const info = await stat(target);
  // node:crypto on first use: the engine's entry holds this module, and most calls hash nothing.
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  if (info.isFile()) {
    await hashFile(hash, target);
  } else {
    const entries = await listTree(target);
    hash.update('.\n');
    for (const entry of entries) hash.update(`${entry.relative}\n`);
    hash.update('\n');
    for (const entry of entries) if (entry.file) await hashFile(hash, path.join(target, entry.relative));
  }
  return `sha256:${hash.digest('hex')}`;
}

/** The hex digest of `computeOutputHash` (the part after `sha256:`), used to name snapshots by content. */
export async function contentId(target: string): Promise<string> {
  return (await computeOutputHash(target)).slice('sha256:'.length);
}

interface TreeEntry {
  relative: string;
  file: boolean;
}

async function listTree(root: string, prefix = '.'): Promise<TreeEntry[]> {
  const dirents = await readdir(path.join(root, prefix), { withFileTypes: true });
  dirents.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const entries: TreeEntry[] = [];
  for (const dirent of dirents) {
    const relative = `${prefix}/${dirent.name}`;
    entries.push({ relative, file: dirent.isFile() });
    if (dirent.isDirectory()) entries.push(...(await listTree(root, relative)));
  }
  return entries;
}

function hashFile(hash: Hash, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(file);
    stream.on('data', (chunk) => hash.update(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve());
  });
}
