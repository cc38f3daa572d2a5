import type { QueryAnswer } from '@dysnomia/engine/internal/agent/protocol.js';
import { currentHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import type { Infrastructure } from '../models/infrastructure.js';
import { askEveryTarget } from './ask-every-target.js';
import type { SessionsOptions } from './deploy-packages.js';
import type { Deployment } from './deployment.js';
import { sameDeployment } from './deployment.js';
import type { StateBackend } from './state/state-backend.js';

/**
 * The deployment of `profile` as the targets hold it: each target's record
 * (its activated services and its services of type package, both kept by
 * its agent) and its profile's current generation. A target with neither is
 * not part of it.
 */
export function deploymentFromTargets(profile: string, infrastructure: Infrastructure, answers: Map<string, QueryAnswer>): Deployment {
  const deployment: Deployment = { profile, targets: {}, mappings: [], profiles: {} };
  for (const name of Object.keys(infrastructure)) {
    const held = answers.get(name)?.profiles.find((p) => p.profile === profile);
    if (held === undefined) continue;
    // A record holds only the target's own mappings; anything else would be a copy from elsewhere.
    const mappings = [...held.services, ...held.profileOnly].filter((m) => m.target === name);
    if (mappings.length === 0 && held.packages.length === 0) continue;
    deployment.targets[name] = infrastructure[name]!;
    deployment.mappings.push(...mappings);
    if (held.packages.length > 0) deployment.profiles[name] = [...held.packages];
  }
  return deployment;
}

export type ReconstructOutcome =
  | { kind: 'unreachable'; failed: Map<string, string> }
  | { kind: 'nothing' }
  | { kind: 'unchanged'; generation: number; deployment: Deployment }
  | { kind: 'recorded'; generation: number; previous: number | undefined; deployment: Deployment; where: string };

export interface ReconstructOptions extends Omit<SessionsOptions, 'targets'> {
  profile: string;
  state: StateBackend;
  dryRun: boolean;
}

/**
 * Rebuilds the coordinator's record of a profile from what the targets hold
 * (disnix-reconstruct), under the coordinator's lock of the profile: every
 * target must answer; the deployment they describe becomes the current
 * generation unless the current one already is it.
 */
export async function reconstruct(options: ReconstructOptions): Promise<ReconstructOutcome> {
  const { profile, state } = options;
  const release = options.dryRun ? async () => {} : await state.lockProfile(profile, { reporter: options.reporter, breakStaleLock: false }, currentHolder());
  try {
    const { answers, failed } = await askEveryTarget(options, { kind: 'query', profile }, (value) => value as QueryAnswer, { readOnly: true, doing: 'asking what it holds of the profile' });
    if (failed.size > 0) return { kind: 'unreachable', failed };
    const deployment = deploymentFromTargets(profile, options.infrastructure, answers);
    if (deployment.mappings.length === 0 && Object.keys(deployment.profiles).length === 0) return { kind: 'nothing' };
    const records = state.records(profile);
    const current = await records.current();
    if (current !== undefined && sameDeployment(current, deployment)) return { kind: 'unchanged', generation: current.generation, deployment };
    if (options.dryRun) return { kind: 'recorded', generation: ((await records.generations()).at(-1) ?? 0) + 1, previous: current?.generation, deployment, where: '' };
    const manifest = await records.recordCurrent(deployment);
    return { kind: 'recorded', generation: manifest.generation, previous: current?.generation, deployment, where: records.where(manifest.generation) };
  } finally {
    await release();
  }
}
