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
export { createDeployHooks } from './deploy-hooks.js';
export type {
  DeployHooks,
  PlanContext,
  PlannedTransition,
  MappingContext,
  TransitionFailedContext,
  ProfilesSwitchedContext,
  DeploymentRecordedContext,
} from './deploy-hooks.js';
export type { LoadedModule } from './modules/loaded-module.js';
export type { DysnomiaConfig } from './config.js';
export { loadConfig } from './config.js';
export { parseContainerFile, parseJsonContainer, propertiesToEnvironment } from './containers/parse-container-file.js';
export { DysnomiaError, PluginError, IncompatiblePluginError, isDysnomiaError, EXIT_BAD_INPUT, EXIT_OPERATION_FAILED } from './errors.js';
export type { ErrorCode } from './errors.js';
export { StateDir, defaultStateDir } from './state-dir.js';
export { ENGINE_API_VERSION, engineVersion } from './version.js';
export { shellQuote } from './shell-quote.js';
export { moduleEnvironment } from './modules/executable-module.js';
export * as snapshots from './snapshots/index.js';
// Build-function components are written in packages models, so they come with the light entry.
export { component, isBuildFunctionComponent } from './store/build-function.js';
export type { BuildFunctionComponent } from './store/build-function.js';
