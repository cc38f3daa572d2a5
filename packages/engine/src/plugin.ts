import { createRequire } from 'node:module';
import { DysnomiaError, IncompatiblePluginError } from './errors.js';
import type { EngineHooks } from './hooks.js';
import type { DeployHooks } from './deploy-hooks.js';
import { ENGINE_API_VERSION } from './version.js';

/** The operations Dysnomia defines, in the spelling used on its command line. */
export const OPERATIONS = [
  'activate',
  'deactivate',
  'lock',
  'unlock',
  'snapshot',
  'restore',
  'collect-garbage',
  'capture',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export function isOperation(value: string): value is Operation {
  return (OPERATIONS as readonly string[]).includes(value);
}

/** Plugin method that serves each operation. */
export const OPERATION_METHODS = {
  activate: 'activate',
  deactivate: 'deactivate',
  lock: 'lock',
  unlock: 'unlock',
  snapshot: 'snapshot',
  restore: 'restore',
  'collect-garbage': 'collectGarbage',
  capture: 'capture',
} as const satisfies Record<Operation, keyof DysnomiaPlugin>;

/** A container property is a string, or an array of strings (Dysnomia's `key=("a" "b")`). */
export type PropertyValue = string | string[];
export type ContainerProperties = Record<string, PropertyValue>;

export interface Container {
  /** The container's name (for a container given as a path: the file's base name). */
  name: string;
  /** Properties, `type` included when the file names one. */
  properties: ContainerProperties;
  /** The file the container was read from, if any. */
  file?: string;
  /** The argument as the user gave it (a name or a path); Dysnomia passes this to executable modules. */
  argument: string;
  /** True with `--environment`: the properties are the caller's environment. */
  fromEnvironment?: boolean;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Keep the caller's environment and add `env` to it (default: true). */
  extendEnv?: boolean;
  cwd?: string;
  /** Text written to the child's standard input. Use it for secrets: it never shows in `ps`. */
  input?: string;
  /** 'forward' (default) streams the child's output to the engine's output; 'capture' returns it. */
  output?: 'forward' | 'capture';
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell; fails with the command and its exit status when it exits non-zero. */
export type ProcessRunner = (file: string, args?: readonly string[], options?: RunOptions) => Promise<RunResult>;

export interface OperationContext {
  operation: Operation | 'shell';
  type: string;
  /** Absolute path of the component. */
  component: string;
  /** The component's name: its base name, without a store hash prefix. */
  componentName: string;
  container: Container;
  stateDir: string;
  /** The caller's environment (the engine's, not the container's). */
  env: Readonly<Record<string, string | undefined>>;
  log: Logger;
  signal: AbortSignal;
  run: ProcessRunner;
}

export interface ShellSetup {
  /** Extra environment variables for the shell session. */
  env?: Record<string, string>;
  /** Text shown when the session starts: what the user can do in it. */
  help?: string;
  /** Shell code run at the start of the session (bash). */
  script?: string;
}

export type OperationResult = unknown;
type Awaitable<T> = T | Promise<T>;

export interface PluginMeta {
  name?: string;
  version?: string;
}

/** The contract a type plugin fulfils (engine API 1.x). */
export interface DysnomiaPlugin {
  /** The type it serves, as named by `--type` or a container's `type=`. */
  type: string;
  /** Semver range of the engine plugin API it works with. */
  engine: string;
  /** True: the engine keeps activated/garbage markers for its components. */
  stateful?: boolean;
  meta?: PluginMeta;
  activate(ctx: OperationContext): Awaitable<OperationResult>;
  deactivate(ctx: OperationContext): Awaitable<OperationResult>;
  capture?(ctx: OperationContext): Awaitable<OperationResult>;
  lock?(ctx: OperationContext): Awaitable<OperationResult>;
  unlock?(ctx: OperationContext): Awaitable<OperationResult>;
  snapshot?(ctx: OperationContext): Awaitable<OperationResult>;
  restore?(ctx: OperationContext): Awaitable<OperationResult>;
  collectGarbage?(ctx: OperationContext): Awaitable<OperationResult>;
  shell?(ctx: OperationContext): Awaitable<ShellSetup | void>;
  /**
   * Taps hooks; called once, when the plugin is loaded. `deploy` is the
   * orchestrator's hooks when the plugin is listed in the config of a
   * coordinator running a deployment, undefined elsewhere.
   */
  apply?(hooks: EngineHooks, deploy?: DeployHooks): void;
}

// semver is required on first use: running a Dysnomia executable module never needs it.
const require = createRequire(import.meta.url);
const semverValidRange = (range: string): string | null => (require('semver/ranges/valid') as (r: string) => string | null)(range);
const semverSatisfies = (version: string, range: string, options: { includePrerelease: boolean }): boolean =>
  (require('semver/functions/satisfies') as (v: string, r: string, o: object) => boolean)(version, range, options);

// Nearly every plugin says `engine: '^1.0.0'`. Loading semver costs each CLI call ~15-20 ms, so a plain
// caret range (major >= 1) against a plain version is decided here; anything else goes to semver.
const PLAIN_CARET = /^\^(\d+)\.(\d+)\.(\d+)$/;
const PLAIN_VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

function validRange(range: string): string | null {
  return PLAIN_CARET.test(range) ? range : semverValidRange(range);
}

function satisfies(version: string, range: string, options: { includePrerelease: boolean }): boolean {
  const caret = PLAIN_CARET.exec(range)?.slice(1).map(Number);
  const plain = PLAIN_VERSION.exec(version)?.slice(1).map(Number);
  if (!caret || !plain || caret[0] === 0) return semverSatisfies(version, range, options);
  const [major, minor, patch] = plain as [number, number, number];
  const [wantMajor, wantMinor, wantPatch] = caret as [number, number, number];
  return major === wantMajor && (minor > wantMinor || (minor === wantMinor && patch >= wantPatch));
}

const OPTIONAL_METHODS = ['capture', 'lock', 'unlock', 'snapshot', 'restore', 'collectGarbage', 'shell', 'apply'] as const;

/**
 * Checks a plugin's shape and returns it unchanged. Use it as the default
 * export of a plugin module; a package may export an array of plugins.
 */
export function definePlugin<const T extends DysnomiaPlugin | readonly DysnomiaPlugin[]>(plugin: T): T {
  const plugins = Array.isArray(plugin) ? plugin : [plugin];
  for (const p of plugins) validatePlugin(p, (p as Partial<DysnomiaPlugin>)?.type ?? '(unnamed plugin)');
  return plugin;
}

function invalid(source: string, problem: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_INVALID_PLUGIN', `${source} is not a valid Dysnomia plugin: ${problem}`);
}

/** Validates an untrusted plugin object loaded from `source`. */
export function validatePlugin(candidate: unknown, source: string): DysnomiaPlugin {
  if (candidate === null || typeof candidate !== 'object') throw invalid(source, 'its default export is not an object made with definePlugin()');
  const p = candidate as Record<string, unknown>;
  if (typeof p.type !== 'string' || p.type === '') throw invalid(source, '"type" must be a non-empty string');
  if (typeof p.engine !== 'string' || validRange(p.engine) === null) {
    throw invalid(source, `"engine" must be a semver range (for example "^1.0.0"), got ${JSON.stringify(p.engine)}`);
  }
  if (p.stateful !== undefined && typeof p.stateful !== 'boolean') throw invalid(source, '"stateful" must be a boolean');
  for (const method of ['activate', 'deactivate'] as const) {
    if (typeof p[method] !== 'function') throw invalid(source, `"${method}" must be a function`);
  }
  for (const method of OPTIONAL_METHODS) {
    if (p[method] !== undefined && typeof p[method] !== 'function') throw invalid(source, `"${method}" must be a function when present`);
  }
  return candidate as DysnomiaPlugin;
}

/**
 * Refuses a plugin whose `engine` range does not include this engine's API
 * version, before any of its code runs an operation.
 */
export function assertEngineCompatible(plugin: DysnomiaPlugin, pluginName: string, apiVersion: string = ENGINE_API_VERSION): void {
  if (!isEngineCompatible(plugin.engine, apiVersion)) {
    throw new IncompatiblePluginError(pluginName, plugin.type, plugin.engine, apiVersion);
  }
}

export function isEngineCompatible(range: string, apiVersion: string = ENGINE_API_VERSION): boolean {
  return satisfies(apiVersion, range, { includePrerelease: true });
}
