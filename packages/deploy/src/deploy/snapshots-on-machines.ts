import { currentHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import { usageError as usage } from '@dysnomia/engine/internal/errors.js';
import type { Infrastructure } from '../models/infrastructure.js';
import { closeAll, failedEvent, forEachLimited, openSessions, stateOf, targetMessage } from './deploy-packages.js';
import type { DeployOptions, DeployResult } from './deploy-packages.js';
import type { DeployedMapping } from './deployment.js';
import type { Manifest } from './manifests.js';
import { cleanSnapshots, componentOfMapping, latestHere, operateOnState, sendAndRestore, snapshotAndRetrieve } from './service-state.js';
import type { StateSteps, StateTarget } from './service-state.js';
import { planTargetPlugins } from './target-plugins.js';
import { isActivated } from './transition.js';
import type { TypePlugins } from './type-plugins.js';

/** Disnix's disnix-snapshot, disnix-restore and disnix-clean-snapshots, over the targets of a recorded deployment or an infrastructure. */
export type SnapshotsCommand = 'snapshot' | 'restore' | 'clean-snapshots';

export interface SnapshotsOnMachinesOptions extends Omit<DeployOptions, 'targets' | 'cwd'> {
  command: SnapshotsCommand;
  /** Every mapping of the profile's deployment, not only those of its last transition. */
  all: boolean;
  /** Generations to keep on the targets: clean-snapshots (default 1), or after snapshot/restore when given. */
  keep?: number;
  /** Only mappings in this container / of this component (its name, or the service's). */
  container?: string;
  component?: string;
  typePlugins: TypePlugins;
  debug?: boolean;
}


/**
 * The mappings a snapshot or restore acts on: the recorded deployment's
 * activated mappings, only those the last transition activated (those the
 * generation before lacked, as Disnix's snapshot mappings subtract the
 * previous manifest's) unless `all`, narrowed by container and component.
 */
export function selectedMappings(current: Manifest, previous: Manifest | undefined, options: Pick<SnapshotsOnMachinesOptions, 'all' | 'container' | 'component'>): DeployedMapping[] {
  const before = new Set((options.all ? [] : previous?.mappings ?? []).map((m) => m.id));
  return current.mappings.filter(
    (m) =>
      isActivated(m) &&
      !before.has(m.id) &&
      (options.container === undefined || m.container === options.container) &&
      (options.component === undefined || componentOfMapping(m) === options.component || m.service === options.component),
  );
}

/** Runs snapshot, restore or clean-snapshots on the machines; a target that fails is named and the others go on. */
export async function snapshotsOnMachines(options: SnapshotsOnMachinesOptions): Promise<DeployResult> {
  const failures = new Map<string, string>();
  const { reporter, profile } = options;
  if (options.command === 'clean-snapshots') return cleanOnInfrastructure(options.infrastructure, options, failures);

  const state = stateOf(options);
  const records = state.records(profile);
  const release = await state.lockProfile(profile, { reporter, breakStaleLock: options.breakStaleLock === true }, currentHolder());
  try {
    const current = await records.current();
    if (current === undefined) throw usage(`profile "${profile}" has no recorded deployment to ${options.command}: deploy it first (dysnomia deploy -s -i -d)`);
    const generations = await records.generations();
    const earlier = generations.filter((g) => g < current.generation).at(-1);
    const previous = earlier === undefined ? undefined : await records.read(earlier);
    const mappings = selectedMappings(current, previous, options);
    // How to reach a target: the infrastructure model's settings, else those the record kept.
    const infrastructure: Infrastructure = {};
    for (const m of mappings) infrastructure[m.target] ??= options.infrastructure[m.target] ?? current.targets[m.target]!;
    const targets = Object.keys(infrastructure);
    reporter.emit({ event: 'start', profile, targets, dryRun: false });
    if (mappings.length === 0) {
      reporter.emit({ event: 'skipped', target: 'coordinator', reason: `no ${options.all ? '' : 'newly activated '}mapping of profile "${profile}" matches${options.all ? '' : ' (--all for every mapping)'}` });
      reporter.emit({ event: 'done', ok: true, failed: [] });
      return { ok: true, failed: failures };
    }
    const plugins = await planTargetPlugins({ mappings, typePlugins: options.typePlugins, store: options.store, log: options.log });
    const sessions = await openSessions({ ...options, infrastructure, targets }, failures, { install: true, runtimes: plugins.runtimes, types: plugins.unresolved, check: (answers) => plugins.check(answers) });
    try {
      const steps: StateSteps = {
        stateDir: options.store.stateDir,
        reporter,
        onLine: (m, action, line) => reporter.emit({ event: 'output', target: m.target, service: m.service, action, line: line.replace(/^dysnomia: /, '') }),
      };
      await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => {
        const session = sessions.get(name)!;
        try {
          const where: StateTarget = { session, link: await session.agent(), moduleEntry: (type) => plugins.moduleEntry(name, type) };
          for (const m of mappings.filter((m) => m.target === name)) {
            if (options.command === 'snapshot') await snapshotAndRetrieve(where, m, steps);
            else await restoreMapping(where, m, steps);
            if (options.keep !== undefined) await cleanMapping(where, m, options.keep, options);
          }
        } catch (error) {
          failures.set(name, targetMessage(name, error));
          reporter.emit(failedEvent(name, error));
        }
      });
    } finally {
      closeAll(sessions);
    }
    reporter.emit({ event: 'done', ok: failures.size === 0, failed: [...failures.keys()] });
    return { ok: failures.size === 0, failed: failures };
  } finally {
    await release();
  }
}

/** Sends this machine's latest snapshot of the mapping where the target lacks it, and restores; with none here, restores what the target has. */
async function restoreMapping(where: StateTarget, m: DeployedMapping, steps: StateSteps): Promise<void> {
  const latest = await latestHere(steps.stateDir, m);
  if (latest !== undefined) return sendAndRestore(where, m, { from: m.target, relative: latest }, steps);
  steps.reporter.emit({ event: 'state', target: m.target, service: m.service, container: m.container, action: 'send', status: 'skipped', detail: 'no snapshot of it on this machine: restoring what the target has' });
  await operateOnState(where, m, 'restore', steps);
  steps.reporter.emit({ event: 'state', target: m.target, service: m.service, container: m.container, action: 'restore', status: 'done' });
}

async function cleanMapping(where: StateTarget, m: DeployedMapping, keep: number, options: Pick<SnapshotsOnMachinesOptions, 'reporter'>): Promise<void> {
  const removed = await cleanSnapshots(where, m.target, { keep, container: m.container, component: componentOfMapping(m) });
  options.reporter.emit({ event: 'state', target: m.target, service: m.service, container: m.container, action: 'clean', status: 'done', detail: `${removed.snapshots.length} old snapshot(s) removed` });
}

/** disnix-clean-snapshots: every target of the infrastructure removes all but the last `keep` generations of its snapshots (-C/-c narrow it). */
async function cleanOnInfrastructure(infrastructure: Infrastructure, options: SnapshotsOnMachinesOptions, failures: Map<string, string>): Promise<DeployResult> {
  const { reporter } = options;
  const targets = Object.keys(infrastructure);
  reporter.emit({ event: 'start', profile: options.profile, targets, dryRun: false });
  const sessions = await openSessions({ ...options, targets }, failures, { install: true });
  try {
    await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => {
      const session = sessions.get(name)!;
      try {
        const removed = await cleanSnapshots({ session, link: await session.agent() }, name, {
          keep: options.keep ?? 1,
          ...(options.container !== undefined ? { container: options.container } : {}),
          ...(options.component !== undefined ? { component: options.component } : {}),
        });
        reporter.emit({
          event: 'state',
          target: name,
          service: options.component ?? '*',
          container: options.container ?? '*',
          action: 'clean',
          status: 'done',
          detail: `${removed.generations.length} old generation(s) and ${removed.snapshots.length} snapshot(s) removed`,
        });
      } catch (error) {
        failures.set(name, targetMessage(name, error));
        reporter.emit(failedEvent(name, error));
      }
    });
  } finally {
    closeAll(sessions);
  }
  reporter.emit({ event: 'done', ok: failures.size === 0, failed: [...failures.keys()] });
  return { ok: failures.size === 0, failed: failures };
}
