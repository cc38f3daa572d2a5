import { mkdir, readdir, readlink, rm, stat, symlink, rename, lstat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

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
    return path.join(this.root, 'activated', container, componentName);
  }
  garbageMarker(container: string, componentName: string): string {
    return path.join(this.root, 'garbage', container, componentName);
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

  /** The profiles of this machine, as folders (a profile is a link to its current generation). */
  async profiles(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.profilesDir);
    } catch {
      return [];
    }
    const folders: string[] = [];
    for (const name of names.sort()) {
      if (GENERATION_LINK.test(name) || name.startsWith('.')) continue;
      const profile = path.join(this.profilesDir, name);
      if (await isDirectory(profile)) folders.push(profile);
    }
    return folders;
  }

  /** `{ container: [component, …] }` for the markers under `kind`. */
  async listMarkers(kind: 'activated' | 'garbage', onlyContainer?: string): Promise<Array<{ container: string; component: string; marker: string }>> {
    const base = path.join(this.root, kind);
    const result: Array<{ container: string; component: string; marker: string }> = [];
    for (const container of await readdirOrEmpty(base)) {
      if (onlyContainer !== undefined && container !== onlyContainer) continue;
      for (const component of await readdirOrEmpty(path.join(base, container))) {
        result.push({ container, component, marker: path.join(base, container, component) });
      }
    }
    return result;
  }

  async isActivated(container: string, componentName: string): Promise<string | undefined> {
    return readlink(this.activatedMarker(container, componentName)).catch(() => undefined);
  }
  async isGarbage(container: string, componentName: string): Promise<boolean> {
    return lstat(this.garbageMarker(container, componentName)).then(() => true, () => false);
  }

  /** Activated: the marker links to the component, so `dysnomia-containers -o OP` can pass it back as the component. */
  async markActivated(container: string, componentName: string, component: string): Promise<void> {
    await replaceLink(this.activatedMarker(container, componentName), component);
    await rm(this.garbageMarker(container, componentName), { force: true });
  }
  async clearActivated(container: string, componentName: string): Promise<void> {
    await rm(this.activatedMarker(container, componentName), { force: true });
  }
  async markGarbage(container: string, componentName: string, component: string): Promise<void> {
    await replaceLink(this.garbageMarker(container, componentName), component);
    await rm(this.activatedMarker(container, componentName), { force: true });
  }
  async clearGarbage(container: string, componentName: string): Promise<void> {
    await rm(this.garbageMarker(container, componentName), { force: true });
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return [];
  }
}

export async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

/** Points `link` at `target`, atomically: a reader sees the old link or the new one. */
async function replaceLink(link: string, target: string): Promise<void> {
  await mkdir(path.dirname(link), { recursive: true });
  const temporary = path.join(path.dirname(link), `.${path.basename(link)}.tmp-${process.pid}-${Date.now()}`);
  await symlink(target, temporary);
  await rename(temporary, link);
}
