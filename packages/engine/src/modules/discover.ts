import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../engine.js';
import { isEngineCompatible } from '../plugin.js';
import { ENGINE_API_VERSION } from '../version.js';
import { importPluginPackage, importPlugins, readPackageJson } from './load-plugin.js';
import type { PluginSource } from './load-plugin.js';
import { candidateInDir, pluginPackageNames } from './module-resolver.js';
import type { Candidate } from './module-resolver.js';

export type DiscoveryStatus = 'active' | 'shadowed' | 'incompatible' | 'unlisted' | 'error';

export interface DiscoveredModule {
  type?: string;
  kind: 'plugin' | 'executable';
  name: string;
  version?: string;
  location: string;
  foundBy: string;
  engineRange?: string;
  compatible?: boolean;
  /** Why it cannot be used. */
  error?: string;
  /**
   * active: `--type TYPE` uses it; shadowed: an earlier module serves the type;
   * incompatible: `--type TYPE` finds it and refuses it (engine range);
   * unlisted: an npm package not named @dysnomia/plugin-TYPE or
   * dysnomia-plugin-TYPE, used only when the config lists it;
   * error: it cannot be used (see `error`).
   */
  status: DiscoveryStatus;
}

/** A listed plugin that could not be loaded: shown, not fatal, since this is the command people run to find out why. */
export interface BrokenListing {
  entry: string;
  error: string;
}

const PLUGIN_PACKAGE = /^(@dysnomia\/plugin-.+|dysnomia-plugin-.+|@[^/]+\/dysnomia-plugin-.+)$/;

/** Every module this engine can see, in resolution order, each loaded to learn its type, version and range. */
export async function discoverModules(
  engine: Engine,
  configPlugins: readonly PluginSource[],
  brokenListings: readonly BrokenListing[] = [],
): Promise<DiscoveredModule[]> {
  const found: DiscoveredModule[] = [];
  const seenLocations = new Set<string>();
  const add = (module: Omit<DiscoveredModule, 'status'>, reachable: boolean) => {
    let status: DiscoveryStatus;
    if (module.error) status = 'error';
    else if (!reachable) status = 'unlisted';
    else if (found.some((f) => (f.status === 'active' || f.status === 'incompatible') && f.type === module.type)) status = 'shadowed';
    else status = module.compatible === false ? 'incompatible' : 'active';
    found.push({ ...module, status });
  };
  /** `expectedType`: the name it is found under in a modules folder, which its type must match. */
  const addSource = (source: PluginSource, foundBy: string, options: { byPackageName: boolean; expectedType?: string }) => {
    for (const plugin of source.plugins) {
      const misnamed = options.expectedType !== undefined && plugin.type !== options.expectedType;
      add(
        {
          type: plugin.type,
          kind: 'plugin',
          name: plugin.meta?.name ?? source.name,
          location: source.entry,
          foundBy,
          engineRange: plugin.engine,
          compatible: isEngineCompatible(plugin.engine, ENGINE_API_VERSION),
          ...((plugin.meta?.version ?? source.version) ? { version: plugin.meta?.version ?? source.version } : {}),
          ...(misnamed
            ? { error: `found as "${options.expectedType}" but serves type "${plugin.type}": rename it to ${plugin.type}, or fix its type` }
            : {}),
        },
        !options.byPackageName || pluginPackageNames(plugin.type).includes(source.name),
      );
    }
  };
  const addCandidate = async (candidate: Candidate, foundBy: string, expectedType?: string) => {
    const location = candidate.kind === 'plugin-package' ? candidate.dir : candidate.file;
    const real = await realpath(location).catch(() => location);
    if (seenLocations.has(real)) return;
    seenLocations.add(real);
    if (candidate.kind === 'executable') {
      add({ type: expectedType ?? path.basename(location), kind: 'executable', name: location, location, foundBy, compatible: true }, true);
      return;
    }
    try {
      const source = candidate.kind === 'plugin-file' ? await importPlugins(candidate.file, candidate.file) : await importPluginPackage(candidate.dir);
      addSource(source, foundBy, { byPackageName: foundBy.startsWith('npm'), ...(expectedType === undefined ? {} : { expectedType }) });
    } catch (error) {
      add({ ...(expectedType ? { type: expectedType } : {}), kind: 'plugin', name: location, location, foundBy, error: (error as Error).message }, true);
    }
  };

  const dirGroups: Array<[string, string[]]> = [
    ['modules path', engine.searchPaths.modulesDirs()],
    ['profile', await engine.searchPaths.profileModulesDirs()],
  ];
  for (const [foundBy, dirs] of dirGroups) {
    for (const dir of dirs) {
      for (const entry of (await readdir(dir).catch(() => [] as string[])).sort()) {
        if (entry.startsWith('.')) continue;
        const type = entry.replace(/\.m?js$/, '');
        const candidate = await candidateInDir(dir, type);
        if (candidate) await addCandidate(candidate, `${foundBy} ${dir}`, type);
        else if ((await stat(path.join(dir, entry)).catch(() => undefined))?.isFile()) {
          const file = path.join(dir, entry);
          add({ type, kind: 'executable', name: file, location: file, foundBy: `${foundBy} ${dir}`, error: `not executable: chmod +x ${file}` }, true);
        }
      }
    }
  }
  for (const broken of brokenListings) {
    add({ kind: 'plugin', name: broken.entry, location: broken.entry, foundBy: 'config "plugins"', error: broken.error }, true);
  }
  for (const source of configPlugins) addSource(source, 'config "plugins"', { byPackageName: false });
  for (const dir of engine.npmDirs) {
    for (const packageDir of await pluginPackagesVisibleFrom(dir)) {
      await addCandidate({ kind: 'plugin-package', dir: packageDir }, `npm (from ${dir})`);
    }
  }
  return found;
}

/** The type a plugin package's name says it serves (`@dysnomia/plugin-TYPE`, `[@SCOPE/]dysnomia-plugin-TYPE`), if it says one. */
export function typeNamedByPackage(name: string): string | undefined {
  return /^(?:@dysnomia\/plugin-|(?:@[^/]+\/)?dysnomia-plugin-)(.+)$/.exec(name)?.[1];
}

/** Plugin packages in node_modules of `dir` and its parents: by name, or by the keyword dysnomia-plugin. */
export async function pluginPackagesVisibleFrom(start: string): Promise<string[]> {
  const result: string[] = [];
  for (let dir = start; ; dir = path.dirname(dir)) {
    const modules = path.join(dir, 'node_modules');
    for (const entry of (await readdir(modules).catch(() => [] as string[])).sort()) {
      const names = entry.startsWith('@')
        ? (await readdir(path.join(modules, entry)).catch(() => [] as string[])).sort().map((n) => `${entry}/${n}`)
        : [entry];
      for (const name of names) {
        const packageDir = path.join(modules, name);
        if (PLUGIN_PACKAGE.test(name) || (await readPackageJson(packageDir))?.keywords?.includes('dysnomia-plugin')) {
          if (name !== '@dysnomia/engine') result.push(packageDir);
        }
      }
    }
    if (dir === path.dirname(dir)) return result;
  }
}
