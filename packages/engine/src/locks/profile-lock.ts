import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Who holds a deployment lock: enough for a person to find the holder, and for a machine to tell whether it still lives. */
export interface LockHolder {
  user: string;
  host: string;
  pid: number;
  /** ISO time the lock was taken. */
  since: string;
}

export type LockOutcome = { acquired: true } | { acquired: false; holder: LockHolder };

/** This process as a lock holder. */
export function currentHolder(): LockHolder {
  return { user: os.userInfo().username, host: os.hostname(), pid: process.pid, since: new Date().toISOString() };
}

export function sameHolder(a: LockHolder, b: LockHolder): boolean {
  return a.user === b.user && a.host === b.host && a.pid === b.pid && a.since === b.since;
}

/** True when the holder ran on this machine and its process is gone; undefined when that cannot be told from here. */
export function holderIsDead(holder: LockHolder): boolean | undefined {
  if (holder.host !== os.hostname()) return undefined;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function describeHolder(holder: LockHolder): string {
  return `${holder.user}@${holder.host} (pid ${holder.pid}) since ${holder.since}`;
}

/**
 * Whether a lock may be broken without anyone asking: its holder ran on
 * this machine and is gone (provably stale); with `breakUnknown`
 * (--break-stale-lock) also one whose holder cannot be checked from here
 * (another machine's, or a lock file cut short).
 */
export function mayBreak(holder: LockHolder, breakUnknown: boolean): boolean {
  const dead = holderIsDead(holder);
  return dead === true || (breakUnknown && dead === undefined) || (breakUnknown && holder.pid === 0);
}

/** The lock of the garbage collection of a store: taken by `dysnomia store --gc`, respected by every deployment. */
export function gcLockFile(stateDir: string): string {
  return path.join(stateDir, 'locks', 'store-gc.json');
}

/** The holder of a live lock in `file` (one whose holder is provably gone does not count), or undefined. */
export async function liveHolder(file: string): Promise<LockHolder | undefined> {
  const holder = await readHolder(file);
  return holder === undefined || holderIsDead(holder) === true ? undefined : holder;
}

/** The profiles of a state folder locked by a live holder: a deployment is running. */
export async function liveProfileLocks(stateDir: string): Promise<Array<{ profile: string; holder: LockHolder }>> {
  const dir = path.join(stateDir, 'locks');
  const names = await readdir(dir).catch(() => [] as string[]);
  const live: Array<{ profile: string; holder: LockHolder }> = [];
  for (const name of names.sort()) {
    const profile = /^profile-(.+)\.json$/.exec(name)?.[1];
    if (profile === undefined) continue;
    const holder = await liveHolder(path.join(dir, name));
    if (holder !== undefined) live.push({ profile, holder });
  }
  return live;
}

/** The lock file of a profile in a state folder. */
export function profileLockFile(stateDir: string, profile: string): string {
  return path.join(stateDir, 'locks', `profile-${profile}.json`);
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LockHolder;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A lock file cut short (a crash while writing) still means "locked": it names nobody.
    return { user: 'unknown', host: 'unknown', pid: 0, since: 'unknown' };
  }
}

/**
 * Takes the lock by creating its file exclusively. When another holder has
 * it, the answer names that holder; `breaking` replaces exactly that holder's
 * lock (a stale one the caller recognised), never a newer one.
 */
export async function acquireLock(file: string, holder: LockHolder, breaking?: LockHolder): Promise<LockOutcome> {
  await mkdir(path.dirname(file), { recursive: true });
  const text = `${JSON.stringify(holder)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, text, { flag: 'wx', mode: 0o644 });
      return { acquired: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = await readHolder(file);
    if (current === undefined) continue;
    if (sameHolder(current, holder)) return { acquired: true };
    if (breaking === undefined || !sameHolder(current, breaking)) return { acquired: false, holder: current };
    // Replace the stale file atomically with ours; a rename cannot half-happen.
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, text, { mode: 0o644 });
    await rename(temporary, file);
    return { acquired: true };
  }
  const current = await readHolder(file);
  return current === undefined ? { acquired: true } : { acquired: false, holder: current };
}

/** Removes the lock when `holder` holds it; another holder's lock is left alone. */
export async function releaseLock(file: string, holder: LockHolder): Promise<boolean> {
  const current = await readHolder(file);
  if (current === undefined || !sameHolder(current, holder)) return false;
  await rm(file, { force: true });
  return true;
}
