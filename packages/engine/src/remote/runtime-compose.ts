import { ENGINE_PACKAGE } from './installed-packages.js';

/**
 * How a runtime is laid out and put together from package entries. These
 * functions run in two places: here, in the coordinator's store, and on a
 * target that has no engine yet, inside a `node -e` script made from their
 * source text (runtimeScriptFunctions). So the functions use nothing but
 * their parameters: no imports, no other module-level names.
 */

/** Where the engine's CLI sits inside a runtime (a link to its package). */
export const RUNTIME_ENGINE_BIN = `lib/node_modules/${ENGINE_PACKAGE}/bin/dysnomia.js`;
/** The engine module a target's bootstrap imports from the runtime it composed, to add it to the store. */
export const RUNTIME_INSTALLER = `lib/node_modules/${ENGINE_PACKAGE}/dist/remote/install-runtime.js`;
/** Folder of the packages inside a runtime, one per package and version (as pnpm lays them out). */
export const RUNTIME_PACKAGES_DIR = 'lib/node_modules/.store';
/** Where the GC root naming a target's runtimes is kept, relative to its state folder. */
export const RUNTIME_ROOT_FILE = 'deployments/dysnomia-runtime.json';
/** How many runtimes a target's GC root keeps: the current one and the ones before it, so an interrupted upgrade leaves a working one. */
export const RUNTIMES_KEPT = 3;

/** Where the files of each package entry go in a runtime, and the links that make Node find each package's dependencies. */
export interface RuntimeLayout {
  /** Package entries and the folder (relative to the runtime's root) their files go in. */
  packages: Array<{ path: string; entry: string }>;
  /** Relative symbolic links: each package's dependencies beside it, and lib/node_modules/NAME for the engine and the plugins. */
  links: Array<{ path: string; target: string }>;
  /** The text of dysnomia-runtime.json at the runtime's root: the engine, the plugins and the packages. */
  manifest: string;
}

type Fs = typeof import('node:fs');
type Path = typeof import('node:path');

/** Copies a tree with hard links for files (a copy where a link cannot be made), folders made anew, symbolic links as they are. */
export function linkTree(fs: Fs, path: Path, from: string, to: string): void {
  const info = fs.lstatSync(from);
  if (info.isDirectory()) {
    fs.mkdirSync(to, { mode: 0o755 });
    // Writable for the owner whatever the umask, or its contents could not be linked in.
    if ((fs.lstatSync(to).mode & 0o700) !== 0o700) fs.chmodSync(to, 0o755);
    for (const name of fs.readdirSync(from)) linkTree(fs, path, path.join(from, name), path.join(to, name));
  } else if (info.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(from), to);
  } else {
    try {
      fs.linkSync(from, to);
    } catch {
      fs.copyFileSync(from, to);
      fs.chmodSync(to, info.mode & 0o777);
    }
  }
}

/** Builds a runtime folder `out` from a layout; `packageDir` says where an entry's files are. */
export function composeRuntime(fs: Fs, path: Path, layout: RuntimeLayout, packageDir: (entry: string) => string, out: string): void {
  fs.mkdirSync(out, { recursive: true, mode: 0o755 });
  fs.chmodSync(out, 0o755);
  for (const item of layout.packages) {
    fs.mkdirSync(path.dirname(path.join(out, item.path)), { recursive: true, mode: 0o755 });
    linkTree(fs, path, packageDir(item.entry), path.join(out, item.path));
  }
  for (const link of layout.links) {
    fs.mkdirSync(path.dirname(path.join(out, link.path)), { recursive: true, mode: 0o755 });
    fs.symlinkSync(link.target, path.join(out, link.path));
  }
  const manifest = path.join(out, 'dysnomia-runtime.json');
  fs.writeFileSync(manifest, layout.manifest);
  // Exactly 0644 whatever the umask: a private or executable bit would change the runtime's hash.
  fs.chmodSync(manifest, 0o644);
}

/** The source text of the functions above, for a script that runs them where the engine is not installed yet. */
export function runtimeScriptFunctions(): string {
  return `const linkTree = ${linkTree.toString()};\nconst composeRuntime = ${composeRuntime.toString()};\n`;
}
