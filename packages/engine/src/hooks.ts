import { AsyncSeriesBailHook, AsyncSeriesHook, SyncHook } from 'tapable';
import { DysnomiaError, PluginError } from './errors.js';
import type { Container, OperationContext, OperationResult } from './plugin.js';
import type { LoadedModule } from './modules/loaded-module.js';

/** What the engine asks the resolveModule hook for. */
export interface ModuleRequest {
  /** A type name, or a path when the user gave `--type ./x`. */
  type: string;
  /** Places a tap searched without a hit; shown to the user when nothing is found. */
  searched: string[];
}

export interface ContainerRequest {
  /** A container name, or a path. */
  container: string;
  searched: string[];
}

/**
 * Every extension point of the engine, in one place. A plugin's `apply(hooks)`
 * receives this object. The engine's own behaviour is tapped in under names
 * starting with "dysnomia:", so a plugin can come before it with `stage: -1`.
 */
export function createHooks() {
  const hooks = Object.freeze({
    /** Find the module serving a type. First tap to return a module wins. */
    resolveModule: new AsyncSeriesBailHook<[ModuleRequest], LoadedModule | undefined>(['request']),
    /** Find a container by name or path. First tap to return a container wins. */
    resolveContainer: new AsyncSeriesBailHook<[ContainerRequest], Container | undefined>(['request']),
    /** A module was loaded and passed the engine-version check. */
    moduleLoaded: new SyncHook<[LoadedModule]>(['module']),
    /** Before an operation runs; throwing here stops it. */
    beforeOperation: new AsyncSeriesHook<[OperationContext]>(['context']),
    /** After an operation succeeded, with what the plugin returned. */
    afterOperation: new AsyncSeriesHook<[OperationContext, OperationResult]>(['context', 'result']),
    /** An operation failed; the error still reaches the caller. */
    operationFailed: new AsyncSeriesHook<[OperationContext, Error]>(['context', 'error']),
  });
  return attributeTapErrors(hooks);
}

export type EngineHooks = ReturnType<typeof createHooks>;

/** Prefix of the taps the engine (and the orchestrator) install themselves. */
export const OWN_TAP_PREFIX = 'dysnomia:';

/**
 * Which plugin is tapping right now: set while a plugin's `apply` runs, so
 * every tap registered then is blamed on that plugin, whatever the tap is called.
 */
export class TapOwner {
  current: string | undefined;

  /** Runs `apply` with `plugin` as the owner of every tap it registers; its own errors name it and "apply". */
  applying(plugin: string, apply: () => void): void {
    const previous = this.current;
    this.current = plugin;
    try {
      apply();
    } catch (error) {
      throw attributed(error, plugin, 'apply');
    } finally {
      this.current = previous;
    }
  }
}

const owners = new WeakMap<object, TapOwner>();

/** The owner tracker of a hooks object made by attributeTapErrors. */
export function tapOwnerOf(hooks: object): TapOwner {
  const owner = owners.get(hooks);
  if (!owner) throw new Error('hooks object was not made with attributeTapErrors');
  return owner;
}

/**
 * Makes the taps of any set of tapable hooks name their plugin and hook in
 * their errors, as the engine's do. Used by the orchestrator's hooks too.
 */
export function attributeTapErrors<T extends Record<string, AnyHook>>(hooks: T): T {
  const owner = new TapOwner();
  for (const [name, hook] of Object.entries(hooks)) nameErrorsOfTaps(hook, name, owner);
  owners.set(hooks, owner);
  return hooks;
}

/**
 * The error a plugin's code raised, annotated with the plugin and where it ran.
 * A DysnomiaError keeps its code and exit status; only an annotation for the
 * same plugin and place is not repeated.
 */
export function attributed(error: unknown, plugin: string, hook: string, tap?: string): PluginError {
  if (error instanceof PluginError && error.plugin === plugin && error.hook === hook) return error;
  if (error instanceof DysnomiaError) return new PluginError(plugin, hook, error, { code: error.code, exitCode: error.exitCode, location: error.location, tap });
  return new PluginError(plugin, hook, error, { code: 'ERR_DYSNOMIA_HOOK_FAILED', tap });
}

interface RegisteredTap {
  name: string;
  type: 'sync' | 'async' | 'promise';
  fn: Function;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tapable's interceptor types differ per hook kind
type AnyHook = { intercept(interceptor: { register?: (tap: any) => any }): void };

/**
 * tapable passes a tap's error through untouched; wrap every tap as it is
 * registered so its errors say which plugin and which hook failed. Only the
 * engine's own taps (named "dysnomia:…" and registered outside any plugin's
 * apply) pass their errors through: those are already the engine's words.
 */
function nameErrorsOfTaps(hook: AnyHook, hookName: string, owner: TapOwner): void {
  hook.intercept({
    register(tap: RegisteredTap) {
      const plugin = owner.current;
      if (plugin === undefined && tap.name.startsWith(OWN_TAP_PREFIX)) return tap;
      const wrap = (error: unknown) => attributed(error, plugin ?? tap.name, `hook ${hookName}`, tap.name);
      const fn = tap.fn as (...args: unknown[]) => unknown;
      if (tap.type === 'promise') {
        tap.fn = async (...args: unknown[]) => {
          try {
            return await fn(...args);
          } catch (error) {
            throw wrap(error);
          }
        };
      } else if (tap.type === 'async') {
        tap.fn = (...args: unknown[]) => {
          const callback = args.pop() as (error?: unknown, result?: unknown) => void;
          try {
            fn(...args, (error: unknown, result: unknown) => callback(error ? wrap(error) : error, result));
          } catch (error) {
            callback(wrap(error));
          }
        };
      } else {
        tap.fn = (...args: unknown[]) => {
          try {
            return fn(...args);
          } catch (error) {
            throw wrap(error);
          }
        };
      }
      return tap;
    },
  });
}
