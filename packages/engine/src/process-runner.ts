import type { Writable } from 'node:stream';
import { execa } from 'execa';
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
    const subprocess = execa(file, args, {
      env,
      extendEnv: false,
      cwd: runOptions.cwd ?? options.cwd,
      ...(runOptions.input === undefined ? { stdin: 'ignore' as const } : { input: runOptions.input }),
      buffer: capture,
      reject: false,
      cancelSignal: options.signal,
      forceKillAfterDelay: KILL_GRACE_MS,
      stripFinalNewline: false,
    });
    if (!capture) {
      subprocess.stdout?.on('data', (chunk: Buffer) => options.stdout.write(chunk));
      subprocess.stderr?.on('data', (chunk: Buffer) => options.stderr.write(chunk));
    }
    const result = await subprocess;
    const stdout = typeof result.stdout === 'string' ? result.stdout : '';
    const stderr = typeof result.stderr === 'string' ? result.stderr : '';
    if (result.failed) {
      const why = result.isCanceled
        ? 'was cancelled'
        : result.exitCode !== undefined
          ? `exited with status ${result.exitCode}`
          : result.signal
            ? `was killed by ${result.signal}`
            : `could not run: ${result.originalMessage ?? result.shortMessage}`;
      const detail = capture && stderr.trim() ? `\n${stderr.trim()}` : '';
      throw Object.assign(new Error(`${commandLine} ${why}${detail}`), { exitCode: result.exitCode, stdout, stderr });
    }
    return { exitCode: result.exitCode ?? 0, stdout, stderr };
  };
}
