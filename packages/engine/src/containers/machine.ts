import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../engine.js';
import { listContainerFiles, readProperties } from './container-files.js';
import type { MachineDescription } from './expression.js';

/** This machine's properties file (if any) and every container found, parsed. */
export async function describeMachine(engine: Engine, onlyContainer?: string): Promise<MachineDescription> {
  const propertiesFile = engine.searchPaths.propertiesFile();
  const hasProperties = await stat(propertiesFile).then((s) => s.isFile(), () => false);
  const properties = hasProperties ? await readProperties(propertiesFile) : undefined;
  const containers: MachineDescription['containers'] = {};
  for (const [name, file] of await listContainerFiles(await engine.searchPaths.containersDirs())) {
    if (onlyContainer === undefined || onlyContainer === name) containers[name] = await readProperties(file);
  }
  return {
    ...(properties ? { properties } : {}),
    containers,
    ...(properties?.system === undefined ? {} : { system: properties.system }),
  };
}

export interface AvailableComponent {
  container: string;
  component: string;
  path: string;
}

/** Components laid out as DIR/CONTAINER/COMPONENT in the components path; a pair found twice keeps the first. */
export async function availableComponents(engine: Engine, onlyContainer?: string): Promise<AvailableComponent[]> {
  const seen = new Set<string>();
  const found: AvailableComponent[] = [];
  const list = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
  for (const dir of engine.searchPaths.componentsDirs()) {
    for (const container of await list(dir)) {
      if (onlyContainer !== undefined && container !== onlyContainer) continue;
      for (const component of await list(path.join(dir, container))) {
        const key = `${container}/${component}`;
        if (seen.has(key)) continue;
        seen.add(key);
        found.push({ container, component, path: path.join(dir, container, component) });
      }
    }
  }
  return found;
}
