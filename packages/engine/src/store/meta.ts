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

export function readMetaSync(storeDir: string, entry: string): EntryMeta | undefined {
  try {
    const meta = JSON.parse(readFileSync(metaPath(storeDir, entry), 'utf8')) as EntryMeta;
    return meta.entry === entry && Array.isArray(meta.references) ? meta : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary name and renamed, so a reader sees the whole file or none. */
export async function writeMeta(storeDir: string, meta: EntryMeta): Promise<void> {
  const file = metaPath(storeDir, meta.entry);
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(temporary, `${JSON.stringify(meta, null, 2)}\n`);
  renameSync(temporary, file);
}
