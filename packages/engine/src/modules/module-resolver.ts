import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError } from '../errors.js';
import type { EngineHooks } from '../hooks.js';
import { isExecutable, isFile, statOrUndefined } from '../probe.js';
import { MODULE_DIRS } from '../search-paths.js';
import type { SearchPaths } from '../search-paths.js';
import { executableModule } from './executable-module.js';
import { importPluginPackage, importPlugins, selectPlugin } from './load-plugin.js';
import type { PluginSource } from './load-plugin.js';
import type { LoadedModule } from './loaded-module.js';
import type { NpmResolutionCache } from './npm-resolution-cache.js';
import { resolvePackageFrom } from './npm-resolve.js';

const PLUGIN_FILE = /\.(m?js)$/;

/** `--type` given as a path rather than a name. */
export function isPathLike(value: string): boolean {
  return value.startsWith('/') || value.startsWith('./') || value.startsWith('../') || value === '.' || value === '..';
}

/** npm packages that serve `type`, in the order they are tried. */
export function pluginPackageNames(type: string): string[] {
  return [`@dysnomia/plugin-${type}`, `dysnomia-plugin-${type}`];
}

export type Candidate =
  | { kind: 'executable'; file: string }
  /** A module file; from npm, with the package's name and version (its entry as Node's resolver found it). */
  | { kind: 'plugin-file'; file: string; packageName?: string; version?: string }
  | { kind: 'plugin-package'; dir: string };

/** What `<dir>/<type>` (or `<dir>/<type>.js|.mjs`) holds, if it is a module. */
export async function candidateInDir(dir: string, type: string): Promise<Candidate | undefined> {
  const file = path.join(dir, type);
  const info = statOrUndefined(file);
  if (info?.isFile()) {
    if (PLUGIN_FILE.test(file)) return { kind: 'plugin-file', file };
    if (isExecutable(file)) return { kind: 'executable', file };
  } else if (info?.isDirectory() && isFile(path.join(file, 'package.json'))) {
    return { kind: 'plugin-package', dir: file };
  }
  for (const extension of ['.js', '.mjs']) {
    if (isFile(file + extension)) return { kind: 'plugin-file', file: file + extension };
  }
  return undefined;
}

export interface ModuleResolverOptions {
  cwd: string;
  searchPaths: SearchPaths;
  /** Plugins the config lists, already loaded. */
  configPlugins: PluginSource[];
  /** Folders npm packages are resolved from: the config's, the working folder, the engine's own. */
  npmDirs: string[];
  /** npm resolutions remembered across calls. */
  npmCache?: NpmResolutionCache;
}

/**
 * The engine's own module resolution, tapped into `resolveModule` as four taps
 * in the order `dysnomia --help` documents. A plugin can tap before them (stage < 0) to take over.
 */
export class ModuleResolver {
  private readonly loaded = new Map<string, PluginSource>();

  constructor(private readonly options: ModuleResolverOptions) {}

  install(hooks: EngineHooks): void {
    hooks.resolveModule.tapPromise({ name: 'dysnomia:path', stage: 0 }, (request) =>
      isPathLike(request.type) ? this.fromPath(path.resolve(this.options.cwd, request.type)) : Promise.resolve(undefined),
    );
    hooks.resolveModule.tapPromise({ name: 'dysnomia:modules-path', stage: 10 }, async (request) => {
      const dirs = this.options.searchPaths.modulesDirs();
      if (dirs.length === 0) request.searched.push('modules path: DYSNOMIA_MODULES_PATH and the config\'s modulesPath are empty');
      return this.fromDirs(dirs, request.type, request.searched, 'modules path');
    });
    hooks.resolveModule.tapPromise({ name: 'dysnomia:profiles', stage: 20 }, async (request) => {
      const dirs = await this.options.searchPaths.profileModulesDirs();
      if (dirs.length === 0) request.searched.push(`profiles: none installed in ${this.options.searchPaths.profilesDir}`);
      return this.fromDirs(dirs, request.type, request.searched, 'profile');
    });
    hooks.resolveModule.tapPromise({ name: 'dysnomia:npm', stage: 30 }, (request) => this.fromNpm(request.type, request.searched));
  }

  private async fromPath(target: string): Promise<LoadedModule> {
    const info = statOrUndefined(target);
    const notAModule = (why: string) => new DysnomiaError('ERR_DYSNOMIA_MODULE_NOT_FOUND', `--type ${target}: ${why}`);
    if (!info) throw notAModule('no such file or folder');
    if (info.isFile()) {
      if (PLUGIN_FILE.test(target)) return this.load({ kind: 'plugin-file', file: target }, undefined, 'path');
      if (isExecutable(target)) return this.load({ kind: 'executable', file: target }, path.basename(target), 'path');
      throw notAModule('the file is neither executable nor a .js/.mjs plugin');
    }
    if (isFile(path.join(target, 'package.json'))) {
      return this.load({ kind: 'plugin-package', dir: target }, undefined, 'path');
    }
    const found: Array<{ candidate: Candidate; type: string }> = [];
    for (const sub of MODULE_DIRS) {
      const dir = path.join(target, sub);
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        const candidate = await candidateInDir(dir, name);
        if (candidate) found.push({ candidate, type: name.replace(PLUGIN_FILE, '') });
      }
    }
    const [only] = found;
    if (found.length === 1 && only) return this.load(only.candidate, only.type, 'path');
    if (found.length === 0) throw notAModule('the folder has no package.json and no module in etc/dysnomia/modules or libexec/dysnomia');
    throw notAModule(`the folder provides several modules (${found.map((f) => f.type).join(', ')}); give the module's own path`);
  }

  private async fromDirs(dirs: string[], type: string, searched: string[], foundBy: string): Promise<LoadedModule | undefined> {
    for (const dir of dirs) {
      const candidate = await candidateInDir(dir, type);
      if (candidate) return this.load(candidate, type, `${foundBy} ${dir}`);
      const file = path.join(dir, type);
      searched.push(isFile(file) ? `${file} (exists, but is not executable: chmod +x ${file})` : file);
    }
    return undefined;
  }

  private async fromNpm(type: string, searched: string[]): Promise<LoadedModule | undefined> {
    for (const source of this.options.configPlugins) {
      const plugin = source.plugins.find((p) => p.type === type);
      if (plugin) return this.toModule(source, plugin, 'config "plugins"');
    }
    if (this.options.configPlugins.length > 0) searched.push(`config "plugins": ${this.options.configPlugins.map((s) => s.name).join(', ')}`);
    for (const name of pluginPackageNames(type)) {
      for (const dir of this.options.npmDirs) {
        const resolved = await resolvePackageFrom(name, dir, this.options.npmCache);
        if (resolved) {
          const { entry, pkg } = resolved;
          return this.load({ kind: 'plugin-file', file: entry, packageName: pkg.name ?? name, ...(pkg.version ? { version: pkg.version } : {}) }, type, `npm (from ${dir})`);
        }
      }
      searched.push(`npm package ${name} (from ${this.options.npmDirs.join(', ')})`);
    }
    return undefined;
  }

  private async load(candidate: Candidate, type: string | undefined, foundBy: string): Promise<LoadedModule> {
    if (candidate.kind === 'executable') {
      const moduleType = type ?? path.basename(candidate.file);
      return {
        kind: 'executable',
        type: moduleType,
        name: candidate.file,
        location: candidate.file,
        foundBy,
        plugin: executableModule(candidate.file, moduleType),
      };
    }
    const key = candidate.kind === 'plugin-file' ? candidate.file : candidate.dir;
    let source = this.loaded.get(key);
    if (!source) {
      source =
        candidate.kind === 'plugin-file'
          ? await importPlugins(candidate.file, candidate.packageName ?? candidate.file, candidate.version)
          : await importPluginPackage(candidate.dir);
      this.loaded.set(key, source);
    }
    const plugin = selectPlugin(source, type);
    if (!plugin) {
      throw new DysnomiaError(
        'ERR_DYSNOMIA_INVALID_PLUGIN',
        `plugin "${source.name}" (${source.entry}) was found for type "${type}" but serves ${source.plugins.map((p) => `"${p.type}"`).join(', ')}`,
      );
    }
    return this.toModule(source, plugin, foundBy);
  }

  private toModule(source: PluginSource, plugin: LoadedModule['plugin'], foundBy: string): LoadedModule {
    return {
      kind: 'plugin',
      type: plugin.type,
      name: plugin.meta?.name ?? source.name,
      location: source.entry,
      foundBy,
      plugin,
      ...((plugin.meta?.version ?? source.version) ? { version: plugin.meta?.version ?? source.version } : {}),
    };
  }
}
