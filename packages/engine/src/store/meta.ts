import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What the store keeps beside each entry, in store/.meta/<entry>.json. */
export interface EntryMeta {
  version: 1;
  entry: string;
  /** Other store entries this one needs (Nix's references); part of the hash. */
  references: string[];
  /** `sha256:<hex>` of the entry's serialization (see tree-hash.ts). */
  sha256: string;
  /** Bytes in regular files. */
  size: number;
}

export function metaPath(storeDir: string, entry: string): string {
  return path.join(storeDir, '.meta', `${entry}.json`);
}

/**
 * Synchronous, as the other small metadata reads of the store: a deploy reads
 * hundreds of these, and a thread-pool round trip each cost more than the read.
 */
export async function readMeta(storeDir: string, entry: string): Promise<EntryMeta | undefined> {
  return readMetaSync(storeDir, entry);
}

/** The entry's metadata; undefined when it is not there or not an entry's (a file that is not its JSON). */
export function readMetaSync(storeDir: string, entry: string): EntryMeta | undefined {
  let text: string;
  try {
    text = readFileSync(metaPath(storeDir, entry), 'utf8');
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
  try {
    const meta = JSON.parse(text) as EntryMeta;
    return meta.entry === entry && Array.isArray(meta.references) ? meta : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a failed file system call says the path is not there. Any other
 * error (too many open files, I/O, permissions) says nothing about the store:
 * taking it for "not in the store" sent an entry again, or failed a
 * deployment whose entry was there with a wrong reason.
 */
export function isAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Written to a temporary name and renamed, so a reader sees the whole file or none. */
export async function writeMeta(storeDir: string, meta: EntryMeta): Promise<void> {
  const file = metaPath(storeDir, meta.entry);
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(temporary, `${JSON.stringify(meta, null, 2)}\n`);
  renameSync(temporary, file);
}
