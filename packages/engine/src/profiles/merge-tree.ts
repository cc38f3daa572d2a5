import { mkdir, readdir, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';

/** The folders of each package a profile merges, as Nix's buildEnv does for a user environment. */
export const MERGED_FOLDERS = ['bin', 'etc', 'share', 'lib'] as const;
const MAX_CONFLICTS_SHOWN = 10;

/**
 * Writes the symlink tree of a generation into `out` (created here): for each
 * merged folder, a path only one package provides becomes one relative link
 * into that package (`../<entry>/bin` for a whole folder); a folder several
 * packages provide becomes a real folder merged one level deeper. Two packages
 * providing the same file is a conflict: reported with both names, nothing
 * overwritten. Links are relative so a generation hashes the same in every
 * store and stays valid when the store is copied.
 */
export async function writeGenerationTree(out: string, storeDir: string, packages: string[], etcOnly: ReadonlySet<string> = new Set()): Promise<void> {
  await mkdir(out);
  const conflicts: string[] = [];
  for (const folder of MERGED_FOLDERS) {
    const providers: string[] = [];
    for (const entry of packages) {
      if (folder !== 'etc' && etcOnly.has(entry)) continue;
      if (await isFolder(path.join(storeDir, entry, folder))) providers.push(entry);
    }
    await mergeLevel(out, storeDir, folder, providers, conflicts);
  }
  if (conflicts.length > 0) {
    const shown = conflicts.slice(0, MAX_CONFLICTS_SHOWN).map((c) => `  ${c}`);
    if (conflicts.length > MAX_CONFLICTS_SHOWN) shown.push(`  and ${conflicts.length - MAX_CONFLICTS_SHOWN} more`);
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `the packages conflict, nothing was installed:\n${shown.join('\n')}`, {
      exitCode: EXIT_OPERATION_FAILED,
    });
  }
}

async function mergeLevel(out: string, storeDir: string, relative: string, providers: string[], conflicts: string[]): Promise<void> {
  if (providers.length === 0) return;
  if (providers.length === 1) {
    await symlink(linkTarget(providers[0]!, relative), path.join(out, relative));
    return;
  }
  await mkdir(path.join(out, relative));
  const children = new Map<string, string[]>();
  for (const entry of providers) {
    for (const name of await readdir(path.join(storeDir, entry, relative))) {
      children.set(name, [...(children.get(name) ?? []), entry]);
    }
  }
  for (const name of [...children.keys()].sort()) {
    const child = path.posix.join(relative, name);
    const owners = children.get(name)!;
    if (owners.length === 1) {
      await symlink(linkTarget(owners[0]!, child), path.join(out, child));
      continue;
    }
    const folders = await Promise.all(owners.map((entry) => isFolder(path.join(storeDir, entry, child))));
    if (folders.every(Boolean)) await mergeLevel(out, storeDir, child, owners, conflicts);
    else conflicts.push(`${child} is provided by ${owners.length === 2 ? `both ${owners[0]} and ${owners[1]}` : `${owners.slice(0, -1).join(', ')} and ${owners.at(-1)}`}`);
  }
}

/** From `<generation>/<relative>` to `<entry>/<relative>`, both in the same store folder. */
function linkTarget(entry: string, relative: string): string {
  const depth = relative.split('/').length;
  return `${'../'.repeat(depth)}${entry}/${relative}`;
}

async function isFolder(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isDirectory(), () => false);
}
