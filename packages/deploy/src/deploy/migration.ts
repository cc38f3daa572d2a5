import type { DeployedMapping, Deployment } from './deployment.js';
import { isActivated } from './transition.js';

/** deploy's state options (Disnix's --deploy-state, --delete-state, --no-migration). */
export interface MigrationOptions {
  /** false with --no-migration: no state moves. */
  enabled: boolean;
  /** --deploy-state: every service whose deployState is not false counts as deployState: true. */
  deployStateAll: boolean;
  /** --delete-state: once the deployment is in place, the state left behind by moved deployState services is deleted (collect-garbage). */
  deleteState: boolean;
}

export const NO_MIGRATION: MigrationOptions = { enabled: false, deployStateAll: false, deleteState: false };

function carriesState(m: DeployedMapping, options: MigrationOptions): boolean {
  return m.deployState ?? options.deployStateAll;
}

const place = (m: DeployedMapping) => `${m.service}\0${m.target}\0${m.container}`;

/**
 * The state moves of a transition, as Disnix's snapshot mappings define
 * them: a deployState service's mapping activated in a place (target and
 * container) where the service was not, paired with one it is deactivated
 * from, a place it no longer has. Keyed by the id of the mapping activated.
 * Whether a service carries state is the new deployment's word (the models),
 * else what the old mapping was recorded with, else --deploy-state.
 */
export function plannedMoves(deactivate: DeployedMapping[], activate: DeployedMapping[], next: Deployment, options: MigrationOptions): Map<string, DeployedMapping> {
  const moves = new Map<string, DeployedMapping>();
  if (!options.enabled) return moves;
  const placesAfter = new Set(next.mappings.map(place));
  const left = deactivate.filter((m) => isActivated(m) && !placesAfter.has(place(m)));
  const placesBefore = new Set(deactivate.map(place));
  for (const to of activate.filter(isActivated)) {
    if (placesBefore.has(place(to))) continue; // redeployed where it was: its state is there
    const index = left.findIndex((from) => from.service === to.service && (to.deployState ?? from.deployState ?? options.deployStateAll));
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
export function obsoleteState(deactivate: DeployedMapping[], next: Deployment, options: MigrationOptions): DeployedMapping[] {
  if (!options.enabled || !options.deleteState) return [];
  const placesAfter = new Set(next.mappings.map(place));
  const flagOf = new Map(next.mappings.map((m) => [m.service, m.deployState]));
  return deactivate.filter((m) => isActivated(m) && !placesAfter.has(place(m)) && (flagOf.get(m.service) ?? carriesState(m, options)));
}
