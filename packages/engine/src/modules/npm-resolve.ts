import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readPackageJson } from './load-plugin.js';
import type { PackageJson } from './load-plugin.js';
import type { NpmResolutionCache } from './npm-resolution-cache.js';

export interface ResolvedPackage {
  dir: string;
  entry: string;
  pkg: PackageJson;
}

/**
 * Resolves an npm package the way Node's ESM loader would from a file in
 * `fromDir` (node_modules of that folder and its parents, "exports" honoured).
 * What Node cannot find is known from a few stats; a package found before is
 * taken from `cache` while its folder and package.json are unchanged.
 */
export async function resolvePackageFrom(name: string, fromDir: string, cache?: NpmResolutionCache): Promise<ResolvedPackage | undefined> {
  const folder = nearestPackageFolder(name, fromDir);
  // A package may import itself by its own name: then Node's rules decide, uncached.
  const ownName = scopePackageName(fromDir) === name;
  if (folder === undefined && !ownName) return undefined;
  if (ownName) return resolveAsNode(name, fromDir);
  const cached = cache?.get(name, fromDir, folder!);
  if (cached) return cached;
  const resolved = await resolveAsNode(name, fromDir);
  if (resolved) await cache?.set(name, fromDir, folder!, resolved);
  return resolved;
}

async function resolveAsNode(name: string, fromDir: string): Promise<ResolvedPackage | undefined> {
  // Loaded on first use: most commands never get as far as npm.
  const { resolve: resolveSpecifier } = await import('import-meta-resolve');
  let entry: string;
  try {
    entry = fileURLToPath(resolveSpecifier(name, pathToFileURL(path.join(fromDir, 'noop.js')).href));
  } catch {
    return undefined;
  }
  for (let dir = path.dirname(entry); ; dir = path.dirname(dir)) {
    const pkg = await readPackageJson(dir);
    if (pkg?.name === name) return { dir, entry, pkg };
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** The first folder Node's resolver looks in for package `name` from `fromDir`: the nearest `node_modules/NAME` above. */
export function nearestPackageFolder(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules' && statSync(path.join(dir, 'node_modules', name), { throwIfNoEntry: false })?.isDirectory()) {
      return path.join(dir, 'node_modules', name);
    }
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** The name in the package.json nearest to `fromDir`, the package a file there belongs to. */
function scopePackageName(fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) {
      try {
        return (JSON.parse(readFileSync(file, 'utf8')) as PackageJson).name;
      } catch {
        return undefined;
      }
    }
    if (dir === path.dirname(dir)) return undefined;
  }
}
