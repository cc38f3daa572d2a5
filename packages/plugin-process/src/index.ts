import { rm, stat } from 'node:fs/promises';
import { definePlugin, moduleEnvironment } from '@dysnomia/engine';
import type { OperationContext } from '@dysnomia/engine';
import { findProgram } from './program.js';
import { readRunning } from './running.js';
import { processSettings } from './settings.js';
import { startForeground, startSelfDaemonizing } from './start.js';
import { forget, readRecord, stateFiles } from './state-files.js';
import type { ProcessRecord, StateFiles } from './state-files.js';
import { stopProcess } from './stop.js';

export { stateFiles } from './state-files.js';
export type { StateFiles, ProcessRecord } from './state-files.js';

/** What `capture` reports. */
export interface ProcessCapture {
  component: string;
  container: string;
  program: string;
  pidFile: string;
  logFile: string;
  /** The pid the pid file names, or null when there is none. */
  pid: number | null;
  /** Whether that pid is this component's program, running. */
  alive: boolean;
}

function filesOf(ctx: OperationContext): StateFiles {
  return stateFiles(ctx.stateDir, ctx.container.name, ctx.componentName);
}

/** The container's properties as the program's environment, as executable modules get them. */
function programEnvironment(ctx: OperationContext): Record<string, string> {
  const { env, extendEnv } = moduleEnvironment(ctx);
  const merged = extendEnv ? { ...ctx.env, ...env } : env;
  return Object.fromEntries(Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

const exists = (file: string) => stat(file).then(() => true, () => false);

/**
 * What was started for this component: activate's record when there is one
 * (it works even when the component is gone), else what the component says.
 */
async function knownProcess(ctx: OperationContext, files: StateFiles): Promise<{ program: string; pidFile: string; record?: ProcessRecord } | undefined> {
  const record = await readRecord(files);
  if (record) return { program: record.program, pidFile: record.pidFile, record };
  if (!(await exists(ctx.component))) return undefined;
  const spec = await findProgram(ctx.component);
  return { program: spec.program, pidFile: spec.pidFile ?? files.pidFile };
}

async function activate(ctx: OperationContext): Promise<void> {
  const settings = processSettings(ctx.container);
  const files = filesOf(ctx);
  const spec = await findProgram(ctx.component);
  const pidFile = spec.pidFile ?? files.pidFile;
  const state = await readRunning(pidFile, { program: spec.program, component: ctx.component, record: await readRecord(files) });
  if (state.running) {
    ctx.log.info(`${ctx.componentName}: ${spec.program} is already running (pid ${state.pid})`);
    return;
  }
  if (state.pid !== undefined) ctx.log.info(`${ctx.componentName}: ignoring stale pid file ${pidFile} (process ${state.pid} is not ${spec.program})`);
  await forget(files);
  if (spec.pidFile) await rm(spec.pidFile, { force: true });
  const request = { files, settings, env: programEnvironment(ctx), cwd: ctx.component };
  const record = spec.pidFile ? await startSelfDaemonizing({ ...request, spec: { ...spec, pidFile: spec.pidFile } }) : await startForeground({ ...request, spec });
  ctx.log.info(`${ctx.componentName}: started ${spec.program} (pid ${record.pid}; log ${files.logFile})`);
}

async function deactivate(ctx: OperationContext): Promise<void> {
  const settings = processSettings(ctx.container);
  const files = filesOf(ctx);
  const known = await knownProcess(ctx, files);
  if (known === undefined) {
    await forget(files);
    return;
  }
  const state = await readRunning(known.pidFile, { program: known.program, component: ctx.component, record: known.record });
  if (state.running) {
    const how = await stopProcess(state.running, settings.stopTimeoutMs);
    ctx.log.info(
      how === 'terminated'
        ? `${ctx.componentName}: stopped ${known.program} (pid ${state.pid})`
        : `${ctx.componentName}: ${known.program} (pid ${state.pid}) ignored SIGTERM for ${settings.stopTimeoutMs / 1000}s (processStopTimeout); killed it`,
    );
  }
  // A pid file left behind (by a killed daemon, or stale) would make the next activate look twice.
  if (state.pid !== undefined) await rm(known.pidFile, { force: true });
  await forget(files);
}

async function capture(ctx: OperationContext): Promise<ProcessCapture> {
  const files = filesOf(ctx);
  const known = await knownProcess(ctx, files);
  const pidFile = known?.pidFile ?? files.pidFile;
  const state = known ? await readRunning(known.pidFile, { program: known.program, component: ctx.component, record: known.record }) : {};
  return {
    component: ctx.componentName,
    container: ctx.container.name,
    program: known?.program ?? '',
    pidFile,
    logFile: files.logFile,
    pid: state.pid ?? null,
    alive: state.running !== undefined,
  };
}

/**
 * Type `process`: runs the component's program as a daemon. A program that
 * stays in the foreground is daemonized by the plugin; one that daemonizes
 * itself names its pid file with pidFile= in etc/dysnomia/process/<name>.
 * Not `stateful`: whether the program runs is read from /proc, not from
 * markers, so activating a crashed program starts it again.
 */
export default definePlugin({
  type: 'process',
  engine: '^1.0.0',
  stateful: false,
  meta: { name: '@dysnomia/plugin-process', version: '1.0.0' },
  activate,
  deactivate,
  capture,
});
