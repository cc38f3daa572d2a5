import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** What a tomcat-webapplication component ships, as base names. */
export interface ComponentFiles {
  /** `webapps/*.war` */
  webapps: string[];
  /** `conf/Catalina/*`: context descriptors, installed into the base's conf/Catalina/localhost. */
  contexts: string[];
}

export const WEBAPPS_DIR = 'webapps';
export const CONTEXTS_DIR = join('conf', 'Catalina');

/**
 * A name that stays inside the folder it is put in. readdir never returns
 * "." or ".." or a slash; dot-files are refused too, because the plugin's own
 * temporaries start with a dot and Tomcat ignores hidden files.
 */
export function isDeployableName(name: string): boolean {
  return name !== '' && !name.startsWith('.') && !name.includes('/') && !name.includes('\0');
}

/** Regular files (or links to them) in `dir` whose names pass `accept`, sorted; [] when `dir` is missing. */
export async function listFiles(dir: string, accept: (name: string) => boolean): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: string[] = [];
  for (const name of names.sort()) {
    if (!isDeployableName(name) || !accept(name)) continue;
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) files.push(name);
  }
  return files;
}

export async function readComponentFiles(component: string): Promise<ComponentFiles> {
  return {
    webapps: await listFiles(join(component, WEBAPPS_DIR), (name) => name.endsWith('.war')),
    contexts: await listFiles(join(component, CONTEXTS_DIR), () => true),
  };
}

/** The folder Tomcat expands `name.war` into. */
export function expandedDirName(war: string): string {
  return war.slice(0, -'.war'.length);
}
