import path from 'node:path';
import type { DysnomiaConfig } from './config.js';
import { lstatOrUndefined } from './probe.js';
import type { StateDir } from './state-dir.js';

export const SYSTEM_CONTAINERS_DIR = '/etc/dysnomia/containers';
export const SYSTEM_COMPONENTS_DIR = '/etc/dysnomia/components';
export const SYSTEM_PROPERTIES_FILE = '/etc/dysnomia/properties';

/** Where a component or profile keeps the modules it provides (Dysnomia's two places). */
export const MODULE_DIRS = ['etc/dysnomia/modules', 'libexec/dysnomia'];
/** The names a module for TYPE may have in such a folder: an executable or plugin folder, or a plugin file. */
export const MODULE_FILE_SUFFIXES = ['', '.js', '.mjs'];

/** The module a component or profile folder provides for `type`, where the engine would find it; undefined when none. */
export async function moduleIn(root: string, type: string): Promise<string | undefined> {
  for (const dir of MODULE_DIRS) {
    for (const suffix of MODULE_FILE_SUFFIXES) {
      const file = path.join(root, dir, type + suffix);
      if (lstatOrUndefined(file) !== undefined) return file;
    }
  }
  return undefined;
}

export function splitPath(value: string | undefined): string[] {
  return (value ?? '').split(':').filter(Boolean);
}

/**
 * The folders searched for modules, containers and components, in the order
 * `dysnomia --help` documents. Profiles are read each time: a deployment may have just installed one.
 */
export class SearchPaths {
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly config: DysnomiaConfig,
    private readonly stateDir: StateDir,
    private readonly cwd: string,
  ) {}

  get profilesDir(): string {
    return this.stateDir.profilesDir;
  }

  /** DYSNOMIA_MODULES_PATH, then the config's modulesPath. */
  modulesDirs(): string[] {
    return [...splitPath(this.env.DYSNOMIA_MODULES_PATH).map((d) => path.resolve(this.cwd, d)), ...this.config.modulesPath];
  }

  /** For each profile: its etc/dysnomia/modules and libexec/dysnomia. */
  async profileModulesDirs(): Promise<string[]> {
    const profiles = await this.stateDir.profiles();
    return profiles.flatMap((p) => MODULE_DIRS.map((dir) => path.join(p, dir)));
  }

  /** DYSNOMIA_CONTAINERS_PATH, the config's containersPath, the profiles' containers, /etc/dysnomia/containers. */
  async containersDirs(): Promise<string[]> {
    const profiles = await this.stateDir.profiles();
    return [
      ...splitPath(this.env.DYSNOMIA_CONTAINERS_PATH).map((d) => path.resolve(this.cwd, d)),
      ...this.config.containersPath,
      ...profiles.map((p) => path.join(p, 'etc/dysnomia/containers')),
      SYSTEM_CONTAINERS_DIR,
    ];
  }

  componentsDirs(): string[] {
    const dirs = splitPath(this.env.DYSNOMIA_COMPONENTS_PATH);
    return dirs.length > 0 ? dirs.map((d) => path.resolve(this.cwd, d)) : [SYSTEM_COMPONENTS_DIR];
  }

  propertiesFile(): string {
    return this.env.DYSNOMIA_PROPERTIES || SYSTEM_PROPERTIES_FILE;
  }
}
