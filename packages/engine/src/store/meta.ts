import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
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

export async function readMeta(storeDir: string, entry: string): Promise<EntryMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(metaPath(storeDir, entry), 'utf8')) as EntryMeta;
    return meta.entry === entry && Array.isArray(meta.references) ? meta : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary name and renamed, so a reader sees the whole file or none. */
export async function writeMeta(storeDir: string, meta: EntryMeta): Promise<void> {
  const file = metaPath(storeDir, meta.entry);
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(temporary, `${JSON.stringify(meta, null, 2)}\n`);
  await rename(temporary, file);
}
