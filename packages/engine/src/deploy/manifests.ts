import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError } from '../errors.js';
import type { GenerationSelector } from '../profiles/profiles.js';
import { writeFileAtomic } from '../write-file-atomic.js';
import { deploymentEntries } from './deployment.js';
import type { Deployment } from './deployment.js';

/** A deployment as recorded on the coordinator, one file per generation. */
export interface Manifest extends Deployment {
  version: 1;
  generation: number;
  created: string;
  /** The store entries it needs: `dysnomia store --gc` keeps them (GC roots are STATEDIR/deployments/**\/*.json). */
  storePaths: string[];
}

const MANIFEST = /^(\d+)\.json$/;

/**
 * The coordinator's deployment manifests of one profile:
 * `STATEDIR/deployments/<profile>/<N>.json` and `current` holding the number
 * of the deployment the targets are in. Files are 0600: container properties
 * from the models can hold passwords.
 */
export class Manifests {
  readonly dir: string;
  constructor(stateDir: string, readonly profile: string) {
    this.dir = path.join(stateDir, 'deployments', profile);
  }

  private file(generation: number): string {
    return path.join(this.dir, `${generation}.json`);
  }

  async generations(): Promise<number[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.map((n) => MANIFEST.exec(n)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b);
  }

  async currentGeneration(): Promise<number | undefined> {
    const text = await readFile(path.join(this.dir, 'current'), 'utf8').catch(() => undefined);
    return text !== undefined && /^\d+\s*$/.test(text) ? Number(text) : undefined;
  }

  async read(generation: number): Promise<Manifest> {
    let text: string;
    try {
      text = await readFile(this.file(generation), 'utf8');
    } catch {
      throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `profile "${this.profile}" has no deployment generation ${generation} (generations: ${(await this.generations()).join(', ') || 'none'})`);
    }
    return JSON.parse(text) as Manifest;
  }

  async current(): Promise<Manifest | undefined> {
    const generation = await this.currentGeneration();
    return generation === undefined ? undefined : this.read(generation);
  }

  private async writeAtomic(file: string, text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, text, 0o600);
  }

  /** Records a deployment as a new generation (not yet current). */
  async add(deployment: Deployment): Promise<Manifest> {
    const generation = ((await this.generations()).at(-1) ?? 0) + 1;
    const manifest: Manifest = { version: 1, generation, created: new Date().toISOString(), ...deployment, storePaths: deploymentEntries(deployment) };
    await this.writeAtomic(this.file(generation), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }

  async setCurrent(generation: number): Promise<void> {
    await this.writeAtomic(path.join(this.dir, 'current'), `${generation}\n`);
  }

  /** Deletes generations (never the current one); returns those deleted. */
  async delete(which: GenerationSelector): Promise<number[]> {
    const current = await this.currentGeneration();
    const all = await this.generations();
    let chosen: number[];
    if (which === 'old') chosen = all.filter((g) => g !== current);
    else if (Array.isArray(which)) {
      const missing = which.filter((g) => !all.includes(g));
      if (missing.length > 0) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `profile "${this.profile}" has no deployment generation ${missing.join(', ')}`);
      if (current !== undefined && which.includes(current)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `generation ${current} is the current deployment of profile "${this.profile}"; switch to another one first`);
      chosen = which;
    } else {
      const cutoff = Date.now() - Number(which.slice(0, -1)) * 86_400_000;
      chosen = [];
      for (const g of all) if (g !== current && (await stat(this.file(g))).mtimeMs < cutoff) chosen.push(g);
    }
    for (const g of chosen) await rm(this.file(g), { force: true });
    return chosen;
  }
}
