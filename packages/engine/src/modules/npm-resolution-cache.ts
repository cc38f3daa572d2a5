import { mkdir } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedPackage } from './npm-resolve.js';

interface CachedResolution extends ResolvedPackage {
  /** The node_modules/NAME folder Node's search met first. */
  folder: string;
  /** Its package.json as it was (inode, size, modification time): its "exports" chose the entry. */
  packageJson: string;
}

/**
 * npm resolutions of plugins (package name from a folder → entry file) kept
 * in the state folder, because Node's resolution costs a CLI call more than
 * the operation. A cached one stands while Node's search from that folder
 * meets the same node_modules/NAME folder first, its package.json is the same
 * file unchanged (a relinked or reinstalled package is another file), and
 * the entry file is there. A folder that cannot be written only means no cache.
 */
export class NpmResolutionCache {
  private entries: Map<string, CachedResolution> | undefined;

  constructor(readonly file: string) {}

  get(name: string, fromDir: string, folder: string): ResolvedPackage | undefined {
    const cached = this.read().get(keyOf(name, fromDir));
    if (cached === undefined || cached.folder !== folder || signatureOf(path.join(folder, 'package.json')) !== cached.packageJson) return undefined;
    if (!statSync(cached.entry, { throwIfNoEntry: false })?.isFile()) return undefined;
    return { dir: cached.dir, entry: cached.entry, pkg: cached.pkg };
  }

  async set(name: string, fromDir: string, folder: string, resolved: ResolvedPackage): Promise<void> {
    const packageJson = signatureOf(path.join(folder, 'package.json'));
    if (packageJson === undefined) return;
    const entries = this.read();
    entries.set(keyOf(name, fromDir), { folder, packageJson, dir: resolved.dir, entry: resolved.entry, pkg: resolved.pkg });
    try {
      await mkdir(path.dirname(this.file), { recursive: true });
      // Loaded on a miss only: it brings node:crypto, which a CLI call need not load.
      const { writeFileAtomic } = await import('../write-file-atomic.js');
      await writeFileAtomic(this.file, `${JSON.stringify({ v: 1, entries: Object.fromEntries(entries) })}\n`);
    } catch (error) {
      // A state folder this user cannot write (another user's, read-only): resolve each time.
      if (!/^E(?!RR_)/.test((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  }

  private read(): Map<string, CachedResolution> {
    if (this.entries === undefined) {
      this.entries = new Map();
      try {
        const data = JSON.parse(readFileSync(this.file, 'utf8')) as { v?: number; entries?: Record<string, CachedResolution> };
        if (data.v === 1 && data.entries && typeof data.entries === 'object') {
          for (const [key, value] of Object.entries(data.entries)) if (isCachedResolution(value)) this.entries.set(key, value);
        }
      } catch {
        // No cache yet, or an unreadable one: it is made again.
      }
    }
    return this.entries;
  }
}

const keyOf = (name: string, fromDir: string) => `${name}\0${fromDir}`;

function signatureOf(file: string): string | undefined {
  const info = statSync(file, { throwIfNoEntry: false });
  return info?.isFile() ? `${info.ino}:${info.size}:${info.mtimeMs}` : undefined;
}

function isCachedResolution(value: unknown): value is CachedResolution {
  const v = value as Partial<CachedResolution> | null;
  return typeof v === 'object' && v !== null && [v.folder, v.packageJson, v.dir, v.entry].every((field) => typeof field === 'string') && typeof v.pkg === 'object' && v.pkg !== null;
}
