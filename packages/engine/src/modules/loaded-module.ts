import type { DysnomiaPlugin } from '../plugin.js';

/** A module ready to run operations: a plugin, or a Dysnomia executable wrapped as one. */
export interface LoadedModule {
  kind: 'plugin' | 'executable';
  /** The type it serves. */
  type: string;
  /** Who it is in messages: the package name, or the module's path. */
  name: string;
  version?: string;
  /** The file or folder it was loaded from. */
  location: string;
  /** Which resolution step found it (shown by `dysnomia plugins`). */
  foundBy: string;
  plugin: DysnomiaPlugin;
}
