import path from 'node:path';
import { componentNameOf } from '@dysnomia/engine/internal/components.js';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import type { Operation } from '@dysnomia/engine/internal/plugin.js';
import { queryLatest, missingSnapshots } from '@dysnomia/engine/internal/snapshots/query.js';
import { adoptSnapshot } from '@dysnomia/engine/internal/snapshots/archive.js';
import { assertSegment, parseSnapshotPath, relativeSnapshotPath } from '@dysnomia/engine/internal/snapshots/names.js';
import { askSnapshots } from '../remote/agent-link.js';
import type { AgentLink } from '../remote/agent-link.js';
import type { DeployedMapping } from './deployment.js';
import { operationRequestOf } from './deployment.js';
import type { Reporter, StateAction } from './progress.js';
import type { TargetSession } from './target-session.js';

/*
 * The state of services (Disnix's snapshot, restore and migration): a
 * mapping's snapshots are taken on its target by its plugin's snapshot
 * operation, kept there in Dysnomia's layout, retrieved into this machine's
 * copy of that target's snapshots and sent from there to a target that lacks
 * them; restore runs the plugin's restore operation on the target.
 */

/**
 * This machine's copy of a target's snapshots: Dysnomia's layout
 * (snapshots/, generations/, checksums/) under STATEDIR/target-snapshots/TARGET,
 * one per target, so two targets' snapshots of the same container and
 * component never mix, nor with this machine's own.
 */
export function coordinatorSnapshotsOf(stateDir: string, target: string): string {
  // Target names are checked by the models; a record read back must not reach outside either.
  return path.join(stateDir, 'target-snapshots', assertSegment('target', target));
}

/** The component's name in the snapshot layout (the entry's name without its hash), as the engine on the target names it. */
export function componentOfMapping(m: DeployedMapping): string {
  return componentNameOf(path.posix.join('store', m.entry));
}

/** One target as the state steps need it: its session (transfers) and agent (requests). */
export interface StateTarget {
  session: TargetSession;
  link: AgentLink;
  /** The store entry shipping the module of a type the target has no other way to run (see TargetPlugins.moduleEntry). */
  moduleEntry?: (type: string) => string | undefined;
}

export interface StateSteps {
  /** This machine's state folder. */
  stateDir: string;
  reporter: Reporter;
  /** Module output lines of the operations, as the orchestrator shows them. */
  onLine?: (m: DeployedMapping, action: string, line: string) => void;
}

function stateFailure(m: DeployedMapping, action: StateAction, error: unknown): DysnomiaError {
  const message = error instanceof Error ? error.message : String(error);
  return new DysnomiaError(error instanceof DysnomiaError ? error.code : 'ERR_DYSNOMIA_DEPLOY_FAILED', `${action} of ${m.service} on ${m.target} (container ${m.container}) failed: ${message}`, {
    exitCode: EXIT_OPERATION_FAILED,
  });
}

/** Runs the plugin's snapshot, restore or collect-garbage operation of a mapping on its target. */
export async function operateOnState(where: StateTarget, m: DeployedMapping, operation: Extract<Operation, 'snapshot' | 'restore' | 'collect-garbage'>, steps: StateSteps): Promise<void> {
  const moduleEntry = where.moduleEntry?.(m.type);
  const answer = await where.link.request(
    operationRequestOf(m, operation, { moduleEntry }),
    (line) => steps.onLine?.(m, operation, line),
  );
  if (!answer.ok) throw new DysnomiaError(answer.code, answer.error, { exitCode: answer.exitCode });
}

/** The relative path (CONTAINER/COMPONENT/ID) of the latest snapshot of a mapping on its target; undefined: it has none. */
async function latestOnTarget(where: StateTarget, m: DeployedMapping): Promise<string | undefined> {
  return (await askSnapshots(where.link, m.target, { action: 'query', which: 'latest', container: m.container, component: componentOfMapping(m) })).paths[0];
}

/**
 * Takes a snapshot of a mapping on its target and retrieves it into this
 * machine's copy of the target's snapshots (only when that copy lacks it).
 * Returns the snapshot's path there, or undefined when the plugin kept no
 * snapshot (a stateless type).
 */
export async function snapshotAndRetrieve(where: StateTarget, m: DeployedMapping, steps: StateSteps): Promise<string | undefined> {
  const emit = (action: StateAction, status: 'done' | 'skipped', extra: { snapshot?: string; bytes?: number; detail?: string } = {}) =>
    steps.reporter.emit({ event: 'state', target: m.target, service: m.service, container: m.container, action, status, ...extra });
  try {
    await operateOnState(where, m, 'snapshot', steps);
  } catch (error) {
    throw stateFailure(m, 'snapshot', error);
  }
  let latest: string | undefined;
  try {
    latest = await latestOnTarget(where, m);
    if (latest === undefined) {
      emit('snapshot', 'skipped', { detail: 'the plugin keeps no snapshots' });
      return undefined;
    }
    emit('snapshot', 'done', { snapshot: latest });
    const bytes = await retrieve(where, m, latest, steps.stateDir);
    emit('retrieve', 'done', { snapshot: latest, bytes });
    return latest;
  } catch (error) {
    throw stateFailure(m, 'retrieve', error);
  }
}

/** Brings the target's snapshot `relative` into this machine's copy of its snapshots, as that component's latest generation. */
async function retrieve(where: StateTarget, m: DeployedMapping, relative: string, stateDir: string): Promise<number> {
  const root = coordinatorSnapshotsOf(stateDir, m.target);
  const { container, component } = parseSnapshotPath(relative);
  if ((await missingSnapshots(root, [relative])).length === 0) {
    await adoptSnapshot(root, relative);
    return 0;
  }
  return where.session.fetchSnapshots([relative], { root, container, component });
}

/** The latest snapshot this machine keeps of a mapping (from its target's copy), if any. */
export async function latestHere(stateDir: string, m: DeployedMapping): Promise<string | undefined> {
  return (await queryLatest(coordinatorSnapshotsOf(stateDir, m.target), { container: m.container, component: componentOfMapping(m) }))[0];
}

/**
 * Sends the snapshot `relative` of this machine's copy of `from`'s snapshots
 * to mapping `m`'s target, as the latest generation of its container and
 * component there (only its contents when the target lacks them), then runs
 * the plugin's restore operation.
 */
export async function sendAndRestore(where: StateTarget, m: DeployedMapping, source: { from: string; relative: string }, steps: StateSteps): Promise<void> {
  const emit = (action: StateAction, extra: { snapshot?: string; bytes?: number } = {}) =>
    steps.reporter.emit({ event: 'state', target: m.target, service: m.service, container: m.container, action, status: 'done', ...extra });
  const { id } = parseSnapshotPath(source.relative);
  const destination = relativeSnapshotPath(m.container, componentOfMapping(m), id);
  try {
    const { missing } = await askSnapshots(where.link, m.target, { action: 'missing', paths: [destination] });
    let bytes = 0;
    if (missing.length > 0) {
      bytes = await where.session.sendSnapshots(coordinatorSnapshotsOf(steps.stateDir, source.from), [source.relative], { container: m.container, component: componentOfMapping(m) });
    } else await askSnapshots(where.link, m.target, { action: 'adopt', path: destination });
    emit('send', { snapshot: destination, bytes });
  } catch (error) {
    throw stateFailure(m, 'send', error);
  }
  try {
    await operateOnState(where, m, 'restore', steps);
  } catch (error) {
    throw stateFailure(m, 'restore', error);
  }
  emit('restore', { snapshot: destination });
}

/** Removes all but the last `keep` snapshot generations of a mapping's component on its target (dysnomia-snapshots --gc). */
export async function cleanSnapshots(where: StateTarget, target: string, filter: { keep: number; container?: string; component?: string }): Promise<{ generations: string[]; snapshots: string[] }> {
  return askSnapshots(where.link, target, { action: 'gc', ...filter });
}
