import { stat } from 'node:fs/promises';
import path from 'node:path';
import { listGenerations, listNames } from './layout.js';
import { checkRelativePath, relativeSnapshotPath } from './names.js';

export interface SnapshotFilter {
  /** Only this container (a name, as in the layout). */
  container?: string | undefined;
  /** Only this component (a name, as in the layout). */
  component?: string | undefined;
}

/** The (container, component) pairs that have a generations folder, in sorted order, restricted by `filter`. */
export async function componentsWithGenerations(root: string, filter: SnapshotFilter = {}): Promise<Array<{ container: string; component: string }>> {
  const base = path.join(root, 'generations');
  const containers = filter.container !== undefined ? [filter.container] : await listNames(base);
  const pairs: Array<{ container: string; component: string }> = [];
  for (const container of containers) {
    const components = filter.component !== undefined ? [filter.component] : await listNames(path.join(base, container));
    for (const component of components) pairs.push({ container, component });
  }
  return pairs;
}

/**
 * `--query-all`: the relative paths (container/component/id) of the snapshots
 * every generation links to, per component in generation order. A snapshot
 * several generations link to is listed once.
 */
export async function queryAll(root: string, filter: SnapshotFilter = {}): Promise<string[]> {
  const result: string[] = [];
  for (const { container, component } of await componentsWithGenerations(root, filter)) {
    const seen = new Set<string>();
    for (const generation of await listGenerations(root, container, component)) {
      if (seen.has(generation.snapshot)) continue;
      seen.add(generation.snapshot);
      result.push(relativeSnapshotPath(container, component, generation.snapshot));
    }
  }
  return result;
}

/** `--query-latest`: per component, the relative path of the snapshot its highest generation links to. */
export async function queryLatest(root: string, filter: SnapshotFilter = {}): Promise<string[]> {
  const result: string[] = [];
  for (const { container, component } of await componentsWithGenerations(root, filter)) {
    const latest = (await listGenerations(root, container, component)).at(-1);
    if (latest !== undefined) result.push(relativeSnapshotPath(container, component, latest.snapshot));
  }
  return result;
}

/** `--resolve`: the absolute paths of relative snapshot paths. */
export function resolveSnapshotPaths(root: string, relativePaths: string[]): string[] {
  return relativePaths.map((relative) => path.resolve(root, 'snapshots', checkRelativePath(relative)));
}

/** `--print-missing`: the relative paths (as given) that do not exist in the snapshots folder. */
export async function missingSnapshots(root: string, relativePaths: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const relative of relativePaths) {
    const absolute = path.resolve(root, 'snapshots', checkRelativePath(relative));
    if (!(await stat(absolute).then(() => true, () => false))) missing.push(relative);
  }
  return missing;
}
