import type { Writable } from 'node:stream';

/** One versioned event per line with --json; the same events drive the terminal and plain views. */
export type DeployEvent =
  | { event: 'start'; profile: string; targets: string[]; dryRun: boolean }
  | { event: 'built'; source: string; entry: string }
  | { event: 'connecting'; target: string; where: string }
  | { event: 'bootstrap'; target: string; phase: 'start' | 'done'; bytes: number }
  | { event: 'connected'; target: string; stateDir: string }
  | { event: 'plan'; target: string; closure: number; missing: string[]; bytes: number }
  | { event: 'progress'; target: string; entriesSent: number; entries: number; bytesSent: number; bytes: number }
  | { event: 'transferred'; target: string; entries: number; bytes: number }
  | { event: 'profile'; target: string; profile: string; generation: number; changed: boolean }
  /** A profile switched in this run, switched back because another target failed (generation null: the profile was new and is removed). */
  | { event: 'rolled-back'; target: string; profile: string; generation: number | null; reason: string }
  | { event: 'generations'; target: string; profile: string; generations: Array<{ generation: number; current: boolean; created: string }> }
  | { event: 'deleted'; target: string; profile: string; generations: number[] }
  | { event: 'failed'; target: string; error: string }
  | { event: 'skipped'; target: string; reason: string }
  | { event: 'done'; ok: boolean; failed: string[] };

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
      return event.phase === 'start' ? 'installing the engine on the target' : `engine installed (${formatBytes(event.bytes)})`;
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
      return `FAILED: ${event.error}`;
    case 'skipped':
      return `skipped: ${event.reason}`;
    case 'done':
      return event.ok ? 'done' : `failed on ${event.failed.join(', ')}`;
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
