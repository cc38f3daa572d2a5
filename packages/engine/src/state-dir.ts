import { mkdirSync, readFileSync, readlinkSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DysnomiaError } from './errors.js';
import { isDirectory, lstatOrUndefined, namesIn } from './probe.js';

/** Where state lives when nothing else says: Dysnomia's default for root, a dot folder for others. */
export function defaultStateDir(): string {
  return process.getuid?.() === 0 ? '/var/state/dysnomia' : path.join(os.homedir(), '.dysnomia');
}

/** The state folder a command uses: DYSNOMIA_STATEDIR, else the config's stateDir, else the default. */
export function chooseStateDir(configured: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.DYSNOMIA_STATEDIR || configured || defaultStateDir();
}

/** Nix-style generation links (`default-3-link`) live beside the profile they belong to. */
const GENERATION_LINK = /-\d+-link$/;

/**
 * The state directory, laid out as Dysnomia lays it out so snapshots and
 * markers interoperate: activated/, garbage/, snapshots/, generations/,
 * checksums/ per container and component; store/ and profiles/ beside them.
 */
export class StateDir {
  constructor(readonly root: string) {}

  activatedMarker(container: string, componentName: string): string {
    return path.join(this.root, 'activated', segment(container), segment(componentName));
  }
  garbageMarker(container: string, componentName: string): string {
    return path.join(this.root, 'garbage', segment(container), segment(componentName));
  }
  snapshots(container: string, componentName: string): string {
    return path.join(this.root, 'snapshots', container, componentName);
  }
  generations(container: string, componentName: string): string {
    return path.join(this.root, 'generations', container, componentName);
  }
  get profilesDir(): string {
    return path.join(this.root, 'profiles');
  }

  /** Where plugin packages found by npm resolution are remembered (modules/npm-resolution-cache.ts). */
  get npmResolutionCache(): string {
    return path.join(this.root, 'cache', 'npm-resolution.json');
  }

  /** The profiles of this machine, as folders (a profile is a link to its current generation). */
  async profiles(): Promise<string[]> {
    // Every operation looks (profiles provide modules and containers): synchronous looks, see probe.ts.
    const folders: string[] = [];
    for (const name of visibleNamesIn(this.profilesDir)) {
      if (GENERATION_LINK.test(name)) continue;
      const profile = path.join(this.profilesDir, name);
      if (isDirectory(profile)) folders.push(profile);
    }
    return folders;
  }

  /** `{ container: [component, …] }` for the markers under `kind`. */
  async listMarkers(kind: 'activated' | 'garbage', onlyContainer?: string): Promise<Array<{ container: string; component: string; marker: string }>> {
    const base = path.join(this.root, kind);
    const result: Array<{ container: string; component: string; marker: string }> = [];
    for (const container of visibleNamesIn(base)) {
      if (onlyContainer !== undefined && container !== onlyContainer) continue;
      for (const component of visibleNamesIn(path.join(base, container))) {
        result.push({ container, component, marker: path.join(base, container, component) });
      }
    }
    return result;
  }

  /**
   * What an activated marker says: the component's path (the engine writes
   * it into the marker), '' for a marker a module keeps itself (Dysnomia's
   * shell util touches an empty file), undefined when there is none.
   */
  async isActivated(container: string, componentName: string): Promise<string | undefined> {
    return readMarker(this.activatedMarker(container, componentName));
  }
  async isGarbage(container: string, componentName: string): Promise<boolean> {
    return lstatOrUndefined(this.garbageMarker(container, componentName)) !== undefined;
  }

  /*
   * Markers are read and written with synchronous calls: they are tiny local
   * files that every activation and deactivation reads and writes, and a
   * promise per call (open, write, close, rename, each through the thread
   * pool) cost about 1 ms of CPU per operation against 0.2 ms this way; the
   * steps and their order (a temporary file, then a rename) are the same.
   */

  /**
   * Activated: a regular file, as Dysnomia's util keeps it (modules test it
   * with `[ -f ]`), holding the component's path so `dysnomia-containers -o
   * OP` can pass it back.
   */
  async markActivated(container: string, componentName: string, component: string): Promise<void> {
    writeMarker(this.activatedMarker(container, componentName), component);
    removeMarker(this.garbageMarker(container, componentName));
  }
  async clearActivated(container: string, componentName: string): Promise<void> {
    removeMarker(this.activatedMarker(container, componentName));
  }
  async markGarbage(container: string, componentName: string, component: string): Promise<void> {
    writeMarker(this.garbageMarker(container, componentName), component);
    removeMarker(this.activatedMarker(container, componentName));
  }
  async clearGarbage(container: string, componentName: string): Promise<void> {
    removeMarker(this.garbageMarker(container, componentName));
  }
}

/**
 * A marker's component path: a regular file's text (markers this engine
 * writes), '' for an empty one (a module's own) or anything else that is not
 * a link, or a symbolic link's target (markers of earlier versions);
 * undefined when it is not there.
 */
export async function readMarker(marker: string): Promise<string | undefined> {
  const info = lstatOrUndefined(marker);
  if (info === undefined) return undefined;
  if (info.isSymbolicLink()) return path.resolve(path.dirname(marker), readlinkSync(marker));
  // Only a regular file is read: a FIFO would never answer.
  if (!info.isFile()) return '';
  try {
    return readFileSync(marker, 'utf8').trim();
  } catch {
    return '';
  }
}

/** A name that becomes one folder or file name of the state folder: never "", ".", ".." or anything with a "/" (it would leave its folder). */
function segment(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `${JSON.stringify(name)} cannot name a marker in the state folder: it would leave its folder`);
  }
  return name;
}

/** A folder's names but the hidden ones (a marker's temporary file), sorted; none when it cannot be read. */
function visibleNamesIn(dir: string): string[] {
  return namesIn(dir).filter((n) => !n.startsWith('.')).sort();
}

/** Writes a marker file holding `component`, atomically: a reader sees the old marker or the new one. */
function writeMarker(marker: string, component: string): void {
  mkdirSync(path.dirname(marker), { recursive: true });
  const temporary = path.join(path.dirname(marker), `.${path.basename(marker)}.tmp-${process.pid}-${Date.now()}`);
  writeFileSync(temporary, `${component}\n`);
  renameSync(temporary, marker);
}

/** Removes a marker; one that is not there is fine (as rm's force). */
function removeMarker(marker: string): void {
  try {
    unlinkSync(marker);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
