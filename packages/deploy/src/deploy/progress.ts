import type { Writable } from 'node:stream';
import type { ErrorCode } from '@dysnomia/engine/internal/errors.js';

/** One versioned event per line with --json; the same events drive the terminal and plain views. */
export type DeployEvent =
  | { event: 'start'; profile: string; targets: string[]; dryRun: boolean }
  | { event: 'built'; source: string; entry: string; target?: string }
  | { event: 'connecting'; target: string; where: string }
  /** The target lacked the runtime: `packages` of its package entries are sent (`bytes`, when done) and it is composed there. */
  | { event: 'bootstrap'; target: string; phase: 'start' | 'done'; bytes: number; packages: number }
  | { event: 'connected'; target: string; stateDir: string }
  | { event: 'plan'; target: string; closure: number; missing: string[]; bytes: number }
  | { event: 'progress'; target: string; entriesSent: number; entries: number; bytesSent: number; bytes: number }
  | { event: 'transferred'; target: string; entries: number; bytes: number }
  | { event: 'profile'; target: string; profile: string; generation: number; changed: boolean }
  /** A profile switched in this run, switched back because another target failed (generation null: the profile was new and is removed). */
  | { event: 'rolled-back'; target: string; profile: string; generation: number | null; reason: string }
  | { event: 'generations'; target: string; profile: string; generations: Array<{ generation: number; current: boolean; created: string }> }
  | { event: 'deleted'; target: string; profile: string; generations: number[] }
  /** `code`: the error's own (ERR_DYSNOMIA_UNREACHABLE: the target could not be reached; ERR_DYSNOMIA_LOCKED, …). */
  | { event: 'failed'; target: string; error: string; code?: ErrorCode }
  | { event: 'skipped'; target: string; reason: string }
  | { event: 'done'; ok: boolean; failed: string[] }
  /**
   * The orchestrator's plan: mapping ids (service@target:container#identity) to deactivate and activate;
   * `plan` names each (service, target, container, type). `from`/`to`: deployment generations (this machine's record).
   */
  | { event: 'transition'; from?: number; to?: number; deactivate: string[]; activate: string[]; unchanged: number; plan?: { deactivate: PlannedMapping[]; activate: PlannedMapping[] } }
  /** A packages deployment (-P): what changes in the target's profile, by package name (an entry's name without its hash). */
  | { event: 'packages'; target: string; profile: string; added: string[]; removed: string[]; changed: string[]; unchanged: number }
  /** A layer of a layered deployment begins (index of `of`, lowest first); `rollingBack`: it goes back because a layer above failed. */
  | { event: 'layer'; layer: string; profile: string; index: number; of: number; rollingBack?: boolean }
  | { event: 'locked'; target: string; profile: string }
  /** A lock whose holder was gone (a killed deployment) was broken: `target` "coordinator" for this machine's own. */
  | { event: 'lock-broken'; target: string; profile: string; holder: string }
  /** Every operation of a failed transition undone: the targets are back in deployment `generation` (null: none before). */
  | { event: 'undone'; profile: string; generation: number | null; failed: string }
  /** An operation on a service has started (the step event says how it ended). */
  | { event: 'step-started'; target: string; action: string; service: string; container: string; undo?: boolean }
  /** One operation on a service (planned: a dry run's; undo: part of a rollback). */
  | { event: 'step'; target: string; action: string; service: string; container: string; status: 'planned' | 'done' | 'failed'; error?: string; undo?: boolean }
  /** A line a module printed on a target while running an operation (ctx.log, a program's output). */
  | { event: 'output'; target: string; service: string; action: string; line: string }
  | { event: 'manifest'; profile: string; generation: number; file: string }
  /**
   * A step on a service's state (snapshot, retrieve to this machine, send to
   * the target, restore, delete-state, clean of old snapshots); `snapshot`:
   * CONTAINER/COMPONENT/ID; `bytes`: what a transfer moved (0: nothing lacked).
   */
  | { event: 'state'; target: string; service: string; container: string; action: StateAction; status: 'done' | 'failed' | 'skipped'; snapshot?: string; bytes?: number; detail?: string }
  /** A plugin's tap failed where its failure changes nothing (transition failed, a rollback step): said, not fatal. */
  | { event: 'hook-failed'; hook: string; error: string }
  /** collect-garbage -i: a target's collection is asked (`deleteOldGenerations`: -d). */
  | { event: 'collecting'; target: string; deleteOldGenerations: boolean }
  /** A target's collection is done: the entries removed and their size; generations deleted; profiles left because a deployment holds them. */
  | { event: 'collected'; target: string; removed: string[]; bytes: number; kept: number; generations: Array<{ profile: string; deleted: number[] }>; lockedProfiles: Array<{ profile: string; holder: string }> }
  | { event: 'deployments'; profile: string; generations: Array<{ generation: number; current: boolean; created: string; services: number; targets: string[] }> };

export interface PlannedMapping {
  service: string;
  target: string;
  container: string;
  type: string;
}

export type StateAction = 'snapshot' | 'retrieve' | 'send' | 'restore' | 'delete-state' | 'clean';

export interface Reporter {
  emit(event: DeployEvent): void;
  finish(): void;
}

/** Says nothing: for a command whose output is its answer. */
export const quietReporter: Reporter = { emit() {}, finish() {} };

export const EVENT_VERSION = 1;

/**
 * One JSON line per event. The lines of one turn of the event loop go out
 * in one write, at the end of the turn: stdout to a pipe or file is written
 * synchronously, one system call per write, and a deployment emits hundreds
 * of events at once (a no-op of 200 services spent about 26 ms writing its
 * 'built' lines one by one). finish() and the process's exit write what is
 * left.
 */
export function jsonReporter(out: Writable): Reporter {
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    const lines = pending;
    pending = '';
    stopWaiting(flush);
    out.write(lines);
  };
  return {
    emit(event) {
      if (pending === '') {
        setImmediate(flush);
        waitForExit(flush);
      }
      pending += `${JSON.stringify({ v: EVENT_VERSION, ...event })}\n`;
    },
    finish: flush,
  };
}

/** The reporters with lines waiting: one exit listener for all of them, there only while some wait. */
const waitingReporters = new Set<() => void>();
const flushWaitingReporters = () => {
  for (const flush of waitingReporters) flush();
};

function waitForExit(flush: () => void): void {
  if (waitingReporters.size === 0) process.once('exit', flushWaitingReporters);
  waitingReporters.add(flush);
}

function stopWaiting(flush: () => void): void {
  if (waitingReporters.delete(flush) && waitingReporters.size === 0) process.off('exit', flushWaitingReporters);
}

function entries(count: number): string {
  return `${count} ${count === 1 ? 'entry' : 'entries'}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

const VERBS: Record<string, string> = { activate: 'activating', deactivate: 'deactivating', lock: 'locking', unlock: 'unlocking' };

function packagesLine(event: Extract<DeployEvent, { event: 'packages' }>): string {
  const parts = [
    event.added.length > 0 ? `adds ${event.added.join(', ')}` : '',
    event.changed.length > 0 ? `changes ${event.changed.join(', ')}` : '',
    event.removed.length > 0 ? `removes ${event.removed.join(', ')}` : '',
  ].filter(Boolean);
  return `profile ${event.profile}: ${parts.length === 0 ? 'no package changes' : parts.join('; ')}${event.unchanged > 0 ? ` (${event.unchanged} unchanged)` : ''}`;
}

/** A human sentence for an event (the plain view prints these; the terminal view keeps the last per target). */
export function describe(event: DeployEvent): string | undefined {
  switch (event.event) {
    case 'start':
      return `${event.dryRun ? 'dry run: ' : ''}deploying profile "${event.profile}" to ${event.targets.join(', ')}`;
    case 'built':
      return `built ${event.source} -> ${event.entry}`;
    case 'connecting':
      return `connecting to ${event.where}`;
    case 'bootstrap':
      return event.phase === 'start'
        ? `installing the runtime (engine and plugins): ${event.packages === 0 ? 'every package already there' : `${event.packages} packages to send`}`
        : `runtime installed (${event.packages} packages sent, ${formatBytes(event.bytes)})`;
    case 'connected':
      return `connected (state ${event.stateDir})`;
    case 'plan':
      if (event.closure === 0) return 'nothing to send';
      return event.missing.length === 0
        ? `nothing to send: ${event.closure === 1 ? 'the entry is' : `all ${event.closure} entries`} already there`
        : `${event.missing.length} of ${entries(event.closure)} to send (${formatBytes(event.bytes)})`;
    case 'progress':
      return `${event.entriesSent}/${entries(event.entries)}, ${formatBytes(event.bytesSent)} of ${formatBytes(event.bytes)}`;
    case 'transferred':
      // The archive's bytes: the files and, per file, a tar header (more than the plan's sizes of the files alone).
      return `sent ${entries(event.entries)} (${formatBytes(event.bytes)} as an archive)`;
    case 'profile':
      return event.changed
        ? `done: profile ${event.profile} at target generation ${event.generation}`
        : `done: profile ${event.profile} unchanged (target generation ${event.generation})`;
    case 'rolled-back':
      return event.generation === null
        ? `rolled back: profile ${event.profile} removed again (it was new; ${event.reason})`
        : `rolled back: profile ${event.profile} back at target generation ${event.generation} (${event.reason})`;
    case 'generations':
      return `profile ${event.profile}, target generations: ${event.generations.length === 0 ? 'none' : event.generations.map((g) => `${g.generation}${g.current ? '*' : ''}`).join(' ')}`;
    case 'packages':
      return packagesLine(event);
    case 'deleted':
      return `profile ${event.profile}: deleted ${event.generations.length === 0 ? 'nothing' : `generations ${event.generations.join(', ')}`}`;
    case 'failed':
      // Which target; the command says why once, on stderr.
      return 'FAILED';
    case 'skipped':
      return `skipped: ${event.reason}`;
    case 'done':
      return event.ok ? 'done' : `failed on ${event.failed.join(', ')}`;
    case 'transition': {
      const counts = `${event.deactivate.length} to deactivate, ${event.activate.length} to activate, ${event.unchanged} unchanged${event.from === undefined ? ' (first deployment of the profile)' : ` (from deployment generation ${event.from}${event.to === undefined ? '' : ` to ${event.to}`})`}`;
      const steps = [...(event.plan?.deactivate ?? []).map((m) => ['deactivate', m] as const), ...(event.plan?.activate ?? []).map((m) => ['activate', m] as const)];
      return [counts, ...steps.map(([action, m]) => `  ${m.target}: ${action} ${m.service} (${m.type}) in ${m.container}`)].join('\n');
    }
    case 'undone':
      // Said on stderr with the error ("rolled back to …"), once.
      return undefined;
    case 'lock-broken':
      return `broke the stale lock of profile ${event.profile} held by ${event.holder}`;
    case 'locked':
      return `profile ${event.profile} locked`;
    case 'layer':
      return event.rollingBack ? `== layer ${event.layer} (profile ${event.profile}): back to its previous deployment` : `== layer ${event.index} of ${event.of}: ${event.layer} (profile ${event.profile})`;
    case 'step-started':
      return `${event.undo ? 'rollback: ' : ''}${VERBS[event.action] ?? event.action} ${event.service} in ${event.container}`;
    case 'step': {
      const what = `${event.undo ? 'rollback: ' : ''}${event.action} ${event.service} in ${event.container}`;
      // A failure's reason is the command's error, on stderr.
      return event.status === 'planned' ? `would ${what}` : event.status === 'done' ? what : `FAILED: ${what}`;
    }
    case 'output':
      return `${event.service}: ${event.line}`;
    case 'hook-failed':
      return `warning: ${event.error}`;
    case 'state': {
      const what = `${event.action} ${event.service} in ${event.container}${event.snapshot ? ` (${event.snapshot})` : ''}${event.bytes !== undefined ? `: ${event.bytes === 0 ? 'nothing to transfer' : formatBytes(event.bytes)}` : ''}${event.detail ? `: ${event.detail}` : ''}`;
      return event.status === 'done' ? what : event.status === 'skipped' ? `skipped: ${what}` : `FAILED: ${what}`;
    }
    case 'manifest':
      return `deployment recorded here: profile ${event.profile}, deployment generation ${event.generation}`;
    case 'collecting':
      return event.deleteOldGenerations ? 'deleting old generations and collecting garbage' : 'collecting garbage';
    case 'collected': {
      const parts = [`removed ${event.removed.length} ${event.removed.length === 1 ? 'entry' : 'entries'}, freed ${formatBytes(event.bytes)}, kept ${event.kept}`];
      for (const g of event.generations) parts.push(`deleted generation${g.deleted.length === 1 ? '' : 's'} ${g.deleted.join(', ')} of profile ${g.profile}`);
      for (const l of event.lockedProfiles) parts.push(`kept the generations of profile ${l.profile}: a deployment holds it (${l.holder})`);
      return parts.join('; ');
    }
    case 'deployments':
      return event.generations.length === 0
        ? `profile ${event.profile}: no deployments`
        : event.generations.map((g) => `${String(g.generation).padStart(4)}${g.current ? ' (current)' : '          '} ${g.created}  ${g.services} mappings on ${g.targets.join(', ') || 'no targets'}`).join('\n');
  }
}

type StartedStep = Extract<DeployEvent, { event: 'step-started' }>;

/** Operations that have started and not ended yet, with when each started. */
class RunningSteps {
  private readonly running = new Map<string, { event: StartedStep; since: number }>();
  private key(e: { target: string; action: string; service: string; container: string; undo?: boolean }): string {
    return `${e.target}\0${e.action}\0${e.service}\0${e.container}\0${e.undo === true}`;
  }
  /** Takes a step event in; says whether it was one. */
  track(event: DeployEvent, now = Date.now()): boolean {
    if (event.event === 'step-started') this.running.set(this.key(event), { event, since: now });
    else if (event.event === 'step') this.running.delete(this.key(event));
    else return false;
    return true;
  }
  get size(): number {
    return this.running.size;
  }
  /** Per target, its longest-running operation running at least `atLeastMs`, as a line with the elapsed time. */
  lines(atLeastMs: number, now = Date.now()): Map<string, string> {
    const oldest = new Map<string, { event: StartedStep; since: number; others: number }>();
    for (const step of this.running.values()) {
      const known = oldest.get(step.event.target);
      if (known === undefined) oldest.set(step.event.target, { ...step, others: 0 });
      else if (step.since < known.since) oldest.set(step.event.target, { ...step, others: known.others + 1 });
      else known.others++;
    }
    const lines = new Map<string, string>();
    for (const [target, step] of oldest) {
      const elapsed = now - step.since;
      if (elapsed < atLeastMs) continue;
      lines.set(target, `${describe(step.event)} (${Math.floor(elapsed / 1000)} s${step.others > 0 ? `, ${step.others} more running` : ''})`);
    }
    return lines;
  }
}

/** Every `ms`, unless nothing runs; never keeps the process alive. */
function ticker(ms: number, tick: () => void): { ensure(): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  return {
    ensure() {
      if (timer !== undefined) return;
      timer = setInterval(tick, ms);
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** How often a plain log says that an operation is still running. */
const STILL_RUNNING_MS = 10_000;

/**
 * Plain lines (`target: what happened`), for logs and pipes; progress is
 * printed at most every 10 %, and an operation running long is said again
 * every 10 s with its elapsed time.
 */
export function plainReporter(out: Writable): Reporter {
  const lastDecile = new Map<string, number>();
  const running = new RunningSteps();
  const still = ticker(STILL_RUNNING_MS, () => {
    if (running.size === 0) return still.stop();
    for (const [target, line] of running.lines(STILL_RUNNING_MS)) out.write(`${target}: still ${line}\n`);
  });
  return {
    emit(event) {
      if (event.event === 'progress') {
        const decile = Math.floor((10 * event.bytesSent) / Math.max(event.bytes, 1));
        if (lastDecile.get(event.target) === decile) return;
        lastDecile.set(event.target, decile);
      }
      if (running.track(event) && event.event === 'step-started') {
        still.ensure();
        return;
      }
      const text = describe(event);
      if (text === undefined) return;
      out.write('target' in event && event.target !== undefined ? `${event.target}: ${text}\n` : `${text}\n`);
    },
    finish() {
      still.stop();
    },
  };
}

/** How long an operation runs before its live line shows the time it has taken. */
const ELAPSED_AFTER_MS = 1000;

/** One live line per target, redrawn in place (at most ~10 times a second); an operation running over a second shows its elapsed time. */
export function terminalReporter(out: Writable & { columns?: number }): Reporter {
  const lines = new Map<string, string>();
  const running = new RunningSteps();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    timer = undefined;
    const width = Math.max((out.columns ?? 80) - 1, 20);
    let text = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const [target, line] of lines) text += `\x1b[2K${`${target}: ${line}`.slice(0, width)}\n`;
    drawn = lines.size;
    out.write(text);
  };
  const schedule = () => {
    timer ??= setTimeout(draw, 100);
  };
  const elapsed = ticker(ELAPSED_AFTER_MS, () => {
    if (running.size === 0) return elapsed.stop();
    const long = running.lines(ELAPSED_AFTER_MS);
    for (const [target, line] of long) lines.set(target, line);
    if (long.size > 0) schedule();
  });
  return {
    emit(event) {
      if (running.track(event) && event.event === 'step-started') elapsed.ensure();
      const text = describe(event);
      if (text === undefined) return;
      if (event.event === 'output') {
        // A module's line stays on the screen, above the live lines.
        if (timer) clearTimeout(timer);
        out.write(`${drawn > 0 ? `\x1b[${drawn}A\x1b[J` : ''}${event.target}: ${text}\n`);
        drawn = 0;
        draw();
        return;
      }
      const target = 'target' in event ? event.target : undefined;
      if (target === undefined) {
        if (timer) clearTimeout(timer);
        draw();
        out.write(`${text}\n`);
        drawn = 0;
        lines.clear();
        return;
      }
      lines.set(target, text);
      if (event.event === 'progress') schedule();
      else {
        if (timer) clearTimeout(timer);
        draw();
      }
    },
    finish() {
      elapsed.stop();
      if (timer) clearTimeout(timer);
      if (lines.size > 0) draw();
    },
  };
}
