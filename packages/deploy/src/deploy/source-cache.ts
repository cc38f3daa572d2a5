import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { quickCheckKey as quickCheck } from '@dysnomia/engine/internal/store/quick-check.js';
import type { Store } from '@dysnomia/engine/internal/store/store.js';

/**
 * Remembers which store entry a folder or tarball became, keyed by a quick
 * check of the source (every file's path, type, size, mode, inode, mtime and
 * ctime, as rsync and make trust them), so a redeploy does not copy and
 * rehash an unchanged 200 MB package. ctime cannot be set back by a user, so
 * any change to a file changes the key. Anything else (npm specs, build
 * functions) has its own index in the store.
 */
export class SourceCache {
  private entries: Record<string, string> | undefined;
  private dirty = false;

  constructor(
    private readonly store: Store,
    private readonly file = path.join(store.stateDir, 'deploy-cache', 'sources.json'),
  ) {}

  private async load(): Promise<Record<string, string>> {
    this.entries ??= await readFile(this.file, 'utf8').then(
      (text) => JSON.parse(text) as Record<string, string>,
      () => ({}),
    );
    return this.entries;
  }

  /** A value remembered under a quick-check key of `source` (computed by `compute` when the source changed). */
  async memo(source: string, compute: () => Promise<string>): Promise<string> {
    const key = await quickCheckKey(source);
    const entries = await this.load();
    if (key !== undefined && entries[`memo:${key}`] !== undefined) return entries[`memo:${key}`]!;
    const value = await compute();
    if (key !== undefined) {
      entries[`memo:${key}`] = value;
      this.dirty = true;
    }
    return value;
  }

  /** The entry this source was added as, if the source has not changed since and the entry is intact (a damaged one is removed, to be made again). */
  async lookup(source: string): Promise<{ key: string | undefined; entry: string | undefined }> {
    const key = await quickCheckKey(source);
    if (key === undefined) return { key, entry: undefined };
    const entry = (await this.load())[key];
    return { key, entry: entry !== undefined && (await this.store.reusable(entry)) ? entry : undefined };
  }

  /** The entry recorded under a key of the caller's own making, if it is still in the store. */
  async lookupKey(key: string): Promise<string | undefined> {
    const entry = (await this.load())[key];
    return entry !== undefined && (await this.store.has(entry)) ? entry : undefined;
  }

  async record(key: string, entry: string): Promise<void> {
    (await this.load())[key] = entry;
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty || this.entries === undefined) return;
    await mkdir(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.tmp-${process.pid}`;
    await writeFile(temporary, JSON.stringify(this.entries));
    await rename(temporary, this.file);
    this.dirty = false;
  }
}

/** undefined for what is not a local folder or file (npm:, missing paths). */
export async function quickCheckKey(source: string): Promise<string | undefined> {
  if (source.startsWith('npm:') || !path.isAbsolute(source)) return undefined;
  return quickCheck(source, `dysnomia-source-1\0${source}`);
}
