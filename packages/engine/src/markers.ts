import type { Operation, OperationContext } from './plugin.js';
import type { StateDir } from './state-dir.js';

/*
 * What the engine records about components, in Dysnomia's layout:
 * - every module: the activated marker (what `dysnomia-containers` deploys against);
 * - stateful plugins also: the garbage marker after deactivate, and repeated
 *   operations become no-ops.
 */

/** Why a stateful plugin's operation need not run, or undefined when it must. */
export async function reasonToSkip(stateDir: StateDir, operation: Operation, ctx: OperationContext): Promise<string | undefined> {
  const { name } = ctx.container;
  switch (operation) {
    case 'activate':
      return (await stateDir.isActivated(name, ctx.componentName)) === ctx.component ? 'already activated' : undefined;
    case 'deactivate':
      return (await stateDir.isActivated(name, ctx.componentName)) === undefined && (await stateDir.isGarbage(name, ctx.componentName))
        ? 'already deactivated'
        : undefined;
    case 'collect-garbage':
      return (await stateDir.isGarbage(name, ctx.componentName)) ? undefined : 'not marked as garbage';
    default:
      return undefined;
  }
}

/** Updates the markers after an operation succeeded. */
export async function recordSuccess(stateDir: StateDir, operation: Operation, ctx: OperationContext, stateful: boolean): Promise<void> {
  const { name } = ctx.container;
  switch (operation) {
    case 'activate':
      if ((await stateDir.isActivated(name, ctx.componentName)) !== ctx.component || (await stateDir.isGarbage(name, ctx.componentName))) {
        await stateDir.markActivated(name, ctx.componentName, ctx.component);
      }
      return;
    case 'deactivate':
      if (stateful) await stateDir.markGarbage(name, ctx.componentName, ctx.component);
      else await stateDir.clearActivated(name, ctx.componentName);
      return;
    case 'collect-garbage':
      if (stateful) await stateDir.clearGarbage(name, ctx.componentName);
      return;
    default:
      return;
  }
}
