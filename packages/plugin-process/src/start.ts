import { rm } from 'node:fs/promises';
import { describeLog } from './log-tail.js';
import { isLive, processStatus } from './proc.js';
import type { ProcessStatus } from './proc.js';
import type { ProgramSpec } from './program.js';
import type { ProcessSettings } from './settings.js';
import { describeExit, sleep, spawnDetached, within } from './spawn-detached.js';
import { forget, readPidFile, writePidFile, writeRecord } from './state-files.js';
import type { ProcessRecord, StateFiles } from './state-files.js';

const POLL_MS = 50;

export interface StartRequest {
  spec: ProgramSpec;
  files: StateFiles;
  settings: ProcessSettings;
  env: Record<string, string>;
  /** The program's working folder: the component. */
  cwd: string;
}

async function failure(message: string, files: StateFiles, logOffset: number): Promise<Error> {
  return new Error(`${message}${await describeLog(files.logFile, logOffset)}`);
}

/**
 * Daemonizes a program that stays in the foreground: starts it detached,
 * writes its pid file and record, and fails (with the log's tail) when it
 * does not survive the start check.
 */
export async function startForeground(request: StartRequest): Promise<ProcessRecord> {
  const { spec, files, settings } = request;
  const { child, exit, logOffset } = await spawnDetached(spec.program, { env: request.env, cwd: request.cwd, logFile: files.logFile });
  if (child.pid === undefined) throw await failure(`${spec.program} ${describeExit(await exit)}`, files, logOffset);
  const status = await processStatus(child.pid);
  const record: ProcessRecord = { program: spec.program, pidFile: files.pidFile, selfDaemonizing: false, pid: child.pid, startTime: status?.startTime ?? '' };
  await writePidFile(files.pidFile, child.pid);
  await writeRecord(files, record);
  const early = await within(exit, settings.startCheckMs);
  if (early !== undefined) {
    await forget(files);
    throw await failure(`${spec.program} ${describeExit(early)} right after it was started (within ${settings.startCheckMs / 1000}s)`, files, logOffset);
  }
  child.unref();
  return record;
}

/**
 * Starts a program that daemonizes itself (pidFile= given): runs it, waits
 * for it to exit successfully and for its pid file to name a live process,
 * then checks that the daemon survives the start check.
 */
export async function startSelfDaemonizing(request: StartRequest & { spec: ProgramSpec & { pidFile: string } }): Promise<ProcessRecord> {
  const { spec, files, settings } = request;
  const deadline = Date.now() + settings.startTimeoutMs;
  const { child, exit, logOffset } = await spawnDetached(spec.program, { env: request.env, cwd: request.cwd, logFile: files.logFile });
  const outcome = await within(exit, settings.startTimeoutMs);
  if (outcome === undefined) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
    throw await failure(
      `${spec.program} did not exit within ${settings.startTimeoutMs / 1000}s (processStartTimeout); a program with pidFile= must start its daemon in the background and exit`,
      files,
      logOffset,
    );
  }
  if ('error' in outcome || outcome.code !== 0) throw await failure(`${spec.program} ${describeExit(outcome)}`, files, logOffset);

  const { pid, status } = await waitForPidFile(spec.pidFile, deadline);
  if (status === undefined) {
    const what = pid === undefined ? 'no pid file was written' : `the pid file names process ${pid}, which is not running`;
    throw await failure(`${spec.program} exited, but after ${settings.startTimeoutMs / 1000}s ${what} (${spec.pidFile})`, files, logOffset);
  }
  const record: ProcessRecord = { program: spec.program, pidFile: spec.pidFile, selfDaemonizing: true, pid: status.pid, startTime: status.startTime };
  await writeRecord(files, record);
  await sleep(settings.startCheckMs);
  const after = await processStatus(record.pid);
  if (!isLive(after) || after.startTime !== record.startTime) {
    await forget(files);
    await rm(spec.pidFile, { force: true });
    throw await failure(`the daemon ${spec.program} started (pid ${record.pid}, ${spec.pidFile}) stopped right after it was started (within ${settings.startCheckMs / 1000}s)`, files, logOffset);
  }
  return record;
}

/** Waits until the pid file names a live process, or the deadline passes. */
async function waitForPidFile(pidFile: string, deadline: number): Promise<{ pid?: number; status?: ProcessStatus }> {
  for (;;) {
    const pid = await readPidFile(pidFile);
    const status = pid === undefined ? undefined : await processStatus(pid);
    if (isLive(status)) return { pid, status };
    if (Date.now() >= deadline) return pid === undefined ? {} : { pid };
    await sleep(POLL_MS);
  }
}
