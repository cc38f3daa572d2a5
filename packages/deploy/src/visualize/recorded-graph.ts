import type { Deployment, DeployedMapping } from '../deploy/deployment.js';
import { byCodeUnits, mappingId } from './deployment-graph.js';
import type { ContainerCluster, DependencyEdge, DeploymentGraph, Provision, ServiceNode } from './deployment-graph.js';

/** One recorded deployment to draw: a profile and its current deployment. */
export interface RecordedLayer {
  profile: string;
  deployment: Deployment;
}

/**
 * The containers a mapping provides: those the deployment recorded, else
 * those its component ships in etc/dysnomia/containers (records made before
 * deployments kept them).
 */
export type ProvidedContainers = (mapping: DeployedMapping) => Promise<string[]>;

/**
 * The deployment architecture of recorded deployments, no models needed:
 * each layer's mappings in their containers on their targets, arrows for
 * their activation order (what a record keeps of dependsOn and
 * activatesAfter), and an arrow from each mapping that provides a container
 * to that container. With several layers, each service says its layer.
 */
export async function recordedGraph(layers: RecordedLayer[], provided: ProvidedContainers): Promise<DeploymentGraph> {
  const hostnames = new Map<string, string>();
  const containers = new Map<string, Map<string, ContainerCluster>>();
  const containerOf = (target: string, name: string): ContainerCluster => {
    let onTarget = containers.get(target);
    if (onTarget === undefined) containers.set(target, (onTarget = new Map()));
    let cluster = onTarget.get(name);
    if (cluster === undefined) onTarget.set(name, (cluster = { name, providedBy: [], services: [] }));
    return cluster;
  };
  const edges: DependencyEdge[] = [];
  const provisions: Provision[] = [];
  for (const { profile, deployment } of layers) {
    for (const [name, target] of Object.entries(deployment.targets)) {
      hostnames.set(name, target.hostname);
      // The containers the infrastructure declared there, those nothing is deployed into too.
      for (const container of Object.keys(target.containers)) containerOf(name, container);
    }
    const nodeOf = new Map<string, string>();
    for (const m of deployment.mappings) {
      const id = mappingId(m.target, m.container, `${profile}/${m.service}`);
      nodeOf.set(m.id, id);
      const provides = await provided(m);
      const node: ServiceNode = { id, key: m.service, name: m.name, type: m.type, providesContainers: provides.length > 0, notDistributed: false, ...(layers.length > 1 ? { layer: profile } : {}) };
      containerOf(m.target, m.container).services.push(node);
      for (const container of provides) {
        const cluster = containerOf(m.target, container);
        if (!cluster.providedBy.includes(m.name)) cluster.providedBy.push(m.name);
        provisions.push({ from: id, target: m.target, container });
      }
    }
    for (const m of deployment.mappings) {
      for (const after of m.after) {
        const to = nodeOf.get(after);
        if (to !== undefined) edges.push({ from: nodeOf.get(m.id)!, to, kind: 'dependsOn' });
      }
    }
  }
  const targets = [...containers.keys()].sort(byCodeUnits).map((name) => ({
    name,
    hostname: hostnames.get(name) ?? name,
    containers: [...containers.get(name)!.values()]
      .sort((a, b) => byCodeUnits(a.name, b.name))
      .map((cluster) => ({ ...cluster, providedBy: cluster.providedBy.sort(byCodeUnits), services: cluster.services.sort((a, b) => byCodeUnits(a.id, b.id)) })),
  }));
  return {
    targets,
    edges: edges.sort((a, b) => byCodeUnits(a.from, b.from) || byCodeUnits(a.to, b.to)),
    provisions: provisions.sort((a, b) => byCodeUnits(a.from, b.from) || byCodeUnits(a.container, b.container)),
  };
}
