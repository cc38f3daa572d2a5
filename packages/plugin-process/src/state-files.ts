import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError } from '@dysnomia/engine';

/**
 * Where the plugin keeps a component's runtime files, beside Dysnomia's own
 * state layout: STATEDIR/processes/CONTAINER/COMPONENT.{pid,log,json}.
 */
export interface StateFiles {
  dir: string;
  /** The pid of a program the plugin daemonized (a self-daemonizing program keeps its own pid file). */
  pidFile: string;
  /** The program's standard output and error, appended across starts. */
  logFile: string;
  /** What was started: program, pid file and the process's identity (pid + start time). */
  recordFile: string;
}

/** What activate remembers about the process it started. */
export interface ProcessRecord {
  program: string;
  /** The pid file to read: the program's own, or StateFiles.pidFile. */
  pidFile: string;
  /** Whether the program daemonizes itself (pidFile= given). */
  selfDaemonizing: boolean;
  pid: number;
  /** /proc/<pid>/stat start time: a pid reused by another program has another one. */
  startTime: string;
}

function safeSegment(name: string, what: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${what} name ${JSON.stringify(name)} cannot be used as a file name under the state directory`);
  }
  return name;
}

export function stateFiles(stateDir: string, container: string, component: string): StateFiles {
  const dir = path.join(stateDir, 'processes', safeSegment(container, 'container'));
  const base = path.join(dir, safeSegment(component, 'component'));
  return { dir, pidFile: `${base}.pid`, logFile: `${base}.log`, recordFile: `${base}.json` };
}

/** Writes a file whole or not at all (temporary file + rename). */
async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(temporary, text);
  await rename(temporary, file);
}

/** The pid in a pid file (its first word), or undefined when there is none or it is not a pid. */
export async function readPidFile(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const word = text.trim().split(/\s+/)[0] ?? '';
  return /^[1-9]\d*$/.test(word) ? Number(word) : undefined;
}

export const writePidFile = (file: string, pid: number) => writeAtomically(file, `${pid}\n`);

export async function readRecord(files: StateFiles): Promise<ProcessRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(files.recordFile, 'utf8')) as Partial<ProcessRecord>;
    if (typeof record.program !== 'string' || typeof record.pidFile !== 'string' || typeof record.pid !== 'number' || typeof record.startTime !== 'string') {
      return undefined;
    }
    return { program: record.program, pidFile: record.pidFile, selfDaemonizing: record.selfDaemonizing === true, pid: record.pid, startTime: record.startTime };
  } catch {
    return undefined;
  }
}

export const writeRecord = (files: StateFiles, record: ProcessRecord) => writeAtomically(files.recordFile, `${JSON.stringify(record, null, 2)}\n`);

/** Forgets a process: the record, and the pid file when it is the plugin's own. */
export async function forget(files: StateFiles): Promise<void> {
  await rm(files.recordFile, { force: true });
  await rm(files.pidFile, { force: true });
}
