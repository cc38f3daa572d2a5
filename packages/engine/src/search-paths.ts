import path from 'node:path';
import type { DysnomiaConfig } from './config.js';
import type { StateDir } from './state-dir.js';

export const SYSTEM_CONTAINERS_DIR = '/etc/dysnomia/containers';
export const SYSTEM_COMPONENTS_DIR = '/etc/dysnomia/components';
export const SYSTEM_PROPERTIES_FILE = '/etc/dysnomia/properties';

export function splitPath(value: string | undefined): string[] {
  return (value ?? '').split(':').filter(Boolean);
}

/**
 * The folders searched for modules, containers and components, in DESIGN.md's
 * order. Profiles are read each time: a deployment may have just installed one.
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
    return profiles.flatMap((p) => [path.join(p, 'etc/dysnomia/modules'), path.join(p, 'libexec/dysnomia')]);
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
