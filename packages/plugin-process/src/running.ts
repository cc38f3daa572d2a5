import { commandLine, isLive, processStatus } from './proc.js';
import type { ProcessStatus } from './proc.js';
import { readPidFile } from './state-files.js';
import type { ProcessRecord } from './state-files.js';

export interface PidFileState {
  /** The pid the pid file names, if any. */
  pid?: number;
  /** Set when that pid is a live process that is this component's program. */
  running?: ProcessStatus;
}

/**
 * Reads a pid file and decides whether it names this component's program.
 * A pid whose process is gone, a zombie, or another program (the pid was
 * reused) is stale. The process is identified by the start time activate
 * recorded; without a record for that pid, by its command line naming the
 * program or the component.
 */
export async function readRunning(pidFile: string, identity: { program: string; component: string; record: ProcessRecord | undefined }): Promise<PidFileState> {
  const pid = await readPidFile(pidFile);
  if (pid === undefined) return {};
  const status = await processStatus(pid);
  if (!isLive(status)) return { pid };
  const { record } = identity;
  if (record !== undefined && record.pid === pid) return record.startTime === status.startTime ? { pid, running: status } : { pid };
  const cmdline = await commandLine(pid);
  const ours = cmdline.includes(identity.program) || cmdline.includes(`${identity.component}/`);
  return ours ? { pid, running: status } : { pid };
}
