import { propertiesToEnvironment } from '../containers/parse-container-file.js';
import { OPERATIONS, OPERATION_METHODS } from '../plugin.js';
import type { DysnomiaPlugin, Operation, OperationContext, ShellSetup } from '../plugin.js';
import { ENGINE_API_VERSION } from '../version.js';
import { shellQuote } from '../shell-quote.js';

/**
 * The environment Dysnomia gives a module: with --environment the caller's
 * own; otherwise nothing but the container's properties, PATH, HOME and
 * DYSNOMIA_STATEDIR.
 */
export function moduleEnvironment(ctx: OperationContext): { env: Record<string, string | undefined>; extendEnv: boolean } {
  if (ctx.container.fromEnvironment) return { env: { DYSNOMIA_STATEDIR: ctx.stateDir }, extendEnv: true };
  return {
    env: {
      ...propertiesToEnvironment(ctx.container.properties),
      PATH: ctx.env.PATH,
      HOME: ctx.env.HOME,
      DYSNOMIA_STATEDIR: ctx.stateDir,
    },
    extendEnv: false,
  };
}

/**
 * Wraps a Dysnomia-style executable module (`<module> OP COMPONENT CONTAINER`)
 * as a plugin, so the engine runs both kinds the same way. The module keeps
 * its own markers, as Dysnomia's modules do: the engine keeps none for it.
 */
export function executableModule(file: string, type: string): DysnomiaPlugin {
  const runOperation = (operation: Operation) => async (ctx: OperationContext) => {
    const { env, extendEnv } = moduleEnvironment(ctx);
    await ctx.run(file, [operation, ctx.component, ctx.container.argument], { env, extendEnv });
  };
  const plugin: DysnomiaPlugin = {
    type,
    engine: `^${ENGINE_API_VERSION}`,
    stateful: false,
    meta: { name: file },
    activate: runOperation('activate'),
    deactivate: runOperation('deactivate'),
    shell(ctx: OperationContext): ShellSetup {
      return {
        script: `source ${shellQuote(file)} shell ${shellQuote(ctx.component)} ${shellQuote(ctx.container.argument)}`,
      };
    },
  };
  for (const operation of OPERATIONS) {
    const method = OPERATION_METHODS[operation];
    if (method !== 'activate' && method !== 'deactivate') plugin[method] = runOperation(operation);
  }
  return plugin;
}
