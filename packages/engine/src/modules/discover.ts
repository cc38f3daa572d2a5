import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../engine.js';
import { isEngineCompatible } from '../plugin.js';
import { ENGINE_API_VERSION } from '../version.js';
import { importPluginPackage, importPlugins, readPackageJson } from './load-plugin.js';
import type { PluginSource } from './load-plugin.js';
import { candidateInDir, pluginPackageNames } from './module-resolver.js';
import type { Candidate } from './module-resolver.js';

export interface DiscoveredModule {
  type?: string;
  kind: 'plugin' | 'executable';
  name: string;
  version?: string;
  location: string;
  foundBy: string;
  engineRange?: string;
  compatible?: boolean;
  /** Why it could not be loaded. */
  error?: string;
  /**
   * active: `--type TYPE` uses it; shadowed: an earlier module serves the type;
   * unlisted: an npm package whose name is not @dysnomia/plugin-TYPE or
   * dysnomia-plugin-TYPE, used only when the config lists it; error: cannot load.
   */
  status: 'active' | 'shadowed' | 'unlisted' | 'error';
}

const PLUGIN_PACKAGE = /^(@dysnomia\/plugin-.+|dysnomia-plugin-.+|@[^/]+\/dysnomia-plugin-.+)$/;

/** Every module this engine can see, in resolution order, each loaded to learn its type, version and range. */
export async function discoverModules(engine: Engine, npmDirs: string[], configPlugins: readonly PluginSource[]): Promise<DiscoveredModule[]> {
  const found: DiscoveredModule[] = [];
  const seenLocations = new Set<string>();
  const add = (module: Omit<DiscoveredModule, 'status'>, reachable = true) => {
    const status = module.error
      ? 'error'
      : !reachable
        ? 'unlisted'
        : found.some((f) => f.status === 'active' && f.type === module.type)
          ? 'shadowed'
          : 'active';
    found.push({ ...module, status });
  };
  const addSource = (source: PluginSource, foundBy: string, byName: boolean) => {
    for (const plugin of source.plugins) {
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
        },
        !byName || pluginPackageNames(plugin.type).includes(source.name),
      );
    }
  };
  const addCandidate = async (candidate: Candidate, type: string, foundBy: string) => {
    const location = candidate.kind === 'plugin-package' ? candidate.dir : candidate.file;
    const real = await realpath(location).catch(() => location);
    if (seenLocations.has(real)) return;
    seenLocations.add(real);
    if (candidate.kind === 'executable') {
      add({ type, kind: 'executable', name: candidate.file, location: candidate.file, foundBy, compatible: true });
      return;
    }
    try {
      const source = candidate.kind === 'plugin-file' ? await importPlugins(candidate.file, candidate.file) : await importPluginPackage(candidate.dir);
      addSource(source, foundBy, foundBy.startsWith('npm'));
    } catch (error) {
      add({ kind: 'plugin', name: location, location, foundBy, error: (error as Error).message });
    }
  };

  const dirGroups: Array<[string, string[]]> = [
    ['modules path', engine.searchPaths.modulesDirs()],
    ['profile', await engine.searchPaths.profileModulesDirs()],
  ];
  for (const [foundBy, dirs] of dirGroups) {
    for (const dir of dirs) {
      for (const entry of (await readdir(dir).catch(() => [] as string[])).sort()) {
        const type = entry.replace(/\.m?js$/, '');
        const candidate = await candidateInDir(dir, type);
        if (candidate) await addCandidate(candidate, type, `${foundBy} ${dir}`);
      }
    }
  }
  for (const source of configPlugins) addSource(source, 'config "plugins"', false);
  for (const dir of npmDirs) {
    for (const packageDir of await pluginPackagesVisibleFrom(dir)) {
      await addCandidate({ kind: 'plugin-package', dir: packageDir }, '', `npm (from ${dir})`);
    }
  }
  return found;
}

/** Plugin packages in node_modules of `dir` and its parents: by name, or by the keyword dysnomia-plugin. */
async function pluginPackagesVisibleFrom(start: string): Promise<string[]> {
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
