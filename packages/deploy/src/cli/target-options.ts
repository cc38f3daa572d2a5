import { countOption } from '@dysnomia/engine/internal/cli/run-cli.js';
import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';
import { assertProfileName } from '@dysnomia/engine/internal/profiles/names.js';
import { TIME_LIMIT_OPTIONS, TIME_LIMITS_HELP, timeLimitsFrom } from '../remote/time-limits.js';
import type { TimeLimits } from '../remote/time-limits.js';

/*
 * The options of the commands that reach machines (capture-infra, query,
 * reconstruct, collect-garbage, snapshot/restore/clean-snapshots, diagnose):
 * host keys and time limits, and for those that work on many targets at once,
 * how many. One text, one parser, so every command says and does the same.
 */

export const DEFAULT_TARGETS_AT_ONCE = 4;
export const MAX_TARGETS_AT_ONCE = 1000;

/** Host keys and time limits: every command that connects to a machine. */
export const CONNECTION_OPTIONS = {
  'accept-new-host-keys': { type: 'boolean' },
  'known-hosts': { type: 'string' },
  ...TIME_LIMIT_OPTIONS,
} as const;

export const CONNECTION_OPTIONS_HELP = `      --accept-new-host-keys Trust and record the key of a host not yet in
                             known_hosts (a changed key is always refused)
      --known-hosts=FILE     known_hosts file for targets without an
                             sshKnownHosts property (default: the ssh
                             config's UserKnownHostsFile, else
                             ~/.ssh/known_hosts)
${TIME_LIMITS_HELP}`;

/** The connection options, and how many targets are worked on at once. */
export const MANY_TARGETS_OPTIONS = {
  'max-concurrent-transfers': { type: 'string' },
  ...CONNECTION_OPTIONS,
} as const;

export const MANY_TARGETS_OPTIONS_HELP = `      --max-concurrent-transfers=N
                             Targets worked on at once (default: ${DEFAULT_TARGETS_AT_ONCE})
${CONNECTION_OPTIONS_HELP}`;

/** An infrastructure model to ask, and the options to reach its targets. */
export const TARGET_OPTIONS = {
  infrastructure: { type: 'string', short: 'i' },
  ...MANY_TARGETS_OPTIONS,
} as const;

export const TARGET_OPTIONS_HELP = `  -i, --infrastructure=FILE  The infrastructure model: the machines to ask
${MANY_TARGETS_OPTIONS_HELP}`;

export interface ConnectionSettings {
  acceptNewHostKeys: boolean;
  knownHostsFile?: string;
  timeLimits: TimeLimits;
}

export interface TargetSettings extends ConnectionSettings {
  maxConcurrent: number;
}

type ConnectionOptionValues = {
  'accept-new-host-keys'?: boolean;
  'known-hosts'?: string;
  'connect-timeout'?: string;
  'command-timeout'?: string;
};

/** The settings the connection options give; a bad value is a usage error naming the option. */
export function connectionSettingsFrom(values: ConnectionOptionValues): ConnectionSettings {
  return {
    acceptNewHostKeys: values['accept-new-host-keys'] === true,
    ...(values['known-hosts'] ? { knownHostsFile: values['known-hosts'] } : {}),
    timeLimits: timeLimitsFrom(values),
  };
}

/** The settings of the options for many targets; a bad value is a usage error naming the option. */
export function targetSettingsFrom(values: ConnectionOptionValues & { 'max-concurrent-transfers'?: string }): TargetSettings {
  return {
    maxConcurrent: countOption('max-concurrent-transfers', values['max-concurrent-transfers'] ?? String(DEFAULT_TARGETS_AT_ONCE), MAX_TARGETS_AT_ONCE),
    ...connectionSettingsFrom(values),
  };
}

/** The profile --profile names, checked (a usage error naming the option), or `fallback` when it is not given. */
export function profileOption<F extends string | undefined>(value: string | undefined, fallback: F): string | F {
  if (value === undefined) return fallback;
  try {
    return assertProfileName(value);
  } catch (error) {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `--profile: ${(error as Error).message}`);
  }
}
