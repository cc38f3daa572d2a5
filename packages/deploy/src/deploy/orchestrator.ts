import type { AgentLink } from '../remote/agent-link.js';
import type { AgentAnswers } from '@dysnomia/engine/internal/agent/protocol.js';
import { createDeployHooks } from '@dysnomia/engine/internal/deploy-hooks.js';
import type { DeployHooks, MappingContext } from '@dysnomia/engine/internal/deploy-hooks.js';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import { currentHolder, sameHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import { lockTargets } from './locking.js';
import type { LockHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import { closeAll, errorText, forEachLimited, openSessions, sameSet, stateOf, targetMessage, transferAll } from './deploy-packages.js';
import type { DeployOptions, DeployResult } from './deploy-packages.js';
import type { PlannedMapping } from './progress.js';
import type { DeployedMapping, Deployment } from './deployment.js';
import { operationRequestOf, sameDeployment } from './deployment.js';
import { faultPoint, pausePoint } from './fault-injection.js';
import { planTargetPlugins } from './target-plugins.js';
import type { TargetPlugins } from './target-plugins.js';
import type { TypePlugins } from './type-plugins.js';
import type { Manifest } from './manifests.js';
import type { DeploymentRecords } from './state/state-backend.js';
import type { EarlyConnections, PlanRequest, TargetSession } from './target-session.js';
import { isActivated, planTransition, reversed, runGraph, stepLabel } from './transition.js';
import { lockServices, unlockServices } from './service-locks.js';
import type { Transition } from './transition.js';
import { plannedMoves, StateMoves, statelessTypesOf } from './migration.js';
import type { MigrationOptions } from './migration.js';

export interface OrchestratorOptions extends Omit<DeployOptions, 'infrastructure' | 'targets'> {
  dryRun: boolean;
  /** Break a profile lock whose holder is known to be gone. */
  breakStaleLock: boolean;
  /** Operations at once per target; default: the target's numOfCores, else its core count. */
  activationsPerTarget?: number;
  /** Finds the plugin packages of the services' types here; each target is sent those its services need. */
  typePlugins: TypePlugins;
  /** Plugins' debug lines from the targets too. */
  debug?: boolean;
  /** Connections opened while the components were built (see EarlyConnections). */
  early?: EarlyConnections;
  /** The orchestrator's hooks, with the config's plugins applied (deployHooksFor); none tapped when not given. */
  hooks?: DeployHooks;
  /** false: the transition is a step of a larger one (a layered deployment's): put in place, not recorded (default true). */
  record?: boolean;
  /** --no-lock: the services' lock and unlock operations are not asked (the profile locks are still taken). */
  noLock?: boolean;
  /** --no-upgrade: no transition from what the targets run: nothing is deactivated, every mapping of the new deployment is activated. */
  noUpgrade?: boolean;
  /** --no-target-profiles: the targets' profiles are left as they are. */
  noTargetProfiles?: boolean;
  /** Whether deployState services' state moves with them, and whether the state left behind is deleted (default: moves, kept). */
  migration?: MigrationOptions;
}

/** A deployment of nothing: where --no-upgrade starts from. */
function nothingDeployed(profile: string): Deployment {
  return { profile, targets: {}, mappings: [], profiles: {} };
}

/** Where the transition goes: a new deployment (recorded as the next generation) or a recorded one (--rollback, --switch-to-generation). */
export type TransitionTarget = { kind: 'new'; deployment: Deployment } | { kind: 'recorded'; manifest: Manifest };

/** A mapping as the plan names it to people. */
function planned(m: DeployedMapping): PlannedMapping {
  return { service: m.service, target: m.target, container: m.container, type: m.type };
}

/** Migration is on unless --no-migration: a deployState service's state moves with it. */
function migrationOf(options: Pick<OrchestratorOptions, 'migration'>): MigrationOptions {
  return options.migration ?? { enabled: true, deployStateAll: false, deleteState: false };
}

/** A failure while deploying: exit status 1 and the step named. */
function failed(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_DEPLOY_FAILED', message, { exitCode: EXIT_OPERATION_FAILED });
}

/**
 * The deployment the targets say they run (their own records), reached
 * through the targets of both ends of the transition. Services of type
 * package run nothing: they are in the profiles (made right after the
 * operations), so for them this machine's record stands.
 */
function actualDeployment(records: Map<string, DeployedMapping[]>, next: Deployment, old: Manifest | undefined): Deployment {
  const activated = [...records].flatMap(([target, list]) => list.filter((m) => m.target === target));
  const packages = (old?.mappings ?? []).filter((m) => !isActivated(m));
  return { profile: next.profile, targets: { ...(old?.targets ?? {}), ...next.targets }, mappings: [...activated, ...packages], profiles: {} };
}

/** Operations a transition runs: services of type package only go into the profiles. */
function operations(plan: Transition): { deactivate: DeployedMapping[]; activate: DeployedMapping[] } {
  return { deactivate: plan.deactivate.filter(isActivated), activate: plan.activate.filter(isActivated) };
}

/**
 * Moves the targets to `to` from what they run. The targets are asked what
 * they run (their own records, kept by their agents after every operation)
 * and, unless that is already `to` and no lock is held, locked; under the
 * locks they are asked again and the transition is planned from their
 * answer, so a run after an interruption at any point converges. Then: what
 * they lack is sent, every running service's lock operation is asked,
 * obsolete mappings are deactivated (dependants first) and new ones
 * activated (dependencies first, in parallel per target), the targets'
 * profiles switch and the deployment is recorded here. A failure anywhere
 * undoes every operation of the run on every target that can be reached.
 */
export async function runTransition(to: TransitionTarget, options: OrchestratorOptions): Promise<DeployResult> {
  const { reporter, profile, store } = options;
  const hooks = options.hooks ?? createDeployHooks();
  const state = stateOf(options);
  const manifests = state.records(profile);
  const next: Deployment = to.kind === 'new' ? to.deployment : to.manifest;
  // One holder here and on every target: a local target sharing this state folder finds its own lock, not another deploy's.
  const holder = currentHolder();
  const release = options.dryRun ? async () => {} : await state.lockProfile(profile, options, holder);
  const failures = new Map<string, string>();
  let sessions = new Map<string, TargetSession>();
  try {
    const old = await manifests.current();
    const infrastructure = { ...(old?.targets ?? {}), ...next.targets };
    const targets = Object.keys(infrastructure);
    reporter.emit({ event: 'start', profile, targets, dryRun: options.dryRun });
    const transitionEvent = (plan: Transition) =>
      reporter.emit({
        event: 'transition',
        ...(old ? { from: old.generation } : {}),
        ...(to.kind === 'recorded' ? { to: to.manifest.generation } : {}),
        deactivate: plan.deactivate.map((m) => m.id),
        activate: plan.activate.map((m) => m.id),
        unchanged: plan.unchanged.length,
        plan: { deactivate: plan.deactivate.map(planned), activate: plan.activate.map(planned) },
      });
    // The plan is known: a plugin may refuse it, before anything changes.
    const planKnown = (plan: Transition, dryRun: boolean) =>
      hooks.plan.promise({
        profile,
        deployment: next,
        fromGeneration: old?.generation,
        transition: { deactivate: plan.deactivate, activate: plan.activate, unchanged: plan.unchanged },
        dryRun,
      });

    const plans = new Map<string, PlanRequest>();
    for (const name of targets) plans.set(name, { profile, closure: await store.closure(next.profiles[name] ?? []) });
    const deployOptions: DeployOptions = { ...options, infrastructure, targets };
    // Every type is resolved before anything is sent: a type nothing serves stops the deployment here (exit status 2).
    const plugins = await planTargetPlugins({ mappings: [...(old?.mappings ?? []), ...next.mappings], typePlugins: options.typePlugins, store, log: options.log });
    sessions = await openSessions(deployOptions, failures, {
      install: !options.dryRun,
      // A deployment other than the recorded one will want the agents: their start overlaps the connections and the first look.
      startAgents: !options.dryRun && !(old !== undefined && sameDeployment(old, next)),
      plans,
      runtimes: plugins.runtimes,
      types: plugins.unresolved,
      check: (answers) => plugins.check(answers),
      ...(options.early ? { early: options.early } : {}),
    });
    if (failures.size > 0) return finish(false);

    // A first look without a lock: enough for a dry run's plan, and to see that there is nothing to do.
    const seen = new Map<string, { activated: DeployedMapping[]; lock: LockHolder | null }>();
    for (const [name, session] of sessions) {
      const observed = await session.observed(profile);
      if (observed !== undefined) seen.set(name, observed);
    }
    const complete = seen.size === sessions.size;
    const firstLook = planTransition(options.noUpgrade ? nothingDeployed(profile) : actualDeployment(new Map([...seen].map(([n, o]) => [n, o.activated])), next, old), next);
    const recorded = old !== undefined && sameDeployment(old, next);

    if (options.dryRun) {
      transitionEvent(firstLook);
      await planKnown(firstLook, true);
      await transferAll(sessions, plans, options, failures);
      const { deactivate, activate } = operations(firstLook);
      for (const m of deactivate) reporter.emit({ event: 'step', target: m.target, action: 'deactivate', service: m.service, container: m.container, status: 'planned' });
      for (const m of activate) reporter.emit({ event: 'step', target: m.target, action: 'activate', service: m.service, container: m.container, status: 'planned' });
      const stateless = await statelessTypesOf([...firstLook.deactivate, ...firstLook.activate], migrationOf(options), options.typePlugins);
      for (const [, from] of plannedMoves(firstLook.deactivate, firstLook.activate, next, migrationOf(options), stateless)) {
        reporter.emit({ event: 'step', target: from.target, action: 'migrate-state', service: from.service, container: from.container, status: 'planned' });
      }
      return finish(failures.size === 0);
    }

    const firstOps = operations(firstLook);
    // A local target sharing this state folder shows this very deploy's lock: that one does not count.
    const unlocked = [...seen.values()].every((o) => o.lock === null || sameHolder(o.lock, holder));
    const profilesDone = options.noTargetProfiles === true || (await profilesCurrent(sessions, next, profile));
    if (complete && unlocked && recorded && firstOps.activate.length === 0 && firstOps.deactivate.length === 0 && profilesDone) {
      // The targets run what is asked and nobody holds them: nothing to lock, nothing to change.
      transitionEvent(firstLook);
      await planKnown(firstLook, false);
      for (const [name, session] of sessions) {
        const current = await session.current(profile);
        reporter.emit({ event: 'profile', target: name, profile, generation: current?.generation ?? 0, changed: false });
      }
      return finish(true);
    }

    const links = new Map<string, AgentLink>();
    await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => void links.set(name, await sessions.get(name)!.agent()));
    const lockedTargets: string[] = [];
    try {
      await lockTargets(links, holder, lockedTargets, options);
      faultPoint('after-lock', (target) => sessions.get(target)?.cut());
      // Under the locks, the targets' own word on what they run is the starting point.
      const records = new Map<string, DeployedMapping[]>();
      const recordedPackages = new Map<string, DeployedMapping[]>();
      await forEachLimited([...links.keys()], options.maxConcurrent, async (name) => {
        const answer = await links.get(name)!.request({ kind: 'activations', profile });
        if (!answer.ok) throw failed(`target "${name}": cannot read what profile "${profile}" runs there: ${answer.error}`);
        const record = answer.result as AgentAnswers['activations'];
        records.set(name, record.mappings);
        recordedPackages.set(name, record.packages);
      });
      const actual = options.noUpgrade ? nothingDeployed(profile) : actualDeployment(records, next, old);
      const plan = planTransition(actual, next);
      transitionEvent(plan);
      await planKnown(plan, false);
      await transferAll(sessions, plans, options, failures);
      if (failures.size > 0) return finish(false);
      faultPoint('after-transfer', (target) => sessions.get(target)?.cut());
      await pausePoint('after-transfer');
      await runLocked({ links, sessions, plan, actual, recordedPackages, old, next, to, manifests, options, failures, plugins, recorded, hooks });
    } finally {
      await Promise.all(lockedTargets.map((name) => links.get(name)!.request({ kind: 'unlock', profile, holder }).catch(() => undefined)));
    }
    return finish(failures.size === 0);
  } catch (error) {
    if (error instanceof DysnomiaError && error.exitCode !== EXIT_OPERATION_FAILED) throw error;
    const where = failures.size === 0 ? 'deploy' : [...failures.keys()][0]!;
    failures.set(where, errorText(error));
    reporter.emit({ event: 'failed', target: where, error: errorText(error), ...(error instanceof DysnomiaError ? { code: error.code } : {}) });
    return finish(false);
  } finally {
    closeAll(sessions);
    await release();
  }

  function finish(ok: boolean): DeployResult {
    reporter.emit({ event: 'done', ok, failed: [...failures.keys()] });
    return { ok, failed: failures };
  }
}

/** Whether every target's profile already holds exactly the deployment's entries. */
async function profilesCurrent(sessions: Map<string, TargetSession>, next: Deployment, profile: string): Promise<boolean> {
  for (const [name, session] of sessions) {
    const current = await session.current(profile);
    if (current === undefined || current === null || !sameSet(current.packages, next.profiles[name] ?? [])) return false;
  }
  return true;
}

interface LockedRun {
  links: Map<string, AgentLink>;
  sessions: Map<string, TargetSession>;
  plan: Transition;
  /** What the targets said they run, under their locks. */
  actual: Deployment;
  /** Each target's record of the profile's services of type package, under the locks. */
  recordedPackages: Map<string, DeployedMapping[]>;
  /** The deployment recorded here before this run. */
  old: Manifest | undefined;
  next: Deployment;
  to: TransitionTarget;
  manifests: DeploymentRecords;
  options: OrchestratorOptions;
  failures: Map<string, string>;
  plugins: TargetPlugins;
  /** The recorded deployment already is `next`: no new generation. */
  recorded: boolean;
  hooks: DeployHooks;
}

/** The operations a transition runs one request each (lock and unlock go per target: service-locks.ts). */
type MappingOperation = 'activate' | 'deactivate';

const VERB: Record<MappingOperation, string> = { activate: 'activating', deactivate: 'deactivating' };

const MAPPING_HOOKS = {
  activate: { before: 'beforeActivate', after: 'afterActivate' },
  deactivate: { before: 'beforeDeactivate', after: 'afterDeactivate' },
} as const;

/** Mappings in the order of their ids, to compare lists whatever their order. */
function byId(mappings: DeployedMapping[]): DeployedMapping[] {
  return [...mappings].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** What a target keeps of a mapping: the service's own properties (health checks and the like) stay with the coordinator. */
function targetRecordOf(m: DeployedMapping): DeployedMapping {
  const { serviceProperties: _kept, ...record } = m;
  return record;
}

async function runLocked(run: LockedRun): Promise<void> {
  const { links, sessions, plan, actual, recordedPackages, old, next, to, manifests, options, failures, plugins, hooks } = run;
  const { reporter, profile } = options;
  const cut = (target: string) => sessions.get(target)?.cut();
  const hookFailed = (hook: string, error: unknown) => reporter.emit({ event: 'hook-failed', hook, error: errorText(error) });
  // Mappings whose operation ran in this run, those whose after-hook then failed too: the rollback undoes these.
  const performed = { activate: [] as DeployedMapping[], deactivate: [] as DeployedMapping[] };
  /** `deferRecord`: the target's record changes later (a migrated service: once its state has moved). */
  const operate = async (m: DeployedMapping, operation: MappingOperation, undo = false, { deferRecord = false } = {}): Promise<void> => {
    const link = links.get(m.target)!;
    const moduleEntry = plugins.moduleEntry(m.target, m.type);
    // The target keeps its own record of what runs, so a later deploy can plan from it whatever happens here.
    const request = operationRequestOf(m, operation, { moduleEntry, record: deferRecord ? undefined : { profile, mapping: targetRecordOf(m) } });
    const base = { target: m.target, action: operation, service: m.service, container: m.container, ...(undo ? { undo: true } : {}) };
    const fail = (error: string) => {
      reporter.emit({ event: 'step', ...base, status: 'failed', error });
      return failed(`${stepLabel(VERB[operation], m)} failed: ${error}`);
    };
    // What the modules (and the taps) print reaches the user as it comes, named by target and service.
    const onLine = (line: string) => reporter.emit({ event: 'output', target: m.target, service: m.service, action: operation, line: line.replace(/^dysnomia: /, '') });
    const context: MappingContext = { profile, mapping: m, target: next.targets[m.target] ?? old?.targets[m.target], undo, log: onLine };
    const tapped = async (hook: keyof typeof MAPPING_HOOKS, when: 'before' | 'after') => {
      const name = MAPPING_HOOKS[hook][when];
      try {
        await hooks[name].promise(context);
      } catch (error) {
        // A tap cannot stop a rollback step: its error is said and the undo goes on.
        if (undo) hookFailed(name, error);
        else throw fail(errorText(error));
      }
    };
    await tapped(operation, 'before');
    reporter.emit({ event: 'step-started', ...base });
    const answer = await link.request(request, onLine).catch((error: unknown) => {
      throw fail(errorText(error));
    });
    if (!answer.ok) throw fail(answer.error);
    if (!undo) performed[operation].push(m);
    reporter.emit({ event: 'step', ...base, status: 'done' });
    await tapped(operation, 'after');
    if (!undo) faultPoint(operation === 'activate' ? 'after-activate' : 'after-deactivate', cut);
  };
  /** The transition failed: the plugins hear it before the rollback; their own errors are only said. */
  const transitionFailed = async (error: unknown, mapping?: DeployedMapping) => {
    try {
      await hooks.transitionFailed.promise({ profile, error: error instanceof Error ? error : new Error(String(error)), mapping });
    } catch (tapError) {
      hookFailed('transitionFailed', tapError);
    }
  };
  const limitOf = (target: string) => options.activationsPerTarget ?? next.targets[target]?.numOfCores ?? old?.targets[target]?.numOfCores ?? links.get(target)?.hello.cores ?? 1;

  // Lock: every service the targets run for the profile may refuse the transition (not asked with --no-lock); one request per target.
  const running = options.noLock ? [] : actual.mappings.filter(isActivated);
  const serviceLocking = { links, reporter, limitOf, moduleEntry: (target: string, type: string) => plugins.moduleEntry(target, type) };
  const unlockAll = (list: DeployedMapping[]) => unlockServices(serviceLocking, list);
  const { locked: lockedServices, refusal } = await lockServices(serviceLocking, running);
  if (refusal) {
    await transitionFailed(refusal.error, refusal.mapping);
    await unlockAll(lockedServices);
    throw failed(`a service refused the lock, nothing changed: ${refusal.error.message}`);
  }

  const { deactivate: deactivations, activate: activations } = operations(plan);
  // State moves (deployState): snapshot where the service was (deactivated by then), through this machine, restored where it goes before its dependants activate.
  const migration = migrationOf(options);
  const stateMoves = new StateMoves(deactivations, activations, next, migration, await statelessTypesOf([...deactivations, ...activations], migration, options.typePlugins), {
    profile,
    reporter,
    steps: { stateDir: options.store.stateDir, reporter, onLine: (m, action, line) => reporter.emit({ event: 'output', target: m.target, service: m.service, action, line: line.replace(/^dysnomia: /, '') }) },
    stateTarget: (target) => ({ session: sessions.get(target)!, link: links.get(target)!, moduleEntry: (type) => plugins.moduleEntry(target, type) }),
    recordOf: targetRecordOf,
    cut,
  });
  const deactivated = await runGraph(deactivations, plan.deactivationWaits, limitOf, (m) => operate(m, 'deactivate', false, { deferRecord: stateMoves.defersRecord(m) }));
  const activated = deactivated.failure
    ? { done: [] as DeployedMapping[] }
    : await runGraph(activations, plan.activationWaits, limitOf, async (m) => {
        await operate(m, 'activate', false, { deferRecord: stateMoves.defersRecord(m) });
        await stateMoves.afterActivation(m);
      });
  const failure = deactivated.failure ?? ('failure' in activated ? activated.failure : undefined);

  /**
   * Undoes this run's operations on every target that answers, in dependency
   * order, going on past a step that fails; returns what could not be undone.
   */
  const rollBack = async (reason: string): Promise<string[]> => {
    const left: string[] = [];
    const collect = (outcome: Awaited<ReturnType<typeof runGraph<DeployedMapping>>>, verb: string) => {
      for (const f of outcome.failures ?? []) left.push(`${verb} ${f.item.service} on ${f.item.target}: ${errorText(f.error).split('\n')[0]}`);
      for (const m of outcome.skipped ?? []) left.push(`${verb} ${m.service} on ${m.target}: not tried (it waits for a step that failed)`);
    };
    const { activate: activatedHere, deactivate: deactivatedHere } = performed;
    collect(await runGraph(activatedHere, reversed(activatedHere, plan.activationWaits), limitOf, (m) => operate(m, 'deactivate', true), { keepGoing: true }), 'deactivating');
    collect(await runGraph(deactivatedHere, reversed(deactivatedHere, plan.deactivationWaits), limitOf, (m) => operate(m, 'activate', true), { keepGoing: true }), 'reactivating');
    reporter.emit({ event: 'undone', profile, generation: old?.generation ?? null, failed: reason.split('\n')[0]! });
    return left;
  };
  const rolledBack = (left: string[]) =>
    left.length === 0
      ? old
        ? `rolled back to the previous deployment (deployment generation ${old.generation})`
        : 'rolled back: there was no previous deployment, and what this one activated is deactivated again'
      : `rolling back left ${left.length} step${left.length === 1 ? '' : 's'} undone:\n${left.map((l) => `  - ${l}`).join('\n')}\n` +
        'Each target keeps its own record of what runs on it: run this deploy again (or the previous one) to finish.';

  if (failure) {
    const reason = errorText(failure.error);
    await transitionFailed(failure.error, failure.item);
    const left = await rollBack(reason);
    await unlockAll(lockedServices);
    failures.set(failure.item.target, reason);
    throw failed(`${reason}\n${rolledBack(left)}`);
  }

  // Profiles follow the services: each target's profile gets its components (targets left behind get an empty one).
  const switched: Array<{ name: string; previous: number | null; generation: number }> = [];
  // The targets' records of their services of type package follow their profiles (query and reconstruct read them).
  const packagesRecorded: string[] = [];
  const profileOnlyOn = (deployment: Deployment | undefined, name: string) =>
    (deployment?.mappings ?? []).filter((m) => m.target === name && !isActivated(m)).map(targetRecordOf);
  const recordPackages = async (name: string, mappings: DeployedMapping[]) => {
    const answer = await links.get(name)!.request({ kind: 'record-packages', profile, mappings });
    if (!answer.ok) throw new DysnomiaError(answer.code, answer.error, { exitCode: answer.exitCode });
  };
  /** Records a target's services of type package unless its record holds them already (the usual redeploy: one request fewer per target). */
  const packagesFollow = async (name: string, mappings: DeployedMapping[]) => {
    if (JSON.stringify(byId(recordedPackages.get(name) ?? [])) === JSON.stringify(byId(mappings))) return;
    await recordPackages(name, mappings);
    packagesRecorded.push(name);
  };
  let profileError: unknown;
  // --no-target-profiles: the targets' profiles stay as they are.
  await forEachLimited(options.noTargetProfiles ? [] : [...sessions.keys()], options.maxConcurrent, async (name) => {
    if (profileError !== undefined) return;
    const session = sessions.get(name)!;
    try {
      const wanted = next.profiles[name] ?? [];
      const current = await session.current(profile);
      const profileOnly = profileOnlyOn(next, name);
      if (current && sameSet(current.packages, wanted)) {
        await packagesFollow(name, profileOnly);
        reporter.emit({ event: 'profile', target: name, profile, generation: current.generation, changed: false });
        return;
      }
      const previous = (await session.generations(profile)).find((g) => g.current)?.generation ?? null;
      // Packages are merged whole; of activated services only etc/ (the containers and modules they provide).
      const packages = new Set(profileOnly.map((m) => m.entry));
      const result = await session.install(profile, wanted.filter((e) => packages.has(e)), wanted.filter((e) => !packages.has(e)));
      if (result.changed) switched.push({ name, previous, generation: result.generation });
      await packagesFollow(name, profileOnly);
      reporter.emit({ event: 'profile', target: name, profile, ...result });
    } catch (error) {
      profileError ??= error;
      failures.set(name, targetMessage(name, error));
    }
  });
  if (profileError === undefined) {
    try {
      await hooks.profilesSwitched.promise({ profile, switched: switched.map((s) => ({ target: s.name, generation: s.generation, previous: s.previous })) });
    } catch (error) {
      profileError = error;
    }
  }
  if (profileError !== undefined) {
    await transitionFailed(profileError);
    for (const s of switched) await sessions.get(s.name)!.undoInstall(profile, s.previous, s.generation).catch(() => undefined);
    for (const name of packagesRecorded) await recordPackages(name, profileOnlyOn(old, name)).catch(() => undefined);
    const left = await rollBack(errorText(profileError));
    await unlockAll(lockedServices);
    throw failed(`switching the profiles failed: ${errorText(profileError)}\n${rolledBack(left)}`);
  }
  faultPoint('after-profiles', cut);

  if (options.record === false) {
    // A step of a larger transition (a layer keeping its old containers for the layers above): in place, not recorded.
    const kept = new Set(plan.unchanged.map((m) => m.id));
    await unlockAll(lockedServices.filter((m) => kept.has(m.id)));
    return;
  }
  // A new deployment is recorded and made current in one step; a recorded one is made current.
  const existing = to.kind === 'recorded' ? to.manifest.generation : run.recorded && old ? old.generation : undefined;
  const generation = existing ?? (await manifests.recordCurrent(next)).generation;
  if (existing !== undefined) await manifests.setCurrent(existing);
  reporter.emit({ event: 'manifest', profile, generation, file: manifests.where(generation) });
  faultPoint('after-record', cut);
  // Services locked before the transition and still running are unlocked; deactivated ones are gone.
  const kept = new Set(plan.unchanged.map((m) => m.id));
  await unlockAll(lockedServices.filter((m) => kept.has(m.id)));
  // --delete-state: only now, with nothing left to roll back to, does the state left behind go (its snapshots stay).
  await stateMoves.deleteObsolete(generation);
  try {
    await hooks.deploymentRecorded.promise({ profile, generation, deployment: next });
  } catch (error) {
    throw failed(`the deployment is in place and recorded as generation ${generation}, but ${errorText(error)}`);
  }
}
