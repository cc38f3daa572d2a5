import type { Writable } from 'node:stream';
import type { ErrorCode } from '@dysnomia/engine/internal/errors.js';

/** One versioned event per line with --json; the same events drive the terminal and plain views. */
export type DeployEvent =
  | { event: 'start'; profile: string; targets: string[]; dryRun: boolean }
  | { event: 'built'; source: string; entry: string }
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
  /** The orchestrator's plan: mapping ids (service@target:container#identity) to deactivate and activate. */
  | { event: 'transition'; from?: number; to?: number; deactivate: string[]; activate: string[]; unchanged: number }
  | { event: 'locked'; target: string; profile: string }
  /** A lock whose holder was gone (a killed deployment) was broken: `target` "coordinator" for this machine's own. */
  | { event: 'lock-broken'; target: string; profile: string; holder: string }
  /** Every operation of a failed transition undone: the targets are back in deployment `generation` (null: none before). */
  | { event: 'undone'; profile: string; generation: number | null; failed: string }
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
  | { event: 'deployments'; profile: string; generations: Array<{ generation: number; current: boolean; created: string; services: number; targets: string[] }> };

export type StateAction = 'snapshot' | 'retrieve' | 'send' | 'restore' | 'delete-state' | 'clean';

export interface Reporter {
  emit(event: DeployEvent): void;
  finish(): void;
}

export const EVENT_VERSION = 1;

export function jsonReporter(out: Writable): Reporter {
  return {
    emit: (event) => out.write(`${JSON.stringify({ v: EVENT_VERSION, ...event })}\n`),
    finish() {},
  };
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
      return event.missing.length === 0 ? `all ${event.closure} entries already there` : `${event.missing.length} of ${event.closure} entries to send (${formatBytes(event.bytes)})`;
    case 'progress':
      return `${event.entriesSent}/${event.entries} entries, ${formatBytes(event.bytesSent)} of ${formatBytes(event.bytes)}`;
    case 'transferred':
      return `sent ${event.entries} entries (${formatBytes(event.bytes)})`;
    case 'profile':
      return event.changed ? `done: profile ${event.profile} at generation ${event.generation}` : `done: profile ${event.profile} unchanged (generation ${event.generation})`;
    case 'rolled-back':
      return event.generation === null
        ? `rolled back: profile ${event.profile} removed again (it was new; ${event.reason})`
        : `rolled back: profile ${event.profile} back at generation ${event.generation} (${event.reason})`;
    case 'generations':
      return `profile ${event.profile}: ${event.generations.length === 0 ? 'no generations' : event.generations.map((g) => `${g.generation}${g.current ? '*' : ''}`).join(' ')}`;
    case 'deleted':
      return `profile ${event.profile}: deleted ${event.generations.length === 0 ? 'nothing' : `generations ${event.generations.join(', ')}`}`;
    case 'failed':
      // Which target; the command says why once, on stderr.
      return 'FAILED';
    case 'skipped':
      return `skipped: ${event.reason}`;
    case 'done':
      return event.ok ? 'done' : `failed on ${event.failed.join(', ')}`;
    case 'transition':
      return `${event.deactivate.length} to deactivate, ${event.activate.length} to activate, ${event.unchanged} unchanged${event.from === undefined ? ' (first deployment of the profile)' : ` (from generation ${event.from}${event.to === undefined ? '' : ` to ${event.to}`})`}`;
    case 'undone':
      // Said on stderr with the error ("rolled back to …"), once.
      return undefined;
    case 'lock-broken':
      return `broke the stale lock of profile ${event.profile} held by ${event.holder}`;
    case 'locked':
      return `profile ${event.profile} locked`;
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
      return `deployment recorded: profile ${event.profile} generation ${event.generation}`;
    case 'deployments':
      return event.generations.length === 0
        ? `profile ${event.profile}: no deployments`
        : event.generations.map((g) => `${String(g.generation).padStart(4)}${g.current ? ' (current)' : '          '} ${g.created}  ${g.services} mappings on ${g.targets.join(', ') || 'no targets'}`).join('\n');
  }
}

/** Plain lines (`target: what happened`), for logs and pipes; progress is printed at most every 10 %. */
export function plainReporter(out: Writable): Reporter {
  const lastDecile = new Map<string, number>();
  return {
    emit(event) {
      if (event.event === 'progress') {
        const decile = Math.floor((10 * event.bytesSent) / Math.max(event.bytes, 1));
        if (lastDecile.get(event.target) === decile) return;
        lastDecile.set(event.target, decile);
      }
      const text = describe(event);
      if (text === undefined) return;
      out.write('target' in event ? `${event.target}: ${text}\n` : `${text}\n`);
    },
    finish() {},
  };
}

/** One live line per target, redrawn in place (at most ~10 times a second). */
export function terminalReporter(out: Writable & { columns?: number }): Reporter {
  const lines = new Map<string, string>();
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
  return {
    emit(event) {
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
      if (!('target' in event)) {
        if (timer) clearTimeout(timer);
        draw();
        out.write(`${text}\n`);
        drawn = 0;
        lines.clear();
        return;
      }
      lines.set(event.target, text);
      if (event.event === 'progress') schedule();
      else {
        if (timer) clearTimeout(timer);
        draw();
      }
    },
    finish() {
      if (timer) clearTimeout(timer);
      if (lines.size > 0) draw();
    },
  };
}
