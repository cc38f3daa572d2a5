import { createHash } from 'node:crypto';
import type { Infrastructure, InfrastructureTarget } from '../models/infrastructure.js';
import { resolvePkg } from '../models/services.js';
import { sameSet } from './deploy-packages.js';
import type { ServicesModel } from '../models/services.js';
import type { PackageSource } from '../models/packages.js';
import type { ContainerProperties, Operation } from '@dysnomia/engine/internal/plugin.js';
import type { AgentRequestBody, ServiceOperation } from '@dysnomia/engine/internal/agent/protocol.js';

/** Services of this type are only installed into the target's profile: nothing is activated for them. */
export const PROFILE_ONLY_TYPE = 'package';

export type { DeployedMapping, Deployment } from '@dysnomia/engine/internal/deployment-types.js';
import type { DeployedMapping, Deployment } from '@dysnomia/engine/internal/deployment-types.js';

function sha(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** Properties as strings, as Dysnomia's container files have them. */
function containerProperties(values: Record<string, unknown>): ContainerProperties {
  const result: ContainerProperties = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || value === null || typeof value === 'function') continue;
    result[key] = Array.isArray(value) ? value.map(String) : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return result;
}

/** The service's properties that JSON can carry (functions and the like dropped); none when empty. */
function jsonProperties(properties: Record<string, unknown>): { serviceProperties?: Record<string, unknown> } {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties)) {
    try {
      const text = JSON.stringify(value);
      if (text !== undefined) kept[key] = JSON.parse(text) as unknown;
    } catch {
      // Not JSON (a cycle, a BigInt): a plugin cannot have meant it for the record.
    }
  }
  return Object.keys(kept).length === 0 ? {} : { serviceProperties: kept };
}

/**
 * Builds every distributed service's component (through `addSource`, once
 * per service) and describes the deployment. A service's identity is its
 * name, type, component and the identities and placements of its
 * dependencies, so a changed or moved dependency gives its dependants new
 * identities and they are redeployed with it.
 */
export async function deploymentOf(
  model: ServicesModel,
  infrastructure: Infrastructure,
  profile: string,
  addSource: (source: PackageSource, service: string) => Promise<string>,
): Promise<Deployment> {
  const identities = new Map<string, string>();
  const entries = new Map<string, string>();
  const distributed = model.activationOrder.filter((key) => model.services[key]!.targets.length > 0);
  const referenced = new Set(distributed.flatMap((k) => Object.values({ ...model.services[k]!.dependsOn, ...model.services[k]!.connectsTo }).map((ref) => ref.service)));
  // Built in activation order: a dependency's identity is known before its dependants'.
  for (const key of model.activationOrder) {
    const service = model.services[key]!;
    if (service.targets.length === 0 && !referenced.has(key)) continue;
    if (service.targets.length > 0) entries.set(key, await addSource(await resolvePkg(model, key, infrastructure), key));
    const dependencies = Object.entries({ ...service.dependsOn, ...service.connectsTo, ...service.activatesAfter })
      .map(([param, ref]) => [param, ref.service, identities.get(ref.service) ?? sha(model.services[ref.service]!.name), ref.targets] as const)
      .sort((a, b) => a[0].localeCompare(b[0]));
    identities.set(key, sha({ name: service.name, type: service.type, entry: entries.get(key) ?? null, dependencies }));
  }

  const mappings: DeployedMapping[] = [];
  const idOf = new Map<string, string>();
  const mappingId = (key: string, target: string, container: string) => `${key}@${target}:${container}#${identities.get(key)!.slice(0, 16)}`;
  for (const key of distributed) {
    const service = model.services[key]!;
    for (const { target, container } of service.targets) idOf.set(`${key}\0${target}\0${container}`, mappingId(key, target, container));
  }
  // Containers provided by a service, where that service is deployed: target\0container → properties.
  const provided = new Map<string, Record<string, unknown>>();
  for (const service of Object.values(model.services)) {
    for (const [container, properties] of Object.entries(service.providesContainers)) {
      for (const { target } of service.targets) if (!provided.has(`${target}\0${container}`)) provided.set(`${target}\0${container}`, properties);
    }
  }
  for (const key of distributed) {
    const service = model.services[key]!;
    const after = Object.values({ ...service.dependsOn, ...service.activatesAfter }).flatMap((ref) =>
      ref.targets.map((t) => idOf.get(`${ref.service}\0${t.target}\0${t.container}`)).filter((id): id is string => id !== undefined),
    );
    for (const { target, container } of service.targets) {
      const declared = infrastructure[target]!.containers[container] ?? provided.get(`${target}\0${container}`);
      mappings.push({
        id: idOf.get(`${key}\0${target}\0${container}`)!,
        service: key,
        name: service.name,
        type: service.type,
        entry: entries.get(key)!,
        target,
        container,
        // Always given, possibly empty: a container the models do not describe (wrapper, process) need not exist on the target.
        properties: containerProperties(declared ?? {}),
        after: [...new Set(after)],
        ...(Object.keys(service.providesContainers).length > 0 ? { providesContainers: Object.keys(service.providesContainers).sort() } : {}),
        ...jsonProperties(service.properties),
        ...(service.deployState !== undefined ? { deployState: service.deployState } : {}),
      });
    }
  }
  const profiles: Record<string, string[]> = {};
  const targets: Record<string, InfrastructureTarget> = {};
  for (const mapping of mappings) {
    targets[mapping.target] = infrastructure[mapping.target]!;
    const list = (profiles[mapping.target] ??= []);
    if (!list.includes(mapping.entry)) list.push(mapping.entry);
  }
  // Targets in the infrastructure's order, as progress and events read best.
  const ordered = Object.fromEntries(Object.keys(infrastructure).filter((name) => name in targets).map((name) => [name, targets[name]!]));
  return { profile, targets: ordered, mappings, profiles };
}

/** Every store entry a deployment needs (its components), for GC roots. */
export function deploymentEntries(deployment: Deployment): string[] {
  return [...new Set(deployment.mappings.map((m) => m.entry))];
}

/** What an agent needs to run a module on a mapping: its type, component, container (with properties) and the module's store entry. */
function moduleTargetOf(m: DeployedMapping, moduleEntry: string | undefined) {
  return {
    type: m.type,
    entry: m.entry,
    container: m.container,
    ...(m.properties ? { properties: m.properties } : {}),
    ...(moduleEntry ? { moduleEntry } : {}),
  };
}

/** A mapping as one service of a `service-locks` request, named by `key` in the answer. */
export function serviceOperationOf(m: DeployedMapping, key: string, moduleEntry: string | undefined): ServiceOperation {
  return { key, ...moduleTargetOf(m, moduleEntry) };
}

/** The agent request that runs `operation` on a mapping; `record`: the target's record of the profile changes with it. */
export function operationRequestOf(
  m: DeployedMapping,
  operation: Operation,
  { moduleEntry, record }: { moduleEntry?: string | undefined; record?: { profile: string; mapping: DeployedMapping } | undefined } = {},
): Extract<AgentRequestBody, { kind: 'operation' }> {
  return { kind: 'operation', operation, ...moduleTargetOf(m, moduleEntry), ...(record ? { record } : {}) };
}

/** Whether a recorded deployment is the one asked for: the same mappings (by identity) and the same profiles on the same targets. */
export function sameDeployment(a: Deployment, b: Deployment): boolean {
  const targets = new Set([...Object.keys(a.profiles), ...Object.keys(b.profiles)]);
  return sameSet(a.mappings.map((m) => m.id), b.mappings.map((m) => m.id)) && [...targets].every((t) => sameSet(a.profiles[t] ?? [], b.profiles[t] ?? []));
}
