import type { Operation, OperationContext } from './plugin.js';
import type { StateDir } from './state-dir.js';

/*
 * What the engine records about components, in Dysnomia's layout and form
 * (regular files, which Dysnomia's modules test with `[ -f ]`). Markers record;
 * they never stand in for a look at the real state: activate and deactivate
 * always reach the module, which checks what is there (a database dropped by
 * hand is made again; a server that is down fails the activation).
 * - plugins: the activated marker; stateful ones also the garbage marker
 *   after deactivate, and collect-garbage runs only for a component marked as
 *   garbage (the marker is the only record that its data may go);
 * - executable modules: the activated marker only where the module keeps
 *   none itself, and never one it keeps (Dysnomia's util writes an empty file
 *   and moves it to garbage/ on deactivate; such a module decides itself).
 */

/** Why an operation need not reach the module, or undefined when it must: only collect-garbage of what is not garbage. */
export async function reasonToSkip(stateDir: StateDir, operation: Operation, ctx: OperationContext, stateful: boolean): Promise<string | undefined> {
  if (operation !== 'collect-garbage' || !stateful) return undefined;
  return (await stateDir.isGarbage(ctx.container.name, ctx.componentName)) ? undefined : 'not marked as garbage';
}

/** Updates the markers after an operation succeeded. */
export async function recordSuccess(stateDir: StateDir, operation: Operation, ctx: OperationContext, module: { kind: 'plugin' | 'executable'; stateful: boolean }): Promise<void> {
  const { name } = ctx.container;
  if (operation === 'collect-garbage') {
    if (module.kind === 'plugin' && module.stateful) await stateDir.clearGarbage(name, ctx.componentName);
    return;
  }
  // Only activate and deactivate look at the activated marker: a lock, unlock, snapshot, restore or capture reads no marker (a deployment locks every running service).
  if (operation !== 'activate' && operation !== 'deactivate') return;
  const activated = await stateDir.isActivated(name, ctx.componentName);
  // An empty marker is the module's own (Dysnomia's util): it is left to the module.
  const ownedByModule = activated === '';
  switch (operation) {
    case 'activate':
      if (module.kind === 'executable') {
        if (activated === undefined ? !(await stateDir.isGarbage(name, ctx.componentName)) : !ownedByModule && activated !== ctx.component) {
          await stateDir.markActivated(name, ctx.componentName, ctx.component);
        }
        return;
      }
      if (activated !== ctx.component || (await stateDir.isGarbage(name, ctx.componentName))) await stateDir.markActivated(name, ctx.componentName, ctx.component);
      return;
    case 'deactivate':
      if (module.kind === 'executable') {
        if (activated !== undefined && !ownedByModule) await stateDir.clearActivated(name, ctx.componentName);
        return;
      }
      if (module.stateful) await stateDir.markGarbage(name, ctx.componentName, ctx.component);
      else await stateDir.clearActivated(name, ctx.componentName);
      return;
  }
}
