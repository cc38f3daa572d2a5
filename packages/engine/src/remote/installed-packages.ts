import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { DysnomiaError } from '../errors.js';

/** The engine's package name: a plugin's dependency on it always means the engine it runs in. */
export const ENGINE_PACKAGE = '@dysnomia/engine';

interface Manifest {
  name?: string;
  version?: string;
  files?: string[];
  main?: string;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** One npm package as installed on this machine, with its dependencies resolved the way Node resolves them from its folder. */
export interface InstalledPackage {
  name: string;
  version: string;
  /** The package's real folder. */
  dir: string;
  /** Dependency name → the installed package Node finds for it from `dir`. */
  dependencies: Map<string, InstalledPackage>;
}

function readManifest(dir: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/**
 * The folder Node's resolver finds `name` in from a file in `fromDir`: the
 * first `node_modules/<name>` with a package.json, walking up the folders
 * (a folder that is itself called node_modules is skipped, as Node does).
 */
export function findInstalledPackage(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (lstatSync(path.join(candidate, 'package.json'), { throwIfNoEntry: false })?.isFile()) return candidate;
    }
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** Packages only native addons' builds use (C++ headers and helpers). */
const ADDON_BUILD_HELPERS = new Set(['nan', 'node-addon-api']);

/**
 * An optional dependency that is a native addon (a binding.gyp), or only
 * helps build one: the package does without it, and addons are not built on
 * targets (ssh2's cpu-features and nan).
 */
function isNativeAddonPart(name: string, dir: string): boolean {
  return ADDON_BUILD_HELPERS.has(name) || lstatSync(path.join(dir, 'binding.gyp'), { throwIfNoEntry: false }) !== undefined;
}

/**
 * Reads packages and their production dependencies as they are installed
 * (dependencies, installed optional and peer dependencies; no
 * devDependencies), each package once by its real folder. A plugin's
 * dependency on the engine resolves to `engine` when one is given, so every
 * plugin of a runtime uses the runtime's engine.
 */
export class InstalledPackages {
  private readonly byDir = new Map<string, InstalledPackage>();
  engine: InstalledPackage | undefined;

  /** `leaveOut`: dependencies of the engine it needs only where it deploys from (never on a target). */
  constructor(private readonly leaveOut: ReadonlySet<string> = new Set()) {}

  /** Reads the package in `dir` and its dependency closure. */
  load(dir: string): InstalledPackage {
    const real = realpathSync(dir);
    const known = this.byDir.get(real);
    if (known) return known;
    const manifest = readManifest(real);
    if (!manifest?.name) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${real}: not an npm package (no package.json with a name)`);
    const pkg: InstalledPackage = { name: manifest.name, version: manifest.version ?? '0.0.0', dir: real, dependencies: new Map() };
    this.byDir.set(real, pkg);
    const optional = new Set(Object.keys(manifest.optionalDependencies ?? {}));
    const wanted = new Map<string, 'required' | 'optional'>();
    for (const name of Object.keys(manifest.dependencies ?? {})) wanted.set(name, optional.has(name) ? 'optional' : 'required');
    for (const name of optional) wanted.set(name, 'optional');
    // A peer the package declares optional works without it (cosmiconfig and typescript): it is left out, as npm leaves it uninstalled.
    for (const name of Object.keys(manifest.peerDependencies ?? {})) {
      if (!wanted.has(name) && manifest.peerDependenciesMeta?.[name]?.optional !== true) wanted.set(name, 'optional');
    }
    for (const [name, need] of [...wanted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (name === ENGINE_PACKAGE && this.engine !== undefined && pkg !== this.engine) {
        pkg.dependencies.set(name, this.engine);
        continue;
      }
      if (manifest.name === ENGINE_PACKAGE && this.leaveOut.has(name)) continue;
      const found = findInstalledPackage(name, real);
      if (found === undefined) {
        if (need === 'optional') continue;
        throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${pkg.name}@${pkg.version} (${real}) depends on ${name}, which is not installed where Node would look for it: run npm install in its project`);
      }
      if (optional.has(name) && isNativeAddonPart(name, found)) continue;
      pkg.dependencies.set(name, this.load(found));
    }
    return pkg;
  }

  /** Every package reachable from `roots`, each once, in a stable order (by name, version and folder). */
  static closure(roots: InstalledPackage[]): InstalledPackage[] {
    const seen = new Set<InstalledPackage>();
    const visit = (pkg: InstalledPackage) => {
      if (seen.has(pkg)) return;
      seen.add(pkg);
      for (const dependency of pkg.dependencies.values()) visit(dependency);
    };
    roots.forEach(visit);
    return [...seen].sort((a, b) => compareText(`${a.name}@${a.version}\0${a.dir}`, `${b.name}@${b.version}\0${b.dir}`));
  }
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Files nothing loads at run time: type declarations, source maps, TypeScript build info, C sources of native addons. */
const UNUSED_FILE = /(\.d\.[mc]?ts|\.map|\.tsbuildinfo|\.c|\.cc|\.h|\.inl|\.gyp|\.gypi)$/;
/** Never part of a package: its own dependencies (they are packages of their own) and version control. */
const NEVER = new Set(['node_modules', '.git']);

/**
 * The files of a package that go to a target, relative to its folder, sorted.
 * A package installed by npm (inside a node_modules folder) is taken as it
 * is; a linked one (a workspace, `npm install ./folder`) as `npm pack` would
 * publish it: package.json, README and LICENSE, its main file and bins, and
 * what "files" lists. Type declarations, source maps and C sources are left
 * out either way.
 */
export function packageFiles(pkg: InstalledPackage): string[] {
  const manifest = readManifest(pkg.dir) ?? {};
  const installed = pkg.dir.split(path.sep).includes('node_modules');
  const all: string[] = [];
  const walk = (relative: string) => {
    const info = lstatSync(path.join(pkg.dir, relative), { throwIfNoEntry: false });
    if (info === undefined) return;
    if (info.isDirectory()) {
      for (const name of readdirSync(path.join(pkg.dir, relative))) if (!NEVER.has(name)) walk(relative === '' ? name : `${relative}/${name}`);
    } else if ((info.isFile() || info.isSymbolicLink()) && !UNUSED_FILE.test(relative)) {
      all.push(relative);
    }
  };
  walk('');
  if (installed || !Array.isArray(manifest.files)) return all.sort(compareText);
  const bins = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
  const always = [manifest.main, ...bins].filter((p): p is string => typeof p === 'string').map((p) => path.posix.normalize(p).replace(/^\.\//, ''));
  const include = manifest.files.filter((p) => !p.startsWith('!')).map(globToPattern);
  const exclude = manifest.files.filter((p) => p.startsWith('!')).map((p) => globToPattern(p.slice(1)));
  return all
    .filter((file) => {
      if (file === 'package.json' || /^(readme|license|licence)(\.|$)/i.test(file) || always.includes(file)) return true;
      return include.some((pattern) => pattern.test(file)) && !exclude.some((pattern) => pattern.test(file));
    })
    .sort(compareText);
}

/** A "files" entry as npm reads it: a path or glob that also takes everything below a folder it names. */
function globToPattern(glob: string): RegExp {
  const clean = path.posix.normalize(glob).replace(/^\.\//, '').replace(/\/$/, '');
  let source = '';
  for (let i = 0; i < clean.length; i++) {
    const c = clean[i]!;
    if (c === '*' && clean[i + 1] === '*') {
      source += '.*';
      i++;
      if (clean[i + 1] === '/') i++;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}(/.*)?$`);
}
