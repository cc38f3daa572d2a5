import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import { ask } from '../remote/agent-link.js';
import type { DeployedMapping, Deployment } from './deployment.js';
import { faultPoint } from './fault-injection.js';
import type { Reporter } from './progress.js';
import { operateOnState, sendAndRestore, snapshotAndRetrieve } from './service-state.js';
import type { StateSteps, StateTarget } from './service-state.js';
import { isActivated } from './transition.js';
import type { TypePlugins } from './type-plugins.js';

/** deploy's state options (Disnix's --deploy-state, --delete-state, --no-migration). */
export interface MigrationOptions {
  /** false with --no-migration: no state moves. */
  enabled: boolean;
  /** --deploy-state: every service of a stateful type whose deployState is not false counts as deployState: true. */
  deployStateAll: boolean;
  /** --delete-state: once the deployment is in place, the state left behind by moved deployState services is deleted (collect-garbage). */
  deleteState: boolean;
}

export const NO_MIGRATION: MigrationOptions = { enabled: false, deployStateAll: false, deleteState: false };

/** Types whose plugin here says it keeps no state: --deploy-state leaves them alone (a type served on the target only counts as stateful). */
export type StatelessTypes = ReadonlySet<string>;

/** Whether a service's state moves: its own deployState (the new deployment's word, else the old record's), else --deploy-state for a stateful type. */
function carriesState(flag: boolean | undefined, type: string, options: MigrationOptions, stateless: StatelessTypes): boolean {
  return flag ?? (options.deployStateAll && !stateless.has(type));
}

const place = (m: DeployedMapping) => `${m.service}\0${m.target}\0${m.container}`;

/** Of the mappings' types, those whose plugin here is not stateful (only asked with --deploy-state). */
export async function statelessTypesOf(mappings: DeployedMapping[], options: MigrationOptions, typePlugins: TypePlugins): Promise<StatelessTypes> {
  const stateless = new Set<string>();
  if (!options.enabled || !options.deployStateAll) return stateless;
  for (const type of new Set(mappings.filter(isActivated).map((m) => m.type))) {
    const plugin = await typePlugins.resolve(type);
    if (plugin !== undefined && !plugin.stateful) stateless.add(type);
  }
  return stateless;
}

/**
 * The state moves of a transition, as Disnix's snapshot mappings define
 * them: a deployState service's mapping activated in a place (target and
 * container) where the service was not, paired with one it is deactivated
 * from, a place it no longer has. Keyed by the id of the mapping activated.
 * Whether a service carries state is the new deployment's word (the models),
 * else what the old mapping was recorded with, else --deploy-state.
 */
export function plannedMoves(deactivate: DeployedMapping[], activate: DeployedMapping[], next: Deployment, options: MigrationOptions, stateless: StatelessTypes): Map<string, DeployedMapping> {
  const moves = new Map<string, DeployedMapping>();
  if (!options.enabled) return moves;
  const placesAfter = new Set(next.mappings.map(place));
  const left = deactivate.filter((m) => isActivated(m) && !placesAfter.has(place(m)));
  const placesBefore = new Set(deactivate.map(place));
  for (const to of activate.filter(isActivated)) {
    if (placesBefore.has(place(to))) continue; // redeployed where it was: its state is there
    const index = left.findIndex((from) => from.service === to.service && carriesState(to.deployState ?? from.deployState, to.type, options, stateless));
    if (index < 0) continue;
    moves.set(to.id, left[index]!);
    left.splice(index, 1);
  }
  return moves;
}

/**
 * With --delete-state: the deactivated deployState mappings whose place the
 * new deployment no longer uses (moved or removed), whose state the plugin's
 * collect-garbage deletes once the deployment is in place (Disnix's
 * delete_obsolete_state).
 */
export function obsoleteState(deactivate: DeployedMapping[], next: Deployment, options: MigrationOptions, stateless: StatelessTypes): DeployedMapping[] {
  if (!options.enabled || !options.deleteState) return [];
  const placesAfter = new Set(next.mappings.map(place));
  const flagOf = new Map(next.mappings.map((m) => [m.service, m.deployState]));
  return deactivate.filter((m) => isActivated(m) && !placesAfter.has(place(m)) && carriesState(flagOf.get(m.service) ?? m.deployState, m.type, options, stateless));
}

/** What moving state needs of a running transition. */
export interface StateMoveContext {
  profile: string;
  reporter: Reporter;
  steps: StateSteps;
  /** The target's session and agent, for transfers and requests. */
  stateTarget(target: string): StateTarget;
  /** What a target's record keeps of a mapping. */
  recordOf(m: DeployedMapping): DeployedMapping;
  /** The test suite's fault points (cut a target's connection). */
  cut(target: string): void;
}

function stateFailed(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_DEPLOY_FAILED', message, { exitCode: EXIT_OPERATION_FAILED });
}

/**
 * The state moves of one transition: which operations leave the targets'
 * records to the move (the old mapping's deactivation and the new one's
 * activation are recorded only once the state has moved, so an interrupted
 * move is planned again by a re-run), the move itself after the new mapping
 * is activated, and --delete-state once the deployment is recorded.
 */
export class StateMoves {
  private readonly moves: Map<string, DeployedMapping>;
  private readonly movedFrom: Set<string>;

  constructor(
    private readonly deactivations: DeployedMapping[],
    activations: DeployedMapping[],
    private readonly next: Deployment,
    private readonly options: MigrationOptions,
    private readonly stateless: StatelessTypes,
    private readonly context: StateMoveContext,
  ) {
    this.moves = plannedMoves(deactivations, activations, next, options, stateless);
    this.movedFrom = new Set([...this.moves.values()].map((m) => m.id));
  }

  /** Whether an operation on this mapping leaves the target's record to the move. */
  defersRecord(m: DeployedMapping): boolean {
    return this.moves.has(m.id) || this.movedFrom.has(m.id);
  }

  /** After `to` was activated: moves the state of the mapping it replaces, if any, and records both on their targets. */
  async afterActivation(to: DeployedMapping): Promise<void> {
    const from = this.moves.get(to.id);
    if (from === undefined) return;
    const { context } = this;
    try {
      const snapshot = await snapshotAndRetrieve(context.stateTarget(from.target), from, context.steps);
      if (snapshot !== undefined) await sendAndRestore(context.stateTarget(to.target), to, { from: from.target, relative: snapshot }, context.steps);
      faultPoint('after-migrate', context.cut);
      // The new place first: interrupted between the two, a re-run sees both running and moves nothing twice.
      await ask(context.stateTarget(to.target).link, to.target, { kind: 'record', profile: context.profile, activated: context.recordOf(to) });
      await ask(context.stateTarget(from.target).link, from.target, { kind: 'record', profile: context.profile, deactivated: from.id });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      context.reporter.emit({ event: 'step', target: to.target, action: 'migrate-state', service: to.service, container: to.container, status: 'failed', error: message });
      throw stateFailed(`migrating the state of ${to.service} from ${from.target} (container ${from.container}) to ${to.target} (container ${to.container}) failed: ${message}`);
    }
  }

  /** --delete-state, once the deployment is recorded: the plugin's collect-garbage of the state left behind; throws naming what is left. */
  async deleteObsolete(generation: number): Promise<void> {
    const { context } = this;
    const left: string[] = [];
    for (const m of obsoleteState(this.deactivations, this.next, this.options, this.stateless)) {
      const event = { event: 'state', target: m.target, service: m.service, container: m.container, action: 'delete-state' } as const;
      try {
        await operateOnState(context.stateTarget(m.target), m, 'collect-garbage', context.steps);
        context.reporter.emit({ ...event, status: 'done' });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        context.reporter.emit({ ...event, status: 'failed', detail: message });
        left.push(`${m.service} on ${m.target} (container ${m.container}): ${message.split('\n')[0]}`);
      }
    }
    if (left.length > 0) {
      throw stateFailed(`the deployment is in place and recorded as generation ${generation}, but deleting the obsolete state failed (run dysnomia collect-garbage there):\n${left.map((l) => `  - ${l}`).join('\n')}`);
    }
  }
}
