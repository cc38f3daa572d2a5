import { definePlugin } from '@dysnomia/engine';

/**
 * Type `package`: a component that is only installed into a profile. There is
 * nothing to activate or deactivate; every operation succeeds and changes nothing.
 */
export default definePlugin({
  type: 'package',
  engine: '^1.0.0',
  stateful: false,
  activate(ctx) {
    ctx.log.debug(`${ctx.componentName}: type package has nothing to activate`);
  },
  deactivate(ctx) {
    ctx.log.debug(`${ctx.componentName}: type package has nothing to deactivate`);
  },
});
