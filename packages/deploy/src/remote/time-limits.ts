import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';

/** How long a coordinator waits for a target, in milliseconds. */
export interface TimeLimits {
  /** Connecting: TCP, SSH handshake and authentication (--connect-timeout). */
  connectMs: number;
  /** Each remote request: a probe, a transfer, the bootstrap, each operation (--command-timeout). */
  commandMs: number;
}

export const DEFAULT_TIME_LIMITS: TimeLimits = { connectMs: 20_000, commandMs: 600_000 };

/** The options that set them, in seconds, for help texts and messages. */
export const TIME_LIMIT_OPTIONS = {
  'connect-timeout': { type: 'string' },
  'command-timeout': { type: 'string' },
} as const;

export const TIME_LIMITS_HELP = `      --connect-timeout=SECONDS
                             Give up on a target that has not let us in
                             within this time (default: ${DEFAULT_TIME_LIMITS.connectMs / 1000})
      --command-timeout=SECONDS
                             Give up on a target request (a probe, a
                             transfer, the engine's installation, one
                             operation) that has not ended within this time
                             (default: ${DEFAULT_TIME_LIMITS.commandMs / 1000})
`;

/** The limits the options give (seconds, a positive number each); a bad value is a usage error naming the option. */
export function timeLimitsFrom(values: { 'connect-timeout'?: string | undefined; 'command-timeout'?: string | undefined }): TimeLimits {
  const seconds = (option: 'connect-timeout' | 'command-timeout', fallback: number): number => {
    const raw = values[option];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || value <= 0 || value > 86_400) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `--${option} takes a number of seconds from 0 to 86400, not '${raw}'`);
    return value * 1000;
  };
  return { connectMs: seconds('connect-timeout', DEFAULT_TIME_LIMITS.connectMs), commandMs: seconds('command-timeout', DEFAULT_TIME_LIMITS.commandMs) };
}

/** A target that did not answer in time: exit status 1, naming it, what it was asked and the option that sets the limit. */
export function timedOut(target: string, what: string, ms: number, option: 'connect-timeout' | 'command-timeout'): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_TIMEOUT', `target "${target}": no answer within ${ms / 1000} s ${what} (--${option})`, { exitCode: EXIT_OPERATION_FAILED });
}

/** `work`, or the error of `onTimeout()` once `ms` have passed (then `onTimeout` also stops what is running). */
export function withinTime<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
