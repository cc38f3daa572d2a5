import path from 'node:path';
import type { AgentLink } from '../agent/agent-link.js';
import type { AgentRequestBody } from '../agent/protocol.js';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { acquireLock, currentHolder, describeHolder, holderIsDead, profileLockFile, releaseLock } from '../locks/profile-lock.js';
import type { LockHolder } from '../locks/profile-lock.js';
import type { Operation } from '../plugin.js';
import { closeAll, errorText, forEachLimited, openSessions, sameSet, targetMessage, transferAll } from './deploy-packages.js';
import type { DeployOptions, DeployResult } from './deploy-packages.js';
import type { DeployedMapping, Deployment } from './deployment.js';
import { Manifests } from './manifests.js';
import { planTargetPlugins } from './target-plugins.js';
import type { TargetPlugins } from './target-plugins.js';
import type { TypePlugins } from './type-plugins.js';
import type { Manifest } from './manifests.js';
import type { EarlyConnections, PlanRequest, TargetSession } from './target-session.js';
import { isActivated, planTransition, reversed, runGraph } from './transition.js';
import type { Transition } from './transition.js';

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
}

/** Where the transition goes: a new deployment (recorded as the next generation) or a recorded one (--rollback, --switch-to-generation). */
export type TransitionTarget = { kind: 'new'; deployment: Deployment } | { kind: 'recorded'; manifest: Manifest };

function stepLabel(action: string, m: DeployedMapping): string {
  return `${action} ${m.service} on ${m.target} (container ${m.container})`;
}

/** A failure while deploying: exit status 1 and the step named. */
function failed(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_DEPLOY_FAILED', message, { exitCode: EXIT_OPERATION_FAILED });
}

function lockRefusal(where: string, profile: string, holder: LockHolder, breakStale: boolean): DysnomiaError {
  const dead = holderIsDead(holder);
  const hint = dead ? (breakStale ? '' : '; its holder is gone: pass --break-stale-lock to break it') : '; another deployment is running';
  return new DysnomiaError('ERR_DYSNOMIA_LOCKED', `profile "${profile}" ${where} is locked by ${describeHolder(holder)}${hint}`, { exitCode: EXIT_OPERATION_FAILED });
}

/**
 * Takes the coordinator's lock of a profile, breaking it only when asked and
 * its holder is gone. Returns the release function.
 */
export async function lockCoordinator(stateDir: string, profile: string, breakStale: boolean, holder: LockHolder = currentHolder()): Promise<() => Promise<void>> {
  const file = profileLockFile(stateDir, profile);
  let outcome = await acquireLock(file, holder);
  if (!outcome.acquired && breakStale && holderIsDead(outcome.holder)) outcome = await acquireLock(file, holder, outcome.holder);
  if (!outcome.acquired) throw lockRefusal('on this machine', profile, outcome.holder, breakStale);
  return async () => void (await releaseLock(file, holder));
}

/**
 * Moves the targets from the current deployment of the profile to `to`:
 * sends what they lack, takes the profile's lock on every target and asks
 * every running service's lock operation, deactivates obsolete mappings
 * (dependants first) and activates new ones (dependencies first, in parallel
 * per target), then switches the targets' profiles and records the
 * deployment here. A failure anywhere after the first operation undoes every
 * operation of the run, so the targets end as they were.
 */
export async function runTransition(to: TransitionTarget, options: OrchestratorOptions): Promise<DeployResult> {
  const { reporter, profile, store } = options;
  const manifests = new Manifests(store.stateDir, profile);
  const next: Deployment = to.kind === 'new' ? to.deployment : to.manifest;
  // One holder here and on every target: a local target sharing this state folder finds its own lock, not another deploy's.
  const holder = currentHolder();
  const release = options.dryRun ? async () => {} : await lockCoordinator(store.stateDir, profile, options.breakStaleLock, holder);
  const failures = new Map<string, string>();
  let sessions = new Map<string, TargetSession>();
  try {
    const old = await manifests.current();
    const plan = planTransition(old, next);
    const infrastructure = { ...(old?.targets ?? {}), ...next.targets };
    const targets = Object.keys(infrastructure);
    reporter.emit({ event: 'start', profile, targets, dryRun: options.dryRun });
    const sameProfiles = old !== undefined && targets.every((t) => sameSet(old.profiles[t] ?? [], next.profiles[t] ?? []));
    reporter.emit({
      event: 'transition',
      ...(old ? { from: old.generation } : {}),
      ...(to.kind === 'recorded' ? { to: to.manifest.generation } : {}),
      deactivate: plan.deactivate.map((m) => m.id),
      activate: plan.activate.map((m) => m.id),
      unchanged: plan.unchanged.length,
    });

    const plans = new Map<string, PlanRequest>();
    for (const name of targets) plans.set(name, { profile, closure: await store.closure(next.profiles[name] ?? []) });
    const deployOptions: DeployOptions = { ...options, infrastructure, targets };
    // Every type is resolved before anything is sent: a type nothing serves stops the deployment here (exit status 2).
    const plugins = await planTargetPlugins({ mappings: [...(old?.mappings ?? []), ...next.mappings], typePlugins: options.typePlugins, store, log: options.log });
    sessions = await openSessions(deployOptions, failures, {
      install: !options.dryRun,
      plans,
      runtimes: plugins.runtimes,
      types: plugins.unresolved,
      check: (answers) => plugins.check(answers),
      ...(options.early ? { early: options.early } : {}),
    });
    if (failures.size > 0) return finish(false);

    await transferAll(sessions, plans, options, failures);
    if (failures.size > 0) return finish(false);

    if (options.dryRun) {
      for (const m of plan.deactivate) if (isActivated(m)) reporter.emit({ event: 'step', target: m.target, action: 'deactivate', service: m.service, container: m.container, status: 'planned' });
      for (const m of plan.activate) if (isActivated(m)) reporter.emit({ event: 'step', target: m.target, action: 'activate', service: m.service, container: m.container, status: 'planned' });
      return finish(true);
    }

    const nothingToDo = plan.activate.length === 0 && plan.deactivate.length === 0 && sameProfiles && to.kind === 'new';
    if (nothingToDo && (await profilesCurrent(sessions, next, profile))) {
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
      await runLocked(links, sessions, plan, old, next, to, manifests, options, failures, plugins);
    } finally {
      await Promise.all(lockedTargets.map((name) => links.get(name)!.request({ kind: 'unlock', profile, holder }).catch(() => undefined)));
    }
    return finish(failures.size === 0);
  } catch (error) {
    if (error instanceof DysnomiaError && error.exitCode !== EXIT_OPERATION_FAILED) throw error;
    const where = failures.size === 0 ? 'deploy' : [...failures.keys()][0]!;
    failures.set(where, errorText(error));
    reporter.emit({ event: 'failed', target: where, error: errorText(error) });
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

async function lockTargets(links: Map<string, AgentLink>, holder: LockHolder, locked: string[], options: OrchestratorOptions): Promise<void> {
  const { profile, reporter } = options;
  for (const [name, link] of links) {
    let answer = await link.request({ kind: 'lock', profile, holder });
    if (!answer.ok && answer.holder && options.breakStaleLock && holderIsDead(answer.holder)) answer = await link.request({ kind: 'lock', profile, holder, breaking: answer.holder });
    if (!answer.ok) {
      if (answer.holder) throw lockRefusal(`on target "${name}"`, profile, answer.holder, options.breakStaleLock);
      throw failed(`target "${name}": cannot lock profile "${profile}": ${answer.error}`);
    }
    locked.push(name);
    reporter.emit({ event: 'locked', target: name, profile });
  }
}

async function runLocked(
  links: Map<string, AgentLink>,
  sessions: Map<string, TargetSession>,
  plan: Transition,
  old: Manifest | undefined,
  next: Deployment,
  to: TransitionTarget,
  manifests: Manifests,
  options: OrchestratorOptions,
  failures: Map<string, string>,
  plugins: TargetPlugins,
): Promise<void> {
  const { reporter, profile } = options;
  const operate = async (m: DeployedMapping, operation: Operation, undo = false): Promise<void> => {
    const link = links.get(m.target)!;
    const moduleEntry = plugins.moduleEntry(m.target, m.type);
    const request: AgentRequestBody = {
      kind: 'operation',
      operation,
      type: m.type,
      entry: m.entry,
      container: m.container,
      ...(m.properties ? { properties: m.properties } : {}),
      ...(moduleEntry ? { moduleEntry } : {}),
    };
    const base = { target: m.target, action: operation, service: m.service, container: m.container, ...(undo ? { undo: true } : {}) };
    const fail = (error: string) => {
      reporter.emit({ event: 'step', ...base, status: 'failed', error });
      return failed(`${stepLabel(operation === 'activate' ? 'activating' : operation === 'deactivate' ? 'deactivating' : operation === 'lock' ? 'locking' : operation === 'unlock' ? 'unlocking' : operation, m)} failed: ${error}`);
    };
    // What the modules print there reaches the user as it comes, named by target and service.
    const onLine = (line: string) => reporter.emit({ event: 'output', target: m.target, service: m.service, action: operation, line: line.replace(/^dysnomia: /, '') });
    const answer = await link.request(request, onLine).catch((error: unknown) => {
      throw fail(errorText(error));
    });
    if (!answer.ok) throw fail(answer.error);
    reporter.emit({ event: 'step', ...base, status: 'done' });
  };
  const limitOf = (target: string) => options.activationsPerTarget ?? next.targets[target]?.numOfCores ?? old?.targets[target]?.numOfCores ?? links.get(target)?.hello.cores ?? 1;

  // Lock: every service of the running deployment may refuse the transition.
  const running = (old?.mappings ?? []).filter(isActivated);
  const lockedServices: DeployedMapping[] = [];
  // Lock and unlock run on every target at once, up to each target's bound, as activations do.
  const noWaits = new Map<string, string[]>();
  const unlockAll = async (list: DeployedMapping[]) => {
    await runGraph(list, noWaits, limitOf, (m) => operate(m, 'unlock').catch(() => undefined));
  };
  const locking = await runGraph(running, noWaits, limitOf, async (m) => {
    await operate(m, 'lock');
    lockedServices.push(m);
  });
  if (locking.failure) {
    await unlockAll(lockedServices);
    throw failed(`a service refused the lock, nothing changed: ${errorText(locking.failure.error)}`);
  }

  const deactivations = plan.deactivate.filter(isActivated);
  const activations = plan.activate.filter(isActivated);
  const deactivated = await runGraph(deactivations, plan.deactivationWaits, limitOf, (m) => operate(m, 'deactivate'));
  const activated = deactivated.failure ? { done: [] as DeployedMapping[] } : await runGraph(activations, plan.activationWaits, limitOf, (m) => operate(m, 'activate'));
  const failure = deactivated.failure ?? ('failure' in activated ? activated.failure : undefined);

  const rollBack = async (reason: string): Promise<string[]> => {
    const problems: string[] = [];
    const undoActivations = await runGraph(activated.done, reversed(activated.done, plan.activationWaits), limitOf, (m) => operate(m, 'deactivate', true));
    if (undoActivations.failure) problems.push(errorText(undoActivations.failure.error));
    const redo = await runGraph(deactivated.done, reversed(deactivated.done, plan.deactivationWaits), limitOf, (m) => operate(m, 'activate', true));
    if (redo.failure) problems.push(errorText(redo.failure.error));
    reporter.emit({ event: 'undone', profile, generation: old?.generation ?? null, failed: reason.split('\n')[0]! });
    return problems;
  };

  if (failure) {
    const reason = errorText(failure.error);
    const problems = await rollBack(reason);
    await unlockAll(lockedServices);
    failures.set(failure.item.target, reason);
    throw failed(`${reason}\n${problems.length === 0 ? `rolled back to the previous deployment${old ? ` (generation ${old.generation})` : ''}` : `rolling back failed too: ${problems.join('; ')}`}`);
  }

  // Profiles follow the services: each target's profile gets its components (targets left behind get an empty one).
  const switched: Array<{ name: string; previous: number | null; generation: number }> = [];
  let profileError: unknown;
  await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => {
    if (profileError !== undefined) return;
    const session = sessions.get(name)!;
    try {
      const wanted = next.profiles[name] ?? [];
      const current = await session.current(profile);
      if (current && sameSet(current.packages, wanted)) {
        reporter.emit({ event: 'profile', target: name, profile, generation: current.generation, changed: false });
        return;
      }
      const previous = (await session.generations(profile)).find((g) => g.current)?.generation ?? null;
      // Packages are merged whole; of activated services only etc/ (the containers and modules they provide).
      const packages = new Set(next.mappings.filter((m) => m.target === name && !isActivated(m)).map((m) => m.entry));
      const result = await session.install(profile, wanted.filter((e) => packages.has(e)), wanted.filter((e) => !packages.has(e)));
      if (result.changed) switched.push({ name, previous, generation: result.generation });
      reporter.emit({ event: 'profile', target: name, profile, ...result });
    } catch (error) {
      profileError ??= error;
      failures.set(name, targetMessage(name, error));
    }
  });
  if (profileError !== undefined) {
    for (const s of switched) await sessions.get(s.name)!.undoInstall(profile, s.previous, s.generation).catch(() => undefined);
    const problems = await rollBack(errorText(profileError));
    await unlockAll(lockedServices);
    throw failed(`switching the profiles failed: ${errorText(profileError)}\n${problems.length === 0 ? 'rolled back to the previous deployment' : `rolling back failed too: ${problems.join('; ')}`}`);
  }

  const recorded = to.kind === 'new' ? await manifests.add(next) : to.manifest;
  await manifests.setCurrent(recorded.generation);
  reporter.emit({ event: 'manifest', profile, generation: recorded.generation, file: path.join(manifests.dir, `${recorded.generation}.json`) });
  // Services locked before the transition and still running are unlocked; deactivated ones are gone.
  const kept = new Set(plan.unchanged.map((m) => m.id));
  await unlockAll(lockedServices.filter((m) => kept.has(m.id)));
}
