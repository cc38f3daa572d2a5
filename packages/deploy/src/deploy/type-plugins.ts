import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { DysnomiaConfig } from '@dysnomia/engine/internal/config.js';
import { loadListedPlugin } from '@dysnomia/engine/internal/engine.js';
import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';
import { importPluginPackage, readPackageJson } from '@dysnomia/engine/internal/modules/load-plugin.js';
import type { PluginSource } from '@dysnomia/engine/internal/modules/load-plugin.js';
import { pluginPackagesVisibleFrom, typeNamedByPackage } from '@dysnomia/engine/internal/modules/discover.js';
import { pluginPackageNames } from '@dysnomia/engine/internal/modules/module-resolver.js';
import { assertEngineCompatible } from '@dysnomia/engine/internal/plugin.js';
import { findInstalledPackage } from '@dysnomia/engine/internal/remote/installed-packages.js';
import { enginePackageDir } from '../remote/runtime.js';

/** A plugin package found on the coordinator for a type: it goes to the targets that run services of that type. */
export interface TypePlugin {
  type: string;
  /** The package's name and version, as installed here. */
  name: string;
  version?: string;
  /** Its package folder here. */
  dir: string;
  /** The plugin says it keeps state (deploy's --deploy-state moves only such state). */
  stateful: boolean;
}

/** The package folder a plugin file belongs to (its nearest package.json), or undefined for a lone file. */
async function packageFolderOf(file: string): Promise<string | undefined> {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if ((await readPackageJson(dir))?.name) return dir;
  }
  return undefined;
}

/** `node_modules/@SCOPE/dysnomia-plugin-TYPE` in the folders Node would look in from `fromDir`, in that order. */
function scopedPluginDirs(type: string, fromDir: string): string[] {
  const found: string[] = [];
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const modules = path.join(dir, 'node_modules');
      let scopes: string[] = [];
      try {
        scopes = readdirSync(modules).filter((name) => name.startsWith('@') && name !== '@dysnomia').sort();
      } catch {
        // No node_modules here.
      }
      for (const scope of scopes) {
        const candidate = path.join(modules, scope, `dysnomia-plugin-${type}`);
        if (lstatSync(path.join(candidate, 'package.json'), { throwIfNoEntry: false })) found.push(candidate);
      }
    }
    if (dir === path.dirname(dir)) return found;
  }
}

/**
 * Resolves service types to plugin packages on the coordinator, before
 * anything is built or sent: the config's "plugins", then
 * `@dysnomia/plugin-TYPE`, `dysnomia-plugin-TYPE` and
 * `@SCOPE/dysnomia-plugin-TYPE`, from the models' folder, the config's
 * folder, the working folder and the engine's own install. A plugin found is
 * imported and checked (it serves the type, its engine range fits) here,
 * so a bad one is refused before any target is touched.
 */
export class TypePlugins {
  private readonly dirs: string[];
  private readonly resolved = new Map<string, Promise<TypePlugin | undefined>>();
  private listed: Promise<Array<{ source: PluginSource; dir: string | undefined }>> | undefined;

  constructor(
    private readonly config: DysnomiaConfig,
    /** Folders npm packages are looked up from, in order (the models' folder first). */
    dirs: string[],
  ) {
    this.dirs = [...new Set([...dirs, config.dir, process.cwd(), enginePackageDir()])];
  }
  /** The same lookup, from other models' folders first (a layer's services model). */
  from(dirs: string[]): TypePlugins {
    return new TypePlugins(this.config, [...dirs, ...this.dirs]);
  }


  /** The plugin package serving `type`, or undefined when none is installed here. */
  resolve(type: string): Promise<TypePlugin | undefined> {
    let found = this.resolved.get(type);
    if (found === undefined) {
      found = this.find(type);
      this.resolved.set(type, found);
    }
    return found;
  }

  /** Where resolve() looked for `type`, for an error that says it. */
  searched(type: string): string[] {
    const names = [...pluginPackageNames(type), `@*/dysnomia-plugin-${type}`];
    return [
      this.config.plugins.length > 0 ? `the config's "plugins" (${this.config.plugins.join(', ')})` : `the config's "plugins" (none${this.config.file ? ` in ${this.config.file}` : ': no config file'})`,
      `npm packages ${names.join(', ')} from ${this.dirs.join(', ')}`,
    ];
  }

  /** The types installed here by package name or served by the config's plugins, for a suggestion (nothing is imported but the listed plugins). */
  async knownTypes(): Promise<string[]> {
    const types = new Set<string>();
    for (const { source } of await this.listedPlugins().catch(() => [])) for (const plugin of source.plugins) types.add(plugin.type);
    for (const dir of this.dirs) {
      for (const packageDir of await pluginPackagesVisibleFrom(dir)) {
        const scope = path.basename(path.dirname(packageDir));
        const type = typeNamedByPackage(scope.startsWith('@') ? `${scope}/${path.basename(packageDir)}` : path.basename(packageDir));
        if (type !== undefined) types.add(type);
      }
    }
    return [...types];
  }

  private async find(type: string): Promise<TypePlugin | undefined> {
    for (const { source, dir } of await this.listedPlugins()) {
      if (!source.plugins.some((p) => p.type === type)) continue;
      if (dir === undefined) {
        throw new DysnomiaError(
          'ERR_DYSNOMIA_CONFIG',
          `the config's plugin ${source.entry} serves type "${type}", but it is a lone file: only a plugin package (a folder with package.json) can go to remote targets`,
        );
      }
      const plugin = source.plugins.find((p) => p.type === type)!;
      return { type, name: source.name, ...(source.version ? { version: source.version } : {}), dir, stateful: plugin.stateful === true };
    }
    const candidates: string[] = [];
    for (const name of pluginPackageNames(type)) for (const dir of this.dirs) candidates.push(...[findInstalledPackage(name, dir)].filter((d): d is string => d !== undefined));
    for (const dir of this.dirs) candidates.push(...scopedPluginDirs(type, dir));
    const dir = candidates[0];
    if (dir === undefined) return undefined;
    const source = await importPluginPackage(dir);
    const plugin = source.plugins.find((p) => p.type === type);
    if (plugin === undefined) {
      throw new DysnomiaError('ERR_DYSNOMIA_INVALID_PLUGIN', `plugin "${source.name}" (${dir}) is named for type "${type}" but serves ${source.plugins.map((p) => `"${p.type}"`).join(', ')}`);
    }
    assertEngineCompatible(plugin, source.name);
    return { type, name: source.name, ...(source.version ? { version: source.version } : {}), dir, stateful: plugin.stateful === true };
  }

  /** The config's plugins, loaded once (as the engine loads them), with their package folders. */
  private listedPlugins(): Promise<Array<{ source: PluginSource; dir: string | undefined }>> {
    this.listed ??= Promise.all(
      this.config.plugins.map(async (entry) => {
        const source = await loadListedPlugin(entry, this.dirs);
        for (const plugin of source.plugins) assertEngineCompatible(plugin, source.name);
        // A path is a package folder or a lone file; a name is a package, whose folder holds its entry.
        const dir = path.isAbsolute(entry) ? (/\.(m?js)$/.test(entry) ? undefined : entry) : await packageFolderOf(source.entry);
        return { source, dir };
      }),
    );
    return this.listed;
  }
}
