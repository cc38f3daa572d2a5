import type { Infrastructure } from '../models/infrastructure.js';
import type { ServicesModel } from '../models/services.js';
import { sourceBuilder } from './deploy-packages.js';
import type { DeployResult } from './deploy-packages.js';
import { deploymentOf, PROFILE_ONLY_TYPE } from './deployment.js';
import type { Deployment } from './deployment.js';
import { runTransition } from './orchestrator.js';
import type { OrchestratorOptions } from './orchestrator.js';
import { TargetBuilds } from './target-builds.js';
import { EarlyConnections } from './target-session.js';

export interface ServicesDeploymentOptions extends OrchestratorOptions {
  /**
   * Changes the deployment before the transition (a layer folds in what its
   * containers' providers are, and may keep old providers for the layers
   * above: then `record: false`, the transition is a step of a larger one).
   */
  adjust?: (deployment: Deployment) => { deployment: Deployment; record?: boolean };
}

/**
 * A services model to the machines: every service's type resolved to a
 * plugin before anything is built (a bad plugin stops it here), the
 * components built (here, or on a target) while the targets the distribution
 * names are connected to, then the transition to that deployment.
 */
export async function deployServices(services: ServicesModel, infrastructure: Infrastructure, options: ServicesDeploymentOptions): Promise<DeployResult> {
  for (const service of Object.values(services.services)) if (service.targets.length > 0 && service.type !== PROFILE_ONLY_TYPE) await options.typePlugins.resolve(service.type);
  // The handshakes with the targets the distribution names run while the components are built here.
  const early = new EarlyConnections();
  const named = new Set(Object.values(services.services).flatMap((service) => service.targets.map((t) => t.target)));
  early.start([...named].slice(0, options.maxConcurrent).map((name) => infrastructure[name]!), options);
  try {
    const builder = sourceBuilder(options);
    // Built here, or on a target (--build-on-targets, or a target of another system): then the result is copied here.
    const builds = new TargetBuilds({ ...options, buildOnTargets: options.buildOnTargets === true }, builder);
    let deployment: Deployment;
    try {
      const targetsOf = (service: string) => [...new Set(services.services[service]!.targets.map((t) => t.target))].map((name) => infrastructure[name]!);
      deployment = await deploymentOf(services, infrastructure, options.profile, (source, service) => builds.build(source, targetsOf(service), service));
    } finally {
      builds.close();
    }
    await builder.save();
    const adjusted = options.adjust ? options.adjust(deployment) : { deployment };
    return await runTransition({ kind: 'new', deployment: adjusted.deployment }, { ...options, early, ...(adjusted.record === false ? { record: false } : {}) });
  } finally {
    early.closeRest();
  }
}
