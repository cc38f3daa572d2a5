import path from 'node:path';
import { DysnomiaError } from './errors.js';
import { isPathLike } from './modules/module-resolver.js';
import { realpathOrUndefined } from './probe.js';

/** A store entry is `<32 hash characters>-<name>` in a folder called store (ours, or /nix/store). */
const STORE_ENTRY = /^[0-9a-z]{32}-(.+)$/;

/**
 * The name markers and snapshots use: the base name, without the hash prefix
 * of a store entry (as Dysnomia's determineComponentName), for entries of
 * NIX_STORE_DIR (default /nix/store) and of any folder named store (ours).
 */
export function componentNameOf(component: string, nixStoreDir = process.env.NIX_STORE_DIR || '/nix/store'): string {
  const base = path.basename(component);
  const match = STORE_ENTRY.exec(base);
  const parent = path.dirname(component);
  const inStore = path.basename(parent) === 'store' || parent === nixStoreDir.replace(/\/+$/, '');
  return match?.[1] && inStore ? match[1] : base;
}

/**
 * A component given as a path is that path (links resolved, as `readlink -f`);
 * a name is looked up as `<dir>/<container>/<name>` in the components path.
 */
export async function resolveComponent(
  component: string,
  containerName: string,
  options: { cwd: string; componentsDirs: string[]; mustExist: boolean },
): Promise<string> {
  if (component === '') throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'no component given: pass --component PATH');
  if (isPathLike(component)) {
    const absolute = path.resolve(options.cwd, component);
    const real = realpathOrUndefined(absolute);
    if (real === undefined && options.mustExist) {
      throw new DysnomiaError('ERR_DYSNOMIA_COMPONENT_NOT_FOUND', `--component ${component}: no such file or folder (${absolute})`);
    }
    return real ?? absolute;
  }
  if (component.includes('/') || component === '.' || component === '..') {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `--component ${component}: a name has no "/"; write a path as ./${component} or /…`);
  }
  const searched: string[] = [];
  for (const dir of options.componentsDirs) {
    const candidate = path.join(dir, containerName, component);
    const real = realpathOrUndefined(candidate);
    if (real !== undefined) return real;
    searched.push(candidate);
  }
  throw new DysnomiaError(
    'ERR_DYSNOMIA_COMPONENT_NOT_FOUND',
    `--component ${component}: no component of that name; searched ${searched.join(', ')} (set DYSNOMIA_COMPONENTS_PATH, or give a path such as ./${component})`,
  );
}
