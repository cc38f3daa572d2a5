import { lstat, mkdir, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { Store } from '../store/store.js';
import { writeGenerationTree } from './merge-tree.js';
import { assertProfileName, generationLinkName, parseGenerationLink } from './names.js';

export interface Generation {
  number: number;
  /** The store entry the generation links to (`<hash>-profile`). */
  entry: string;
  current: boolean;
  created: Date;
}

export type GenerationSelector = number[] | 'old' | `${number}d`;

/** `--delete-generations` arguments (`old`, `Nd`, or generation numbers) as a selector; bad ones are a usage error. */
export function parseGenerationSelector(args: string[]): GenerationSelector {
  if (args.length === 0) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', '--delete-generations needs old, generation numbers or Nd');
  if (args.length === 1 && (args[0] === 'old' || /^\d+d$/.test(args[0]!))) return args[0] as GenerationSelector;
  return args.map((arg) => {
    if (!/^\d+$/.test(arg)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `--delete-generations: '${arg}' is not old, a generation number or Nd (days)`);
    return Number(arg);
  });
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Profiles in Nix's layout: `<stateDir>/profiles/<name>` links to
 * `<name>-<N>-link`, which links to a generation, a store entry holding the
 * merged symlink tree of the profile's packages (referencing them, so the
 * garbage collector keeps them). Switching replaces the profile link
 * atomically (a new link under a temporary name renamed over it).
 */
export class Profiles {
  readonly dir: string;
  readonly store: Store;

  private constructor(stateDir: string) {
    this.dir = path.join(path.resolve(stateDir), 'profiles');
    this.store = Store.at(stateDir);
  }

  static at(stateDir: string): Profiles {
    return new Profiles(stateDir);
  }

  /** The profile's link: what users put on their PATH as `<path>/bin`. */
  path(profile: string): string {
    return path.join(this.dir, assertProfileName(profile));
  }

  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const profiles: string[] = [];
    for (const name of names.sort()) {
      if (name.startsWith('.') || /-\d+-link$/.test(name)) continue;
      if ((await lstat(path.join(this.dir, name))).isSymbolicLink()) profiles.push(name);
    }
    return profiles;
  }

  async generations(profile: string): Promise<Generation[]> {
    assertProfileName(profile);
    const current = await this.currentNumber(profile);
    const generations: Generation[] = [];
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const number = parseGenerationLink(profile, name);
      if (number === undefined) continue;
      const link = path.join(this.dir, name);
      const target = await readlink(link).catch(() => undefined);
      if (target === undefined) continue;
      const entry = this.store.entryOf(path.resolve(this.dir, target)) ?? path.basename(target);
      generations.push({ number, entry, current: number === current, created: (await lstat(link)).mtime });
    }
    return generations.sort((a, b) => a.number - b.number);
  }

  /**
   * Makes `entries` (store entry names or paths) exactly the profile's
   * packages. The same set as the current generation changes nothing.
   */
  async install(profile: string, entries: string[], etcOnlyEntries: string[] = []): Promise<{ generation: number; changed: boolean }> {
    assertProfileName(profile);
    const etcOnly = new Set(etcOnlyEntries.map((entry) => this.toEntry(entry)));
    const packages = [...new Set([...entries.map((entry) => this.toEntry(entry)), ...etcOnly])].sort();
    for (const entry of packages) {
      if (!(await this.store.has(entry))) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `not in the store: ${entry}`);
    }
    const generationEntry = await this.store.addTree('profile', packages, (out) => writeGenerationTree(out, this.store.dir, packages, etcOnly));
    const current = (await this.generations(profile)).find((g) => g.current);
    if (current?.entry === generationEntry) return { generation: current.number, changed: false };

    await mkdir(this.dir, { recursive: true });
    const number = await this.createGenerationLink(profile, generationEntry);
    await this.pointProfileAt(profile, number);
    return { generation: number, changed: true };
  }

  async rollback(profile: string): Promise<number> {
    const generations = await this.existingGenerations(profile);
    const current = generations.find((g) => g.current);
    const previous = generations.filter((g) => current === undefined || g.number < current.number).at(-1);
    if (previous === undefined) {
      throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `profile ${profile}: no generation before ${current?.number ?? 'the current one'} to roll back to`, {
        exitCode: EXIT_OPERATION_FAILED,
      });
    }
    await this.pointProfileAt(profile, previous.number);
    return previous.number;
  }

  async switchTo(profile: string, generation: number): Promise<void> {
    const generations = await this.existingGenerations(profile);
    if (!generations.some((g) => g.number === generation)) {
      throw new DysnomiaError(
        'ERR_DYSNOMIA_INPUT',
        `profile ${profile} has no generation ${generation} (it has ${generations.map((g) => g.number).join(', ')})`,
      );
    }
    await this.pointProfileAt(profile, generation);
  }

  /** Removes generation links (never the current one); the store entries go at the next garbage collection. */
  async deleteGenerations(profile: string, which: GenerationSelector): Promise<number[]> {
    const generations = await this.existingGenerations(profile);
    let doomed: Generation[];
    if (which === 'old') {
      doomed = generations.filter((g) => !g.current);
    } else if (typeof which === 'string') {
      const days = /^(\d+)d$/.exec(which)?.[1];
      if (days === undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `--delete-generations: '${which}' is not old, generation numbers or Nd (days)`);
      const before = Date.now() - Number(days) * DAY_MS;
      doomed = generations.filter((g) => !g.current && g.created.getTime() < before);
    } else {
      const current = generations.find((g) => g.current);
      if (current !== undefined && which.includes(current.number)) {
        throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `profile ${profile}: generation ${current.number} is the current one and cannot be deleted`);
      }
      doomed = generations.filter((g) => which.includes(g.number));
    }
    for (const generation of doomed) await rm(path.join(this.dir, generationLinkName(profile, generation.number)), { force: true });
    return doomed.map((g) => g.number);
  }

  /**
   * Removes a generation made by an install that is being undone, where it
   * was the profile's first: the profile's link, only while it still points
   * at that generation, and the generation's link.
   */
  async removeGeneration(profile: string, generation: number): Promise<void> {
    const link = generationLinkName(profile, generation);
    const current = await readlink(path.join(this.dir, profile)).catch(() => undefined);
    if (current !== undefined && path.basename(current) === link) await rm(path.join(this.dir, profile), { force: true });
    await rm(path.join(this.dir, link), { force: true });
  }

  /** The store entries in the current generation ([] for a profile not installed). */
  async packages(profile: string): Promise<string[]> {
    const current = (await this.generations(profile)).find((g) => g.current);
    return current === undefined ? [] : this.store.references(current.entry);
  }

  private toEntry(entryOrPath: string): string {
    const entry = this.store.entryOf(path.isAbsolute(entryOrPath) ? entryOrPath : entryOrPath.replace(/\/+$/, ''));
    if (entry === undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a store entry: '${entryOrPath}' (add it to the store first)`);
    return entry;
  }

  private async existingGenerations(profile: string): Promise<Generation[]> {
    const generations = await this.generations(profile);
    if (generations.length === 0) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `no profile named ${profile} in ${this.dir}`);
    return generations;
  }

  private async currentNumber(profile: string): Promise<number | undefined> {
    const target = await readlink(path.join(this.dir, profile)).catch(() => undefined);
    return target === undefined ? undefined : parseGenerationLink(profile, path.basename(target));
  }

  /** The next free number: symlink() fails on an existing name, so two installs at once never share one. */
  private async createGenerationLink(profile: string, entry: string): Promise<number> {
    const numbers = (await this.generations(profile)).map((g) => g.number);
    for (let number = Math.max(0, ...numbers) + 1; ; number++) {
      try {
        await symlink(path.relative(this.dir, this.store.path(entry)), path.join(this.dir, generationLinkName(profile, number)));
        return number;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }

  private async pointProfileAt(profile: string, generation: number): Promise<void> {
    const temporary = path.join(this.dir, `.${profile}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    await symlink(generationLinkName(profile, generation), temporary);
    await rename(temporary, path.join(this.dir, profile));
  }
}
