import type { ChildProcess, StdioOptions } from 'node:child_process';
import { childProcesses } from './child-process.js';
import type { Writable } from 'node:stream';
import type { Logger, ProcessRunner } from './plugin.js';
import { shellQuote } from './shell-quote.js';

export interface ProcessRunnerOptions {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout: Writable;
  stderr: Writable;
  signal: AbortSignal;
  log: Logger;
}

/** How long a child gets between SIGTERM (on abort) and SIGKILL. */
const KILL_GRACE_MS = 5000;
/** How long output is still read after a program exited while something else holds its pipes. */
const OUTPUT_DRAIN_MS = 200;

export interface ChildOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all. */
  spawnError?: Error;
  aborted: boolean;
}

/**
 * Spawns a program without a shell and waits for it. An abort sends SIGTERM,
 * then SIGKILL after a grace period (to the whole process group with ownProcessGroup). (node:child_process rather than execa:
 * execa's import alone costs ~140 ms, paid by every CLI call; see docs/architecture.md.)
 */
/**
 * Node refuses an argument or environment value with a NUL byte and quotes
 * the value in its message; a container property may be a password, so the
 * message names the property and never its value.
 */
function withoutValue(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if ((error as NodeJS.ErrnoException).code !== 'ERR_INVALID_ARG_VALUE') return error instanceof Error ? error : new Error(message);
  const property = /options\.env\['([^']+)'\]/.exec(message)?.[1];
  return new Error(property === undefined ? 'an argument holds a NUL byte, which no program can receive' : `the value of "${property}" holds a NUL byte, which no program can receive`);
}

export function runChild(
  file: string,
  args: readonly string[],
  options: {
    env: Record<string, string | undefined>;
    cwd: string;
    stdio: StdioOptions;
    signal?: AbortSignal;
    input?: string;
    /** Run in a process group of its own, so an abort also stops what the program started. */
    ownProcessGroup?: boolean;
  },
  onSpawn?: (child: ChildProcess) => void,
): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const group = options.ownProcessGroup ?? false;
    let child: ChildProcess;
    try {
      child = childProcesses().spawn(file, args, { env: options.env, cwd: options.cwd, stdio: options.stdio, detached: group });
    } catch (error) {
      resolve({ exitCode: null, signal: null, spawnError: withoutValue(error), aborted: false });
      return;
    }
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (signal: NodeJS.Signals) => {
      try {
        if (group && child.pid !== undefined) process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // already gone
      }
    };
    const onAbort = () => {
      aborted = true;
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    let finished = false;
    const finish = (outcome: ChildOutcome) => {
      if (finished) return;
      finished = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      resolve(outcome);
    };
    child.once('error', (error) => finish({ exitCode: null, signal: null, spawnError: error, aborted }));
    child.once('close', (exitCode, signal) => finish({ exitCode, signal, aborted }));
    // A module that starts a daemon (`mysqld_safe … &`) leaves it holding our
    // pipes, so 'close' would wait for the daemon. After 'exit', read what is
    // already there, then let go of the pipes.
    child.once('exit', (exitCode, signal) => {
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish({ exitCode, signal, aborted });
      }, OUTPUT_DRAIN_MS).unref();
    });
    // A child that exits before reading its input must not crash us with EPIPE: its exit status reports the failure.
    child.stdin?.on('error', () => {});
    if (options.input !== undefined) child.stdin?.end(options.input);
    onSpawn?.(child);
  });
}

/**
 * Runs programs for plugins: no shell, the engine's environment unless told
 * otherwise, output streamed to the engine's output (or captured), abortable.
 * Only the program's name and arguments are logged, never its environment or input.
 */
export function createProcessRunner(options: ProcessRunnerOptions): ProcessRunner {
  return async (file, args = [], runOptions = {}) => {
    const capture = runOptions.output === 'capture';
    const env = runOptions.extendEnv === false ? { ...runOptions.env } : { ...options.env, ...runOptions.env };
    const commandLine = [file, ...args].map(shellQuote).join(' ');
    options.log.debug(`running ${commandLine}`);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const outcome = await runChild(
      file,
      args,
      {
        env,
        cwd: runOptions.cwd ?? options.cwd,
        stdio: [runOptions.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        signal: options.signal,
        ownProcessGroup: true,
        ...(runOptions.input === undefined ? {} : { input: runOptions.input }),
      },
      (child) => {
        child.stdout?.on('data', (chunk: Buffer) => (capture ? stdout.push(chunk) : options.stdout.write(chunk)));
        child.stderr?.on('data', (chunk: Buffer) => (capture ? stderr.push(chunk) : options.stderr.write(chunk)));
      },
    );
    const result = { exitCode: outcome.exitCode ?? -1, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
    if (outcome.spawnError || outcome.aborted || outcome.exitCode !== 0) {
      const why = outcome.spawnError
        ? `could not run: ${outcome.spawnError.message}`
        : outcome.aborted
          ? 'was cancelled'
          : outcome.signal
            ? `was killed by ${outcome.signal}`
            : `exited with status ${outcome.exitCode}`;
      const detail = capture && result.stderr.trim() ? `\n${result.stderr.trim()}` : '';
      throw Object.assign(new Error(`${commandLine} ${why}${detail}`), result);
    }
    return result;
  };
}
