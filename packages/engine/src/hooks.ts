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
  for (const [name, hook] of Object.entries(hooks)) nameErrorsOfTaps(hook, name);
  return hooks;
}

export type EngineHooks = ReturnType<typeof createHooks>;

interface RegisteredTap {
  name: string;
  type: 'sync' | 'async' | 'promise';
  fn: Function;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tapable's interceptor types differ per hook kind
type AnyHook = { intercept(interceptor: { register?: (tap: any) => any }): void };

/**
 * tapable passes a tap's error through untouched; wrap every tap as it is
 * registered so its errors say which tap (plugin) and which hook failed.
 */
function nameErrorsOfTaps(hook: AnyHook, hookName: string): void {
  hook.intercept({
    register(tap: RegisteredTap) {
      const wrap = (error: unknown) =>
        error instanceof DysnomiaError ? error : new PluginError(tap.name, `hook ${hookName}`, error, 'ERR_DYSNOMIA_HOOK_FAILED');
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
