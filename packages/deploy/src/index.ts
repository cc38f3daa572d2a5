/**
 * `@dysnomia/deploy`: the coordinator's library (models, SSH targets,
 * packages deployment, the orchestrator, state backends), with the store and
 * profiles of this machine re-exported from the engine. The CLI is a thin
 * client of it (cli.ts).
 */
export { Store, component, isBuildFunctionComponent, isEntryName, parseEntryName, gcRoots } from '@dysnomia/engine/internal/store/index.js';
export type { BuildFunctionComponent } from '@dysnomia/engine/internal/store/index.js';
export type { ComponentSource, AddOptions, EntryMeta, GarbageCollection } from '@dysnomia/engine/internal/store/index.js';
export { Profiles, assertProfileName } from '@dysnomia/engine/internal/profiles/index.js';
export type { Generation, GenerationSelector } from '@dysnomia/engine/internal/profiles/index.js';
export { loadInfrastructure, parseInfrastructure } from './models/infrastructure.js';
export type { Infrastructure, InfrastructureTarget, ClientInterface } from './models/infrastructure.js';
export { loadPackagesModel } from './models/packages.js';
export type { PackagesModel, PackageSource } from './models/packages.js';
export { loadModelFile, modelError } from './models/load-model.js';
export type { ModelSource } from './models/load-model.js';
export { SshConnection } from './remote/ssh-connection.js';
export type { SshSettings, ExecResult } from './remote/ssh-connection.js';
export { KnownHosts, appendKnownHost, fingerprint, hostLookupName } from './remote/known-hosts.js';
export { deployPackages, profileAction } from './deploy/deploy-packages.js';
export type { DeployOptions, DeployResult, ProfileAction } from './deploy/deploy-packages.js';
export { jsonReporter, plainReporter, terminalReporter } from './deploy/progress.js';
export type { DeployEvent, Reporter } from './deploy/progress.js';
export { openSession } from './deploy/target-session.js';
export type { TargetSession } from './deploy/target-session.js';
export { loadDistribution, parseDistribution, distributionArgument } from './models/distribution.js';
export type { Distribution, DistributionArgument, TargetMapping } from './models/distribution.js';
export { loadServices, parseServices, resolvePkg, interDependencies } from './models/services.js';
export { currentSystem } from './models/system.js';
export type { ServicesModel, Service, ServiceTarget, DependencyRef, InterDependency, InterDependencyTarget, PkgFunction, ServicesArguments } from './models/services.js';
export { deploymentOf, deploymentEntries, PROFILE_ONLY_TYPE } from './deploy/deployment.js';
export type { Deployment, DeployedMapping } from './deploy/deployment.js';
export { planTransition, runGraph, topological } from './deploy/transition.js';
export type { Transition, GraphOutcome } from './deploy/transition.js';
export { runTransition } from './deploy/orchestrator.js';
export { applyDeployPlugins, deployHooksFor } from './deploy/deploy-plugins.js';
export { lockCoordinator, lockTargets } from './deploy/locking.js';
export type { OrchestratorOptions, TransitionTarget } from './deploy/orchestrator.js';
export { Manifests } from './deploy/manifests.js';
export type { Manifest } from './deploy/manifests.js';
export { createDeployHooks } from '@dysnomia/engine';
export type { DeployHooks, PlanContext, MappingContext, TransitionFailedContext, ProfilesSwitchedContext, DeploymentRecordedContext } from '@dysnomia/engine';
export { stateBackendFor } from './deploy/state/open-state.js';
export type { StateBackend, DeploymentRecords } from './deploy/state/state-backend.js';
