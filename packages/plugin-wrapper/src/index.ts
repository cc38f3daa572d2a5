import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { definePlugin, DysnomiaError, moduleEnvironment } from '@dysnomia/engine';
import type { Operation, OperationContext } from '@dysnomia/engine';

/** The program a wrapper component ships; it does the real work of every operation. */
export function wrapperProgram(component: string): string {
  return join(component, 'bin', 'wrapper');
}

function assertWrapperExists(ctx: OperationContext): string {
  const program = wrapperProgram(ctx.component);
  try {
    // Synchronous: one local look per operation, and a deployment asks every running service to lock.
    accessSync(program, constants.X_OK);
  } catch {
    throw new DysnomiaError(
      'ERR_DYSNOMIA_INPUT',
      `component ${ctx.componentName} (${ctx.component}) has no executable bin/wrapper: a component of type wrapper must ship one`,
    );
  }
  return program;
}

/**
 * Runs `bin/wrapper OP CONTAINER` with the container's properties as its
 * environment, as Dysnomia's wrapper module does. Its exit status decides.
 */
function runWrapper(operation: Operation) {
  return async (ctx: OperationContext): Promise<void> => {
    const program = assertWrapperExists(ctx);
    const { env, extendEnv } = moduleEnvironment(ctx);
    try {
      await ctx.run(program, [operation, ctx.container.name || ctx.container.argument], { env, extendEnv, cwd: ctx.component });
    } catch (error) {
      if (operation === 'lock') {
        throw new Error(`${ctx.componentName} refused the lock (its bin/wrapper lock failed): ${(error as Error).message}`);
      }
      throw error;
    }
  };
}

/**
 * Type `wrapper`: the component's own bin/wrapper knows how to activate,
 * deactivate, lock, snapshot, restore and collect garbage. The script is run
 * for every request, so it must be idempotent itself (Dysnomia's contract).
 */
export default definePlugin({
  type: 'wrapper',
  engine: '^1.0.0',
  stateful: false,
  meta: { name: '@dysnomia/plugin-wrapper', version: '1.0.0' },
  activate: runWrapper('activate'),
  deactivate: runWrapper('deactivate'),
  lock: runWrapper('lock'),
  unlock: runWrapper('unlock'),
  snapshot: runWrapper('snapshot'),
  restore: runWrapper('restore'),
  collectGarbage: runWrapper('collect-garbage'),
});
