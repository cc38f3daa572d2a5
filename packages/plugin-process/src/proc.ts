import { readdir, readFile } from 'node:fs/promises';

/** What /proc/<pid>/stat tells about a process (Linux). */
export interface ProcessStatus {
  pid: number;
  /** One letter: R, S, D, Z (zombie: exited, not yet reaped), T, … */
  state: string;
  /** Process group id. */
  pgrp: number;
  /** Start time in clock ticks since boot: with the pid, it identifies one process for good. */
  startTime: string;
}

/** Parses /proc/<pid>/stat; the command name in parentheses may itself hold spaces and parentheses. */
export function parseStat(pid: number, text: string): ProcessStatus | undefined {
  const fields = text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
  // fields[0] is field 3 of proc(5) (state); pgrp is field 5, starttime field 22.
  const [state, , pgrp] = fields;
  const startTime = fields[19];
  if (state === undefined || pgrp === undefined || startTime === undefined) return undefined;
  return { pid, state, pgrp: Number(pgrp), startTime };
}

export async function processStatus(pid: number): Promise<ProcessStatus | undefined> {
  try {
    return parseStat(pid, await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A process that exited but was not reaped yet (its parent is gone or busy) counts as gone. */
export function isLive(status: ProcessStatus | undefined): status is ProcessStatus {
  return status !== undefined && status.state !== 'Z' && status.state !== 'X';
}

/** The program's command line, arguments joined by spaces ('' when unreadable). */
export async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Live processes of a process group: what a stop must wait for, children included. */
export async function liveGroupMembers(pgrp: number): Promise<number[]> {
  const members: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await processStatus(Number(entry));
    if (status?.pgrp === pgrp && isLive(status)) members.push(status.pid);
  }
  return members;
}
