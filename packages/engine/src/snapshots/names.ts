import { componentNameOf } from '../components.js';
import { DysnomiaError } from '../errors.js';

/**
 * Dysnomia's `determineComponentName` / `determineContainerName`: the last
 * path segment of a name or path, with the 32-character hash and its dash
 * stripped when the argument is a Nix store path (`$NIX_STORE_DIR`, default
 * /nix/store).
 */
export function determineName(nameOrPath: string, nixStoreDir?: string): string {
  return componentNameOf(nameOrPath, nixStoreDir);
}

/** A container or component name must be one path segment that is not hidden, `.` or `..`. */
export function assertSegment(kind: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.startsWith('.') || name.includes('/') || name.includes('\0')) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `invalid ${kind} name: ${JSON.stringify(name)}`);
  }
  return name;
}

export interface SnapshotRef {
  container: string;
  component: string;
  id: string;
}

/** `container/component/id`, the relative form Dysnomia prints and Disnix passes around. */
export function relativeSnapshotPath(container: string, component: string, id: string): string {
  return `${container}/${component}/${id}`;
}

/**
 * Checks a path relative to the snapshots folder: relative, no `..` or empty
 * segments. Returns it without a trailing slash.
 */
export function checkRelativePath(relative: string): string {
  const trimmed = relative.replace(/\/+$/, '');
  const segments = trimmed.split('/');
  if (trimmed === '' || relative.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..') || relative.includes('\0')) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `not a snapshot path relative to the snapshots folder: ${JSON.stringify(relative)} (expected CONTAINER/COMPONENT/ID)`);
  }
  return trimmed;
}

/** Splits `container/component/id` (exactly three segments). */
export function parseSnapshotPath(relative: string): SnapshotRef {
  const checked = checkRelativePath(relative);
  const segments = checked.split('/');
  const [container, component, id] = segments;
  if (segments.length !== 3 || container === undefined || component === undefined || id === undefined) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `not a snapshot path: ${JSON.stringify(relative)} (expected CONTAINER/COMPONENT/ID)`);
  }
  assertSegment('snapshot', id);
  return { container, component, id };
}
