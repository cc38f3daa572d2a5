import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError } from '../errors.js';
import { nameProblem } from '../names.js';
import { isFile } from '../probe.js';
import type { Container, ContainerProperties } from '../plugin.js';
import { parseContainerFile, parseJsonContainer } from './parse-container-file.js';

const JSON_SUFFIX = '.json';

/** A container file larger than this is not a container configuration. */
const MAX_CONTAINER_BYTES = 1024 * 1024;

export async function readProperties(file: string): Promise<ContainerProperties> {
  // Checked before reading: a FIFO or a device given as a container would block the read forever.
  const info = await stat(file).catch(() => undefined);
  if (info !== undefined && !info.isFile() && !info.isDirectory()) {
    throw new DysnomiaError('ERR_DYSNOMIA_CONTAINER_NOT_FOUND', `${file}: cannot read container configuration: not a regular file`);
  }
  if (info !== undefined && info.size > MAX_CONTAINER_BYTES) {
    throw new DysnomiaError('ERR_DYSNOMIA_CONTAINER_NOT_FOUND', `${file}: cannot read container configuration: ${info.size} bytes is more than a container file may have (${MAX_CONTAINER_BYTES})`);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'EISDIR' ? 'a folder, not a container configuration file' : (error as Error).message;
    throw new DysnomiaError('ERR_DYSNOMIA_CONTAINER_NOT_FOUND', `${file}: cannot read container configuration: ${why}`);
  }
  return file.endsWith(JSON_SUFFIX) ? parseJsonContainer(text, file) : parseContainerFile(text, file);
}

export function containerNameOf(file: string): string {
  const base = path.basename(file);
  return base.endsWith(JSON_SUFFIX) ? base.slice(0, -JSON_SUFFIX.length) : base;
}

export async function readContainer(file: string, argument: string): Promise<Container> {
  return { name: containerNameOf(file), properties: await readProperties(file), file, argument };
}

/** `<dir>/<name>`, then `<dir>/<name>.json`, in each folder in turn; a name that could leave its folder finds nothing. */
export async function findContainerFile(dirs: readonly string[], name: string, searched: string[]): Promise<string | undefined> {
  if (nameProblem(name, 'container') !== undefined) return undefined;
  for (const dir of dirs) {
    for (const candidate of [path.join(dir, name), path.join(dir, name + JSON_SUFFIX)]) {
      if (isFile(candidate)) return candidate;
    }
    searched.push(`${path.join(dir, name)}[.json]`);
  }
  return undefined;
}

/** Every container in the folders, by name; a name found twice keeps the first. */
export async function listContainerFiles(dirs: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      continue;
    }
    for (const entry of names) {
      if (entry.startsWith('.')) continue;
      const file = path.join(dir, entry);
      const name = containerNameOf(entry);
      if (!found.has(name) && (await isFile(file))) found.set(name, file);
    }
  }
  return found;
}
