import { isLive, liveGroupMembers, processStatus } from './proc.js';
import type { ProcessStatus } from './proc.js';
import { sleep } from './spawn-detached.js';

const POLL_MS = 50;
/** How long a process may take to disappear after SIGKILL before deactivate gives up. */
const AFTER_KILL_MS = 5_000;

export type StopOutcome = 'terminated' | 'killed';

/**
 * Stops a process and waits until it is gone: SIGTERM, then SIGKILL after
 * `timeoutMs`. A process that leads its own process group (every program the
 * plugin daemonizes, and most daemons) is stopped with its whole group, so
 * its children go too, and the wait lasts until the last of them is gone.
 */
export async function stopProcess(target: ProcessStatus, timeoutMs: number): Promise<StopOutcome> {
  const group = target.pgrp === target.pid ? target.pid : undefined;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(group === undefined ? target.pid : -group, name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  const gone = async () => {
    const now = await processStatus(target.pid);
    const leaderGone = !isLive(now) || now.startTime !== target.startTime;
    return leaderGone && (group === undefined || (await liveGroupMembers(group)).length === 0);
  };
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      if (await gone()) return true;
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS);
    }
  };
  signal('SIGTERM');
  if (await waitGone(timeoutMs)) return 'terminated';
  signal('SIGKILL');
  if (await waitGone(AFTER_KILL_MS)) return 'killed';
  throw new Error(`process ${target.pid}${group === undefined ? '' : ' (or one in its process group)'} is still there after SIGTERM and SIGKILL`);
}
