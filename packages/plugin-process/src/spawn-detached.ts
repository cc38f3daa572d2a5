import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';

export type ExitOutcome = { error: Error } | { code: number | null; signal: NodeJS.Signals | null };

export interface DetachedChild {
  child: ChildProcess;
  /** Settles when the program exits (or could not be started). */
  exit: Promise<ExitOutcome>;
  /** Where this start's output begins in the log, for the tail shown when it fails. */
  logOffset: number;
}

/**
 * Starts a program the way a daemon is started: its own session and process
 * group (so stopping the group also stops its children, and no terminal
 * signal reaches it), stdin from /dev/null, stdout and stderr appended to
 * `logFile`, not waited for by this process.
 */
export async function spawnDetached(program: string, options: { env: Record<string, string>; cwd: string; logFile: string }): Promise<DetachedChild> {
  await mkdir(path.dirname(options.logFile), { recursive: true });
  const log = await open(options.logFile, 'a', 0o600);
  try {
    await log.write(`[dysnomia] ${new Date().toISOString()} starting ${program}\n`);
    const logOffset = (await log.stat()).size;
    const child = spawn(program, [], { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', log.fd, log.fd] });
    const exit = new Promise<ExitOutcome>((resolve) => {
      child.once('error', (error) => resolve({ error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    return { child, exit, logOffset };
  } finally {
    await log.close();
  }
}

export function describeExit(outcome: ExitOutcome): string {
  if ('error' in outcome) return `could not be started: ${outcome.error.message}`;
  return outcome.signal ? `was killed by ${outcome.signal}` : `exited with status ${outcome.code}`;
}

/** The outcome, or undefined when `ms` passed first. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
