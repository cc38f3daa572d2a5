import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';
import type { GenerationSelector } from '@dysnomia/engine/internal/profiles/profiles.js';
import { writeFileAtomic } from '@dysnomia/engine/internal/write-file-atomic.js';
import { deploymentEntries } from './deployment.js';
import type { Deployment } from './deployment.js';
import type { DeploymentRecords } from './state/state-backend.js';

/** A deployment as recorded on the coordinator, one file per generation. */
export interface Manifest extends Deployment {
  version: 1;
  generation: number;
  created: string;
  /** The store entries it needs: `dysnomia store --gc` keeps them (GC roots are STATEDIR/deployments/**\/*.json). */
  storePaths: string[];
}

const MANIFEST = /^(\d+)\.json$/;

/** A deployment as generation `generation` records it. */
export function manifestOf(deployment: Deployment, generation: number, created = new Date().toISOString()): Manifest {
  return { version: 1, generation, created, ...deployment, storePaths: deploymentEntries(deployment) };
}

/**
 * The coordinator's deployment manifests of one profile:
 * `STATEDIR/deployments/<profile>/<N>.json` and `current` holding the number
 * of the deployment the targets are in. Files are 0600: container properties
 * from the models can hold passwords.
 */
export class Manifests implements DeploymentRecords {
  readonly dir: string;
  constructor(stateDir: string, readonly profile: string) {
    this.dir = path.join(stateDir, 'deployments', profile);
  }

  private file(generation: number): string {
    return path.join(this.dir, `${generation}.json`);
  }

  where(generation: number): string {
    return this.file(generation);
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
      throw noSuchGeneration(this.profile, generation, await this.generations());
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
    const manifest = manifestOf(deployment, generation);
    await this.writeAtomic(this.file(generation), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }

  /** Two atomic writes: a kill between them leaves a generation that is not current, which a re-run records again. */
  async recordCurrent(deployment: Deployment): Promise<Manifest> {
    const manifest = await this.add(deployment);
    await this.setCurrent(manifest.generation);
    return manifest;
  }

  async setCurrent(generation: number): Promise<void> {
    await this.writeAtomic(path.join(this.dir, 'current'), `${generation}\n`);
  }

  /** Deletes generations (never the current one); returns those deleted. */
  async delete(which: GenerationSelector): Promise<number[]> {
    const chosen = await generationsToDelete(this.profile, which, await this.generations(), await this.currentGeneration(), async (g) => (await stat(this.file(g))).mtimeMs);
    for (const g of chosen) await rm(this.file(g), { force: true });
    return chosen;
  }
}

/** The one rule for which generations a selector deletes, whatever keeps them: never the current one; `Nd`: older than N days. */
export async function generationsToDelete(
  profile: string,
  which: GenerationSelector,
  all: number[],
  current: number | undefined,
  createdMs: (generation: number) => Promise<number>,
): Promise<number[]> {
  if (which === 'old') return all.filter((g) => g !== current);
  if (Array.isArray(which)) {
    const missing = which.filter((g) => !all.includes(g));
    if (missing.length > 0) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `profile "${profile}" has no deployment generation ${missing.join(', ')}`);
    if (current !== undefined && which.includes(current)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `generation ${current} is the current deployment of profile "${profile}"; switch to another one first`);
    return which;
  }
  const cutoff = Date.now() - Number(which.slice(0, -1)) * 86_400_000;
  const chosen: number[] = [];
  for (const g of all) if (g !== current && (await createdMs(g)) < cutoff) chosen.push(g);
  return chosen;
}

/** The error for a generation that is not recorded. */
export function noSuchGeneration(profile: string, generation: number, all: number[]): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_USAGE', `profile "${profile}" has no deployment generation ${generation} (generations: ${all.join(', ') || 'none'})`);
}
