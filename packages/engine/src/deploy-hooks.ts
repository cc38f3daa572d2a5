import { AsyncSeriesHook } from 'tapable';
import { attributeTapErrors } from './hooks.js';
import type { DeployedMapping, Deployment, InfrastructureTarget } from './deployment-types.js';

/*
 * The orchestrator's extension points, in one frozen object as the engine's
 * are (hooks.ts). Plugins listed in the config tap them in `apply(hooks,
 * deploy)`: `deploy` is this object on the coordinator, undefined where only
 * the engine runs (on a target, in `dysnomia activate`). Every tap's error
 * names its plugin and hook; the orchestrator says what each error does.
 */

/** The transition, as computed under the targets' locks. */
export interface PlannedTransition {
  deactivate: DeployedMapping[];
  activate: DeployedMapping[];
  unchanged: DeployedMapping[];
}

export interface PlanContext {
  profile: string;
  /** The deployment asked for. */
  deployment: Deployment;
  /** The generation recorded before this run, if any. */
  fromGeneration: number | undefined;
  transition: PlannedTransition;
  /** True in --dry-run: nothing will change whatever the taps say, but a refusal is still reported. */
  dryRun: boolean;
}

export interface MappingContext {
  profile: string;
  mapping: DeployedMapping;
  /** The target's settings from the models (hostname, properties, …). */
  target: InfrastructureTarget | undefined;
  /** True while a failed deployment is rolled back: the operation undoes one of this run. */
  undo: boolean;
  /** Says a line to the user, named by target and service, as a module's output is. */
  log(line: string): void;
}

export interface TransitionFailedContext {
  profile: string;
  error: Error;
  /** The step that failed, when one did. */
  mapping: DeployedMapping | undefined;
}

export interface ProfilesSwitchedContext {
  profile: string;
  /** Targets whose profile changed: their new and previous generations. */
  switched: Array<{ target: string; generation: number; previous: number | null }>;
}

export interface DeploymentRecordedContext {
  profile: string;
  generation: number;
  deployment: Deployment;
}

export function createDeployHooks() {
  return attributeTapErrors(
    Object.freeze({
      /** The transition is known, nothing has changed yet; throwing refuses it (the deploy stops, nothing changed). */
      plan: new AsyncSeriesHook<[PlanContext]>(['plan']),
      /** Before a mapping is activated on its target; throwing fails that step (the run is rolled back). */
      beforeActivate: new AsyncSeriesHook<[MappingContext]>(['context']),
      /** After a mapping was activated; throwing fails the deployment, which is rolled back (this mapping too). */
      afterActivate: new AsyncSeriesHook<[MappingContext]>(['context']),
      /** Before a mapping is deactivated; throwing fails that step (the run is rolled back). */
      beforeDeactivate: new AsyncSeriesHook<[MappingContext]>(['context']),
      /** After a mapping was deactivated; throwing fails the deployment, which is rolled back (this mapping too). */
      afterDeactivate: new AsyncSeriesHook<[MappingContext]>(['context']),
      /** The transition failed, before the rollback; a tap's error is reported and the rollback goes on. */
      transitionFailed: new AsyncSeriesHook<[TransitionFailedContext]>(['context']),
      /** Every target's profile holds the new deployment; throwing fails the deployment (profiles and services go back). */
      profilesSwitched: new AsyncSeriesHook<[ProfilesSwitchedContext]>(['context']),
      /** The deployment is in place and recorded; a tap's error makes the exit status 1 but undoes nothing. */
      deploymentRecorded: new AsyncSeriesHook<[DeploymentRecordedContext]>(['context']),
    }),
  );
}

export type DeployHooks = ReturnType<typeof createDeployHooks>;
