import type { ContainerProperties } from './plugin.js';

/*
 * The shapes a coordinator and its targets share: a deployment, its mappings
 * (a target keeps them in its own record of what it runs) and a target's
 * settings as the orchestrator's hooks see them. The orchestrator
 * (@dysnomia/deploy) builds them; the engine only reads them.
 */

export type ClientInterface = 'ssh' | 'local';

/** One machine of the infrastructure model, with its settings checked and defaults applied. */
export interface InfrastructureTarget {
  name: string;
  properties: Record<string, unknown>;
  containers: Record<string, Record<string, unknown>>;
  system?: string;
  numOfCores?: number;
  /** The property holding the address (Disnix's targetProperty), default `hostname`. */
  targetProperty: string;
  clientInterface: ClientInterface;
  /** The address: properties[targetProperty]. */
  hostname: string;
}


/** One service on one target in one container: the unit a transition activates and deactivates. */
export interface DeployedMapping {
  /** Stable over redeploys while nothing of the service or its dependencies changed (see identity). */
  id: string;
  service: string;
  name: string;
  type: string;
  /** The service's component: an entry of the coordinator's store and, once sent, of the target's. */
  entry: string;
  target: string;
  container: string;
  /** The container's properties as the models give them (the target's own container file fills the rest). */
  properties?: ContainerProperties;
  /** Mappings (ids) that must be active before this one: its dependsOn and activatesAfter dependencies where it uses them. */
  after: string[];
  /** Containers the service provides on its target (providesContainers), by name: the next layer deploys into them. */
  providesContainers?: string[];
  /**
   * The service's own properties (the model's keys other than name, pkg,
   * type, dependencies and containers) as JSON, for the orchestrator's
   * plugins (a health check). Kept here, never sent to a target; not part of the
   * identity, so changing one alone redeploys nothing.
   */
  serviceProperties?: Record<string, unknown>;
  /**
   * The service's deployState (Disnix's): true, its state moves with it
   * when the mapping moves; false, never; absent, deploy's --deploy-state
   * decides. Not part of the identity.
   */
  deployState?: boolean;
}

/** A whole deployment: what the coordinator's manifest records and what a transition goes to. */
export interface Deployment {
  profile: string;
  /** The targets this deployment touches, with the settings to reach them again (rollback needs no models). */
  targets: Record<string, InfrastructureTarget>;
  mappings: DeployedMapping[];
  /** target → the entries its profile holds: every component mapped there. */
  profiles: Record<string, string[]>;
}
