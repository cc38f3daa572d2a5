import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readPackageJson } from './load-plugin.js';
import type { PackageJson } from './load-plugin.js';

export interface ResolvedPackage {
  dir: string;
  entry: string;
  pkg: PackageJson;
}

/**
 * Resolves an npm package the way Node's ESM loader would from a file in
 * `fromDir` (node_modules of that folder and its parents, "exports" honoured).
 */
export async function resolvePackageFrom(name: string, fromDir: string): Promise<ResolvedPackage | undefined> {
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
