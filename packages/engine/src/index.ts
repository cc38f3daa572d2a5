export { Engine } from './engine.js';
export type { EngineOptions, OperationRequest, OperationOutcome } from './engine.js';
export { definePlugin, validatePlugin, assertEngineCompatible, isEngineCompatible, OPERATIONS, isOperation } from './plugin.js';
export type {
  DysnomiaPlugin,
  PluginMeta,
  Operation,
  OperationContext,
  OperationResult,
  Container,
  ContainerProperties,
  PropertyValue,
  Logger,
  ProcessRunner,
  RunOptions,
  RunResult,
  ShellSetup,
} from './plugin.js';
export type { EngineHooks, ModuleRequest, ContainerRequest } from './hooks.js';
export type { LoadedModule } from './modules/loaded-module.js';
export type { DysnomiaConfig } from './config.js';
export { loadConfig } from './config.js';
export { parseContainerFile, parseJsonContainer, propertiesToEnvironment } from './containers/parse-container-file.js';
export { DysnomiaError, PluginError, isDysnomiaError, EXIT_BAD_INPUT, EXIT_OPERATION_FAILED } from './errors.js';
export type { ErrorCode } from './errors.js';
export { StateDir, defaultStateDir } from './state-dir.js';
export { ENGINE_API_VERSION, engineVersion } from './version.js';
export { shellQuote } from './shell-quote.js';
export { moduleEnvironment } from './modules/executable-module.js';
export * as snapshots from './snapshots/index.js';
export { Store, component, isBuildFunctionComponent, isEntryName, parseEntryName, gcRoots } from './store/index.js';
export type { ComponentSource, AddOptions, BuildFunctionComponent, EntryMeta, GarbageCollection } from './store/index.js';
export { Profiles, assertProfileName } from './profiles/index.js';
export type { Generation, GenerationSelector } from './profiles/index.js';
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
