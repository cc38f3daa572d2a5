import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DysnomiaError } from '../errors.js';
import { describeImportError } from '../import-error.js';
import { validatePlugin } from '../plugin.js';
import { ENGINE_PACKAGE, findInstalledPackage } from '../remote/installed-packages.js';
import type { DysnomiaPlugin } from '../plugin.js';

export interface PackageJson {
  name?: string;
  version?: string;
  main?: string;
  module?: string;
  exports?: unknown;
  keywords?: string[];
}

export interface PluginSource {
  /** Package name, or the file's path. */
  name: string;
  version?: string;
  /** The file imported. */
  entry: string;
  plugins: DysnomiaPlugin[];
}

export async function readPackageJson(dir: string): Promise<PackageJson | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

/** The file `import(dir)` would load: exports "." (import/default), then module, main, index.js. */
export function packageEntry(dir: string, pkg: PackageJson): string {
  const pick = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.map(pick).find(Boolean);
    if (value && typeof value === 'object') {
      const conditions = value as Record<string, unknown>;
      if ('.' in conditions) return pick(conditions['.']);
      for (const key of ['import', 'node', 'default']) if (key in conditions) return pick(conditions[key]);
    }
    return undefined;
  };
  return path.resolve(dir, pick(pkg.exports) ?? pkg.module ?? pkg.main ?? 'index.js');
}

let engineImportHook = false;

/**
 * A plugin whose folder has no `@dysnomia/engine` above it (shipped by a
 * component or a profile in the store, given as a path, or installed into a
 * project without its peer dependency while the engine is installed
 * elsewhere) cannot import the engine by Node's own search: the hook hands
 * it the running engine. Registered once, and only when such a plugin is
 * loaded (it costs a loader thread).
 */
async function allowEngineImport(entry: string): Promise<void> {
  if (engineImportHook || findInstalledPackage(ENGINE_PACKAGE, path.dirname(entry)) !== undefined) return;
  if (!(await mayImportModules(entry))) return;
  engineImportHook = true;
  const { register } = await import('node:module');
  const dist = new URL('../', import.meta.url);
  register(new URL('./engine-import-hook.js', import.meta.url), {
    data: { exports: { [ENGINE_PACKAGE]: new URL('index.js', dist).href, [`${ENGINE_PACKAGE}/deployment`]: new URL('../deployment.js', dist).href } },
  });
}

/**
 * Whether a plugin file may import the engine, itself or through another
 * module: any import, export-from or require of something other than a
 * `node:` built-in. Read as text and conservatively (an `import('x')` in a
 * comment counts), so only a self-contained plugin file is known not to: it
 * is spared the hook, whose loader thread costs more than the rest of a call.
 */
async function mayImportModules(entry: string): Promise<boolean> {
  const source = await readFile(entry, 'utf8').catch(() => undefined);
  if (source === undefined) return true;
  for (const match of source.matchAll(/\b(import|require|from)\b/g)) {
    const rest = source.slice(match.index + match[0].length);
    // `import x from 'y'`, `import { x } from 'y'`: the from clause is read on its own.
    if (match[1] === 'import' && /^\s*[\w$*{]/.test(rest)) continue;
    if (match[1] === 'import' && /^\s*\.\s*meta\b/.test(rest) && !/^\s*\.\s*meta\s*\.\s*resolve\b/.test(rest)) continue;
    if (match[1] === 'from' && !/^\s*['"]/.test(rest)) continue;
    if (/^\s*\(?\s*['"]node:/.test(rest)) continue;
    return true;
  }
  return false;
}

/** Imports a plugin module and validates every plugin it exports. */
export async function importPlugins(entry: string, name: string, version?: string): Promise<PluginSource> {
  let exported: unknown;
  await allowEngineImport(entry);
  try {
    const module = (await import(pathToFileURL(entry).href)) as { default?: unknown };
    exported = module.default;
  } catch (error) {
    const reason = describeImportError(error, entry);
    const where = reason.startsWith(`${entry}:`) ? '' : ` from ${entry}`;
    throw new DysnomiaError('ERR_DYSNOMIA_INVALID_PLUGIN', `cannot load plugin "${name}"${where}: ${reason}`, {
      cause: error,
    });
  }
  const list = Array.isArray(exported) ? exported : [exported];
  if (list.length === 0) throw new DysnomiaError('ERR_DYSNOMIA_INVALID_PLUGIN', `plugin "${name}" (${entry}) exports no plugins`);
  const plugins = list.map((p) => validatePlugin(p, `plugin "${name}" (${entry})`));
  return { name, entry, plugins, ...(version === undefined ? {} : { version }) };
}

/** A folder with package.json: loads its entry, named after the package. */
export async function importPluginPackage(dir: string): Promise<PluginSource> {
  const pkg = await readPackageJson(dir);
  if (!pkg) throw new DysnomiaError('ERR_DYSNOMIA_INVALID_PLUGIN', `${dir} has no readable package.json`);
  return importPlugins(packageEntry(dir, pkg), pkg.name ?? dir, pkg.version);
}

/** Picks the plugin serving `type`; with no type (a path given as --type) the module must export exactly one. */
export function selectPlugin(source: PluginSource, type: string | undefined): DysnomiaPlugin | undefined {
  if (type !== undefined) return source.plugins.find((p) => p.type === type);
  if (source.plugins.length === 1) return source.plugins[0];
  throw new DysnomiaError(
    'ERR_DYSNOMIA_INVALID_PLUGIN',
    `plugin "${source.name}" exports several types (${source.plugins.map((p) => p.type).join(', ')}): name one with --type TYPE and list the package in the config's "plugins"`,
  );
}
