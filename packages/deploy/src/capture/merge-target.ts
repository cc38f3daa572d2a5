import type { DescribeResult } from '@dysnomia/engine/internal/agent/protocol.js';
import { defaultClientInterface } from '../models/infrastructure.js';
import type { InfrastructureTarget } from '../models/infrastructure.js';
import type { CapturedTarget } from './captured-model.js';

/** The containers Disnix always lists: they use the host's own service manager and need no container file. */
export const BUILT_IN_CONTAINERS = ['process', 'wrapper'] as const;

/** Properties that say how the target is reached: the model's values are kept whatever the target reports. */
const CONNECTION_PROPERTIES = ['sshPort', 'sshUser', 'sshKey', 'sshKnownHosts', 'sshConfig', 'sudo', 'stateDir', 'nodePath'];

/**
 * The target as the next deployment should see it: the model's properties
 * (connection settings always the model's) with what the target reports
 * over them; the target's containers over the model's, plus process and
 * wrapper; the target's system, else the model's, else its properties'.
 */
export function mergeTarget(target: InfrastructureTarget, reported: DescribeResult): CapturedTarget {
  const properties: Record<string, unknown> = { ...target.properties, ...(reported.properties ?? {}) };
  for (const key of [target.targetProperty, ...CONNECTION_PROPERTIES]) {
    if (target.properties[key] !== undefined) properties[key] = target.properties[key];
  }
  const system = [reported.system, target.system, properties.system].find((value): value is string => typeof value === 'string' && value !== '');
  const captured: CapturedTarget = { properties, containers: mergeContainers(target.containers, reported.containers) };
  if (system !== undefined) captured.system = system;
  if (target.numOfCores !== undefined) captured.numOfCores = target.numOfCores;
  if (target.targetProperty !== 'hostname') captured.targetProperty = target.targetProperty;
  // Written only when reading the captured model would not arrive at the same interface by itself.
  if (target.clientInterface !== defaultClientInterface(target.hostname, properties)) captured.clientInterface = target.clientInterface;
  return captured;
}

/**
 * Reported containers lose `type` (as Dysnomia's --generate-expr prints
 * them: the service names the type); names in a stable order, process and
 * wrapper last as Disnix prints them.
 */
function mergeContainers(model: InfrastructureTarget['containers'], reported: DescribeResult['containers']): CapturedTarget['containers'] {
  const builtIn = new Set<string>(BUILT_IN_CONTAINERS);
  const names = [...new Set([...Object.keys(model), ...Object.keys(reported)])].filter((name) => !builtIn.has(name)).sort();
  const containers: CapturedTarget['containers'] = {};
  for (const name of [...names, ...BUILT_IN_CONTAINERS]) {
    const own = Object.fromEntries(Object.entries(reported[name] ?? {}).filter(([key]) => key !== 'type'));
    containers[name] = { ...(model[name] ?? {}), ...own };
  }
  return containers;
}
