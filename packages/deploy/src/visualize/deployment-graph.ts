import type { Infrastructure } from '../models/infrastructure.js';
import type { ServicesModel } from '../models/services.js';

/** How one service depends on another, as the services model says it. */
export type EdgeKind = 'dependsOn' | 'connectsTo' | 'activatesAfter';

/** A service mapped to one container of one target. */
export interface ServiceNode {
  /** Unique among the graph's nodes: the target, container and service key. */
  id: string;
  key: string;
  name: string;
  type: string;
  /** The service provides containers (drawn with a double border). */
  providesContainers: boolean;
  /** Not in the distribution here: only a dependency's narrowed targets name this place. */
  notDistributed: boolean;
  /** The layer (profile) it belongs to, when a picture shows several. */
  layer?: string;
}

export interface ContainerCluster {
  name: string;
  /** Names of the services mapped to this target that provide this container. */
  providedBy: string[];
  services: ServiceNode[];
}

export interface TargetCluster {
  name: string;
  hostname: string;
  containers: ContainerCluster[];
}

export interface DependencyEdge {
  from: string;
  to: string;
  kind: EdgeKind;
}

/** A container on a target that a service mapping provides (drawn as an arrow to the container). */
export interface Provision {
  from: string;
  target: string;
  container: string;
}

/** Targets containing containers containing service mappings, and the dependencies between mappings; everything sorted. */
export interface DeploymentGraph {
  targets: TargetCluster[];
  edges: DependencyEdge[];
  provisions?: Provision[];
}

const KINDS: readonly EdgeKind[] = ['dependsOn', 'connectsTo', 'activatesAfter'];

/** Code-unit order, the same on every machine (localeCompare depends on the locale). */
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A node ID nobody's names can make collide: the JSON of its place. */
export const mappingId = (target: string, container: string, key: string): string => JSON.stringify([target, container, key]);

/**
 * The deployment architecture of checked models: every target of the
 * infrastructure; on it every container declared there, used by a mapping or
 * provided by a service mapped there; in each container its service mappings.
 * Edges go from each mapping of a dependant to each mapping of the dependency
 * it uses (the reference's targets). Nothing is built: pkg is never looked at.
 */
export function deploymentGraph(infrastructure: Infrastructure, model: ServicesModel): DeploymentGraph {
  const containers = new Map<string, Map<string, ContainerCluster>>();
  for (const [name, target] of Object.entries(infrastructure)) {
    containers.set(name, new Map(Object.keys(target.containers).map((container) => [container, { name: container, providedBy: [], services: [] }])));
  }
  const containerOf = (target: string, container: string): ContainerCluster => {
    const onTarget = containers.get(target)!;
    let cluster = onTarget.get(container);
    if (cluster === undefined) {
      cluster = { name: container, providedBy: [], services: [] };
      onTarget.set(container, cluster);
    }
    return cluster;
  };

  const nodes = new Set<string>();
  const place = (target: string, container: string, key: string, notDistributed: boolean): string => {
    const id = mappingId(target, container, key);
    if (nodes.has(id)) return id;
    nodes.add(id);
    const service = model.services[key]!;
    const providesContainers = Object.keys(service.providesContainers).length > 0;
    containerOf(target, container).services.push({ id, key, name: service.name, type: service.type, providesContainers, notDistributed });
    return id;
  };

  for (const service of Object.values(model.services)) {
    for (const mapping of service.targets) {
      place(mapping.target, mapping.container, service.key, false);
      for (const provided of Object.keys(service.providesContainers)) {
        const cluster = containerOf(mapping.target, provided);
        if (!cluster.providedBy.includes(service.name)) cluster.providedBy.push(service.name);
      }
    }
  }

  const edges = new Map<string, DependencyEdge>();
  for (const service of Object.values(model.services)) {
    for (const mapping of service.targets) {
      const from = mappingId(mapping.target, mapping.container, service.key);
      for (const kind of KINDS) {
        for (const ref of Object.values(service[kind])) {
          for (const used of ref.targets) {
            const to = place(used.target, used.container, ref.service, true);
            // Two parameters naming the same dependency are one arrow.
            edges.set(JSON.stringify([from, to, kind]), { from, to, kind });
          }
        }
      }
    }
  }

  const targets = [...containers.keys()].sort(byCodeUnits).map((name) => ({
    name,
    hostname: infrastructure[name]!.hostname,
    containers: [...containers.get(name)!.values()]
      .sort((a, b) => byCodeUnits(a.name, b.name))
      .map((cluster) => ({ ...cluster, providedBy: cluster.providedBy.sort(byCodeUnits), services: cluster.services.sort((a, b) => byCodeUnits(a.key, b.key)) })),
  }));
  const sortedEdges = [...edges.values()].sort((a, b) => byCodeUnits(a.from, b.from) || byCodeUnits(a.to, b.to) || KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind));
  return { targets, edges: sortedEdges };
}
