import path from 'node:path';
import { forEachLimited } from '@dysnomia/engine/internal/for-each-limited.js';
import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';
import { parseEntryName } from '@dysnomia/engine/internal/store/entry-name.js';
import type { Infrastructure, InfrastructureTarget } from '../models/infrastructure.js';
import type { PackageSource, PackagesModel } from '../models/packages.js';
import type { GenerationSelector } from '@dysnomia/engine/internal/profiles/profiles.js';
import { RuntimeBuilder } from '../remote/runtime.js';
import type { Runtime } from '../remote/runtime.js';
import type { TimeLimits } from '../remote/time-limits.js';
import type { Store } from '@dysnomia/engine/internal/store/store.js';
import type { DeployEvent, Reporter } from './progress.js';
import { KnownStateDirs } from './known-state-dirs.js';
import { SourceCache } from './source-cache.js';
import { TargetBuilds } from './target-builds.js';
import type { AgentLink } from '../remote/agent-link.js';
import { currentHolder, sameHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import type { LockHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import { lockTargets } from './locking.js';
import { FileState } from './state/file-state.js';
import type { StateBackend } from './state/state-backend.js';
import { EarlyConnections, openSession } from './target-session.js';
import type { ConnectAnswer, PlanRequest, TargetSession } from './target-session.js';

export interface DeployOptions {
  infrastructure: Infrastructure;
  /** The targets to act on, in order. */
  targets: string[];
  store: Store;
  profile: string;
  reporter: Reporter;
  maxConcurrent: number;
  acceptNewHostKeys: boolean;
  knownHostsFile?: string;
  /** Folder relative sources are resolved from (the packages model's). */
  cwd: string;
  log: (message: string) => void;
  /** How long targets are waited for (default: DEFAULT_TIME_LIMITS). */
  timeLimits?: TimeLimits;
  /** Also break locks whose holder cannot be checked from here (--break-stale-lock). */
  breakStaleLock?: boolean;
  /** Where deployment records and the coordinator's profile locks live (default: files in the store's state folder). */
  state?: StateBackend;
  /** Build functions and npm: packages are built on the target they go to (--build-on-targets); without it only for a target of another system. */
  buildOnTargets?: boolean;
}

/** The state backend of a deployment: the one given, or the files of the store's state folder. */
export function stateOf(options: Pick<DeployOptions, 'state' | 'store'>): StateBackend {
  return options.state ?? new FileState(options.store.stateDir);
}

export type ProfileAction =
  | { kind: 'list-generations' }
  | { kind: 'rollback' }
  | { kind: 'switch-to-generation'; generation: number }
  | { kind: 'delete-generations'; which: GenerationSelector };

export { forEachLimited };

function sourceLabel(source: PackageSource): string {
  return typeof source === 'string' ? source : `component ${source.name}`;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A target's failure as an event: the message naming it, and the error's code when it has one. */
export function failedEvent(target: string, error: unknown): Extract<DeployEvent, { event: 'failed' }> {
  return { event: 'failed', target, error: targetMessage(target, error), ...(error instanceof DysnomiaError ? { code: error.code } : {}) };
}

/** The target name is in every message; strip a repeated prefix so it is not said twice. */
export function targetMessage(target: string, error: unknown): string {
  const text = errorText(error);
  return text.startsWith(`target "${target}": `) ? text : `target "${target}": ${text}`;
}

/** Adds one package to the coordinator's store (folders and tarballs through the quick-check cache); a failure names the package. */
async function addSource(source: PackageSource, cache: SourceCache, options: Pick<DeployOptions, 'store' | 'cwd' | 'log'>): Promise<string> {
  try {
    const cached = typeof source === 'string' ? await cache.lookup(source) : { key: undefined, entry: undefined };
    const entry = cached.entry ?? (await options.store.add(source, { cwd: options.cwd, log: options.log }));
    if (cached.key !== undefined && cached.entry === undefined) await cache.record(cached.key, entry);
    return entry;
  } catch (error) {
    const reason = errorText(error);
    const label = sourceLabel(source);
    throw new DysnomiaError((error as DysnomiaError).code ?? 'ERR_DYSNOMIA_INPUT', reason.includes(label) ? reason : `${label}: ${reason}`, {
      exitCode: error instanceof DysnomiaError ? error.exitCode : 1,
      cause: error,
    });
  }
}

/** How long builds run before the event loop gets a turn (see sourceBuilder). */
const BUILD_TURN_MS = 5;

/**
 * Adds sources to this machine's store, each source once however many
 * targets or services use it, with a `built` event each; `save()` keeps the
 * quick-check cache for the next run.
 */
export function sourceBuilder(options: Pick<DeployOptions, 'store' | 'cwd' | 'log' | 'reporter'>) {
  const built = new Map<PackageSource, string>();
  const cache = new SourceCache(options.store);
  let turnGiven = performance.now();
  return {
    async build(source: PackageSource): Promise<string> {
      let entry = built.get(source);
      if (entry === undefined) {
        // Small folders are added synchronously: now and then the event loop gets a turn, so the
        // SSH handshakes begun meanwhile (EarlyConnections) go on while the rest is built.
        if (performance.now() - turnGiven > BUILD_TURN_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          turnGiven = performance.now();
        }
        entry = await addSource(source, cache, options);
        built.set(source, entry);
        options.reporter.emit({ event: 'built', source: typeof source === 'string' ? source : `component:${source.name}`, entry });
      }
      return entry;
    },
    save: () => cache.save(),
  };
}

async function buildPackages(model: PackagesModel, options: DeployOptions): Promise<Map<string, string[]>> {
  const builder = sourceBuilder(options);
  const builds = new TargetBuilds({ ...options, buildOnTargets: options.buildOnTargets === true }, builder);
  const perTarget = new Map<string, string[]>();
  try {
    for (const target of options.targets) {
      const entries: string[] = [];
      for (const source of model[target] ?? []) entries.push(await builds.build(source, [options.infrastructure[target]!], sourceLabel(source)));
      perTarget.set(target, entries);
    }
  } finally {
    builds.close();
  }
  await builder.save();
  return perTarget;
}

/** What opening sessions needs of the deploy options (capture-infra has no profile or model folder). */
export type SessionsOptions = Pick<DeployOptions, 'infrastructure' | 'targets' | 'store' | 'reporter' | 'maxConcurrent' | 'acceptNewHostKeys' | 'knownHostsFile' | 'log' | 'timeLimits'> & { debug?: boolean };

/** Which runtime each target runs, and which plugins a local target's agent loads. */
export interface RuntimeChoice {
  runtimeFor(target: string): Promise<Runtime>;
  localPluginsFor(target: string): string[];
}

/** The engine and the first-party plugins, for every target. */
export function baseRuntimes(options: Pick<DeployOptions, 'store' | 'log'>): RuntimeChoice {
  let builder: RuntimeBuilder | undefined;
  return {
    runtimeFor: () => (builder ??= new RuntimeBuilder(options.store, options.log)).runtime(),
    localPluginsFor: () => [],
  };
}

export interface OpenSessionsPlan {
  /** Bootstrap targets that lack their runtime (false for a dry run: then everything counts as missing there). */
  install: boolean;
  /** Let targets that have the runtime put it first in their GC root (default: install). */
  keepRuntime?: boolean;
  /** Per target, the closure and profile the deployment will ask about: answered while connecting. */
  plans?: Map<string, PlanRequest>;
  early?: EarlyConnections;
  /** Default: the engine and the first-party plugins. */
  runtimes?: RuntimeChoice;
  /** Per target, types to ask the target's profiles about. */
  types?: Map<string, string[]>;
  /** Runs once every target has answered and before anything is installed; what it throws stops everything. */
  check?: (answers: Map<string, ConnectAnswer>) => void;
  /**
   * Start each target's agent as soon as it is connected, without waiting for it: the
   * caller expects to need them (its deployment differs from the one recorded), and the
   * agents' start (a login shell and a Node process on each target) then overlaps the
   * other targets' connections and the first look. A later `agent()` gets the same one.
   */
  startAgents?: boolean;
}

/**
 * Connects to every target and asks what it has; then, unless `check`
 * objects, installs the runtime where it is missing. A target that fails is
 * recorded in `failed` (with a `failed` event) and the others go on.
 */
export async function openSessions(options: SessionsOptions, failed: Map<string, string>, plan: OpenSessionsPlan): Promise<Map<string, TargetSession>> {
  const runtimes = plan.runtimes ?? baseRuntimes(options);
  const connected = new Map<string, TargetSession>();
  const answers = new Map<string, ConnectAnswer>();
  const knownStateDirs = KnownStateDirs.of(options.store.stateDir);
  const fail = (name: string, session: TargetSession | undefined, error: unknown) => {
    session?.close();
    connected.delete(name);
    failed.set(name, targetMessage(name, error));
    options.reporter.emit(failedEvent(name, error));
  };
  await forEachLimited(options.targets, options.maxConcurrent, async (name) => {
    const target: InfrastructureTarget = options.infrastructure[name]!;
    let session: TargetSession | undefined;
    try {
      session = openSession(target, {
        store: options.store,
        acceptNewHostKeys: options.acceptNewHostKeys,
        ...(target.clientInterface === 'ssh' ? { runtime: await runtimes.runtimeFor(name) } : { localPlugins: runtimes.localPluginsFor(name) }),
        ...(options.knownHostsFile ? { knownHostsFile: options.knownHostsFile } : {}),
        ...(plan.early ? { early: plan.early } : {}),
        ...(options.debug ? { debug: true } : {}),
        ...(options.timeLimits ? { timeLimits: options.timeLimits } : {}),
        knownStateDirs,
      });
      options.reporter.emit({ event: 'connecting', target: name, where: session.where });
      const types = plan.types?.get(name);
      const request = { ...(plan.plans?.get(name) ? { plan: plan.plans.get(name)! } : {}), ...(types && types.length > 0 ? { types } : {}) };
      answers.set(name, await session.connect(request, plan.keepRuntime ?? plan.install));
      connected.set(name, session);
    } catch (error) {
      fail(name, session, error);
    }
  });
  try {
    plan.check?.(answers);
  } catch (error) {
    closeAll(connected);
    throw error;
  }
  const sessions = new Map<string, TargetSession>();
  await forEachLimited([...connected.keys()], options.maxConcurrent, async (name) => {
    const session = connected.get(name)!;
    try {
      if (plan.install) {
        await session.ensureRuntime((phase, bytes, packages) => options.reporter.emit({ event: 'bootstrap', target: name, phase, bytes, packages }));
      }
      options.reporter.emit({ event: 'connected', target: name, stateDir: session.stateDir });
      // Its failure, if any, is the caller's to see when it asks for the agent.
      if (plan.startAgents) session.agent().catch(() => undefined);
      sessions.set(name, session);
    } catch (error) {
      fail(name, session, error);
    }
  });
  return sessions;
}

export function closeAll(sessions: Map<string, TargetSession>): void {
  for (const session of sessions.values()) session.close();
}

export interface DeployResult {
  ok: boolean;
  failed: Map<string, string>;
}

/**
 * The packages deployment: build everything here, connect to every target
 * (bootstrapping the engine where it is missing), send each target only the
 * entries of its closure it lacks, and only when every transfer succeeded
 * switch every target's profile. A failure anywhere before the switch leaves
 * every profile as it was.
 */
export async function deployPackages(model: PackagesModel, options: DeployOptions & { dryRun: boolean }): Promise<DeployResult> {
  const { reporter, store } = options;
  const locking = { profile: options.profile, reporter, breakStaleLock: options.breakStaleLock === true };
  // Locked here and on the targets like any deployment: two -P deploys of a profile at once would both "succeed".
  const holder = currentHolder();
  const release = options.dryRun ? async () => {} : await stateOf(options).lockProfile(options.profile, locking, holder);
  try {
    reporter.emit({ event: 'start', profile: options.profile, targets: options.targets, dryRun: options.dryRun });
    // The first targets' handshakes run while the packages are built here.
    const early = new EarlyConnections();
    early.start(options.targets.slice(0, options.maxConcurrent).map((name) => options.infrastructure[name]!), options);
    let sessions: Map<string, TargetSession>;
    let entries: Map<string, string[]>;
    const failed = new Map<string, string>();
    const plans = new Map<string, PlanRequest>();
    try {
      entries = await buildPackages(model, options);
      // Each target's closure is known before the probe, so the first round trip can also answer what it lacks.
      for (const name of options.targets) plans.set(name, { profile: options.profile, closure: await store.closure(entries.get(name) ?? []) });
      sessions = await openSessions(options, failed, { install: !options.dryRun, plans, early });
    } finally {
      early.closeRest();
    }
    const done = () => {
      reporter.emit({ event: 'done', ok: failed.size === 0, failed: [...failed.keys()] });
      return { ok: failed.size === 0, failed };
    };
    try {
      for (const [name, session] of sessions) {
        const current = (await session.current(options.profile))?.packages ?? [];
        reporter.emit({ event: 'packages', target: name, profile: options.profile, ...packageChanges(current, entries.get(name) ?? []) });
      }
      if (failed.size > 0 || options.dryRun || (await nothingToChange(sessions, plans, entries, options.profile, holder))) {
        // Unlocked: nothing to hold (a no-op, a dry run, or a failed target's deployment that switches no profile).
        await transferAll(sessions, plans, { ...options, hold: false }, failed);
        for (const name of sessions.keys()) if (!failed.has(name) && failed.size > 0) reporter.emit({ event: 'skipped', target: name, reason: 'another target failed: profile not switched' });
        if (failed.size === 0 && !options.dryRun) await switchProfiles(sessions, entries, failed, options);
        return done();
      }
      // A large transfer's own connection and the target's import start now, while the agents start and lock.
      await Promise.all([...sessions].map(async ([name, session]) => session.prepareSend(await session.missing(plans.get(name)!.closure))));
      const links = new Map<string, AgentLink>();
      await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => void links.set(name, await sessions.get(name)!.agent()));
      const lockedTargets: string[] = [];
      try {
        await lockTargets(links, holder, lockedTargets, locking);
        // Sent under the locks and held on each target (transferAll): a garbage collection there keeps what this deployment sends.
        await transferAll(sessions, plans, options, failed);
        if (failed.size > 0) {
          for (const name of sessions.keys()) if (!failed.has(name)) reporter.emit({ event: 'skipped', target: name, reason: 'another target failed: profile not switched' });
          return done();
        }
        await switchProfiles(sessions, entries, failed, options);
        return done();
      } finally {
        await Promise.all(lockedTargets.map((name) => links.get(name)!.request({ kind: 'unlock', profile: options.profile, holder }).catch(() => undefined)));
      }
    } finally {
      closeAll(sessions);
    }
  } finally {
    await release();
  }
}

/** What a profile going from `current` to `wanted` (store entries) adds, removes and changes, by package name. */
export function packageChanges(current: string[], wanted: string[]): { added: string[]; removed: string[]; changed: string[]; unchanged: number } {
  const byName = (entries: string[]) => new Map(entries.map((entry) => [parseEntryName(entry)?.name ?? entry, entry]));
  const before = byName(current);
  const after = byName(wanted);
  const names = (test: (name: string) => boolean, from: Map<string, string>) => [...from.keys()].filter(test).sort();
  return {
    added: names((name) => !before.has(name), after),
    removed: names((name) => !after.has(name), before),
    changed: names((name) => before.has(name) && before.get(name) !== after.get(name), after),
    unchanged: names((name) => before.get(name) === after.get(name), after).length,
  };
}

/** Whether no target lacks an entry, every profile holds its packages already and no lock is held: nothing to lock or change. */
async function nothingToChange(sessions: Map<string, TargetSession>, plans: Map<string, PlanRequest>, entries: Map<string, string[]>, profile: string, holder: LockHolder): Promise<boolean> {
  for (const [name, session] of sessions) {
    if ((await session.missing(plans.get(name)!.closure)).length > 0) return false;
    const current = await session.current(profile);
    if (!current || !sameSet(current.packages, entries.get(name) ?? [])) return false;
    const observed = await session.observed(profile);
    // A local target sharing this state folder shows this very deploy's lock: that one does not count.
    if (observed === undefined || (observed.lock !== null && !sameHolder(observed.lock, holder))) return false;
  }
  return true;
}

/**
 * Sends each target the entries of its closure it lacks (none on a dry run),
 * with `plan`, `progress` and `transferred` events; a target that fails is
 * recorded in `failed` and the others go on.
 */
export async function transferAll(
  sessions: Map<string, TargetSession>,
  plans: Map<string, PlanRequest>,
  options: Pick<DeployOptions, 'store' | 'reporter' | 'maxConcurrent'> & { dryRun: boolean; hold?: boolean },
  failed: Map<string, string>,
): Promise<void> {
  const { reporter, store } = options;
  await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => {
    const session = sessions.get(name)!;
    try {
      const closure = plans.get(name)!.closure;
      // A real run holds its closure on the target from here to the end of the session, so a collection there cannot take it.
      const missing = options.dryRun || options.hold === false ? await session.missing(closure) : await session.hold(closure);
      const sizes = await Promise.all(missing.map(async (entry) => (await store.meta(entry)).size));
      const total = sizes.reduce((a, b) => a + b, 0);
      reporter.emit({ event: 'plan', target: name, closure: closure.length, missing, bytes: total });
      if (options.dryRun || missing.length === 0) return;
      // Entries done, estimated from the bytes sent against their sizes in archive order.
      const boundaries = sizes.map(((sum) => (size: number) => (sum += size))(0));
      let sent = 0;
      let lastReport = 0;
      await session.send(missing, (n) => {
        sent += n;
        const now = Date.now();
        if (now - lastReport < 100) return;
        lastReport = now;
        const done = boundaries.filter((b) => b <= sent).length;
        reporter.emit({ event: 'progress', target: name, entriesSent: done, entries: missing.length, bytesSent: Math.min(sent, total), bytes: total });
      });
      reporter.emit({ event: 'transferred', target: name, entries: missing.length, bytes: sent });
    } catch (error) {
      failed.set(name, targetMessage(name, error));
      reporter.emit(failedEvent(name, error));
    }
  });
}

/**
 * Switches every target's profile. When one fails, targets not yet started
 * are skipped and every target that switched in this run is switched back
 * (to its previous generation, or its new profile removed), so the targets
 * never stay half on the new deployment.
 */
async function switchProfiles(sessions: Map<string, TargetSession>, entries: Map<string, string[]>, failed: Map<string, string>, options: DeployOptions): Promise<void> {
  const { reporter, profile } = options;
  const switched = new Map<string, { previous: number | null; generation: number }>();
  await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => {
    if (failed.size > 0) {
      reporter.emit({ event: 'skipped', target: name, reason: 'another target failed: profile not switched' });
      return;
    }
    try {
      const session = sessions.get(name)!;
      const wanted = entries.get(name) ?? [];
      const current = await session.current(profile);
      if (current && sameSet(current.packages, wanted)) {
        reporter.emit({ event: 'profile', target: name, profile, generation: current.generation, changed: false });
        return;
      }
      const previous = current === undefined ? await currentGeneration(session, profile) : (current?.generation ?? null);
      const result = await session.install(profile, wanted);
      if (result.changed) switched.set(name, { previous, generation: result.generation });
      reporter.emit({ event: 'profile', target: name, profile, ...result });
    } catch (error) {
      failed.set(name, targetMessage(name, error));
      reporter.emit(failedEvent(name, error));
    }
  });
  if (failed.size === 0) return;
  await forEachLimited([...switched], options.maxConcurrent, async ([name, { previous, generation }]) => {
    try {
      await sessions.get(name)!.undoInstall(profile, previous, generation);
      reporter.emit({ event: 'rolled-back', target: name, profile, generation: previous, reason: `${[...failed.keys()].join(', ')} failed` });
    } catch (error) {
      const message = targetMessage(name, `switched to generation ${generation}, and switching back failed: ${errorText(error)}`);
      failed.set(name, message);
      reporter.emit({ event: 'failed', target: name, error: message });
    }
  });
}

/** The profile's current generation number, or null when it has none. */
async function currentGeneration(session: TargetSession, profile: string): Promise<number | null> {
  return (await session.generations(profile)).find((g) => g.current)?.generation ?? null;
}

/** --list-generations, --rollback, --switch-to-generation, --delete-generations on each target's profile. */
export async function profileAction(action: ProfileAction, options: DeployOptions): Promise<DeployResult> {
  const { reporter, profile } = options;
  const failed = new Map<string, string>();
  const changes = action.kind !== 'list-generations';
  const locking = { profile, reporter, breakStaleLock: options.breakStaleLock === true };
  const holder = currentHolder();
  // A change of generations is a deployment too: locked here and on the targets.
  const release = changes ? await stateOf(options).lockProfile(profile, locking, holder) : async () => {};
  // Listing generations writes nothing on a target that has the engine already.
  const sessions = await openSessions(options, failed, { install: true, keepRuntime: changes }).catch(async (error: unknown) => {
    await release();
    throw error;
  });
  const links = new Map<string, AgentLink>();
  const lockedTargets: string[] = [];
  try {
    if (changes) {
      await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => void links.set(name, await sessions.get(name)!.agent()));
      await lockTargets(links, holder, lockedTargets, locking);
    }
    await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => {
      const session = sessions.get(name)!;
      try {
        if (action.kind === 'rollback') {
          const generation = await session.rollback(profile);
          reporter.emit({ event: 'profile', target: name, profile, generation, changed: true });
        } else if (action.kind === 'switch-to-generation') {
          await session.switchTo(profile, action.generation);
          reporter.emit({ event: 'profile', target: name, profile, generation: action.generation, changed: true });
        } else if (action.kind === 'delete-generations') {
          reporter.emit({ event: 'deleted', target: name, profile, generations: await session.deleteGenerations(profile, action.which) });
        } else {
          reporter.emit({ event: 'generations', target: name, profile, generations: await session.generations(profile) });
        }
      } catch (error) {
        failed.set(name, targetMessage(name, error));
        reporter.emit(failedEvent(name, error));
      }
    });
  } finally {
    await Promise.all(lockedTargets.map((name) => links.get(name)!.request({ kind: 'unlock', profile, holder }).catch(() => undefined)));
    closeAll(sessions);
    await release();
  }
  reporter.emit({ event: 'done', ok: failed.size === 0, failed: [...failed.keys()] });
  return { ok: failed.size === 0, failed };
}

export function sameSet(a: string[], b: string[]): boolean {
  const left = [...new Set(a)].sort();
  const right = [...new Set(b)].sort();
  return left.length === right.length && left.every((entry, i) => entry === right[i]);
}

export const modelDir = (file: string) => path.dirname(path.resolve(file));
