import { definePlugin, DysnomiaError } from '@dysnomia/engine';
import type { DeployHooks, MappingContext, PlanContext } from '@dysnomia/engine';
import { describeCheck, parseHealthCheck, runHealthCheck } from './check.js';
import type { HealthCheck } from './check.js';

export { parseHealthCheck, runHealthCheck, describeCheck, DEFAULT_TIMEOUT_SECONDS } from './check.js';
export type { HealthCheck, CheckOutcome } from './check.js';

export const PLUGIN_NAME = '@dysnomia/plugin-health-check';
/** The service property that holds a check. */
export const HEALTH_CHECK_PROPERTY = 'healthCheck';

function checkOf(service: string, properties: Record<string, unknown> | undefined): HealthCheck | undefined {
  const value = properties?.[HEALTH_CHECK_PROPERTY];
  if (value === undefined) return undefined;
  const check = parseHealthCheck(value);
  if (typeof check === 'string') throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `service "${service}": ${HEALTH_CHECK_PROPERTY}: ${check}`);
  return check;
}

/** Every check of the plan is read before anything changes: a bad one refuses the deployment (exit status 2). */
async function checkPlan({ transition }: PlanContext): Promise<void> {
  for (const mapping of transition.activate) checkOf(mapping.service, mapping.serviceProperties);
}

/** After a service is activated: it must pass its check, or the deployment fails and is rolled back. */
async function checkActivated({ mapping, target, undo, log }: MappingContext): Promise<void> {
  // Rolling back puts back what ran before: not this deployment's to judge.
  if (undo) return;
  const check = checkOf(mapping.service, mapping.serviceProperties);
  if (!check) return;
  const hostname = target?.hostname ?? 'localhost';
  const what = describeCheck(check, hostname);
  log(`health check: waiting up to ${check.timeoutSeconds} s until ${what}`);
  const outcome = await runHealthCheck(check, hostname);
  if (!outcome.ok) throw new Error(`health check of ${mapping.service} on ${mapping.target} failed: expected ${what}; after ${outcome.seconds.toFixed(1)} s the last try ${outcome.last}`);
  log(`health check passed after ${outcome.seconds.toFixed(1)} s: ${what}`);
}

/**
 * A service counts as deployed once it answers. Services opt in with a
 * `healthCheck` property in the services model; list this package in the
 * config's "plugins". As deploy-rs's confirm-or-revert: a check that fails
 * after activation fails the deployment, which is rolled back.
 */
export default definePlugin({
  // Serves no services of its own: it takes part in deployments through the orchestrator's hooks.
  type: 'health-check',
  engine: '^1.0.0',
  meta: { name: PLUGIN_NAME },
  activate: refuseAsType,
  deactivate: refuseAsType,
  apply(_engine, deploy?: DeployHooks) {
    if (!deploy) return;
    deploy.plan.tapPromise('health-check', checkPlan);
    deploy.afterActivate.tapPromise('health-check', checkActivated);
  },
});

function refuseAsType(): never {
  throw new DysnomiaError(
    'ERR_DYSNOMIA_INPUT',
    `health-check is not a type of service: give a service a "${HEALTH_CHECK_PROPERTY}" property ({ url, status } or { port }) and list ${PLUGIN_NAME} in the config's "plugins"`,
  );
}
