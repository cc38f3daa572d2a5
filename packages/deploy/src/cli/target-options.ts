import { countOption } from '@dysnomia/engine/internal/cli/run-cli.js';
import { TIME_LIMIT_OPTIONS, TIME_LIMITS_HELP, timeLimitsFrom } from '../remote/time-limits.js';
import type { TimeLimits } from '../remote/time-limits.js';

/*
 * The options every command that reaches the machines of an infrastructure
 * model shares (query, reconstruct, …): how many at once, host keys, time limits.
 */

export const DEFAULT_TARGETS_AT_ONCE = 4;
export const MAX_TARGETS_AT_ONCE = 1000;

export const TARGET_OPTIONS = {
  infrastructure: { type: 'string', short: 'i' },
  'max-concurrent-transfers': { type: 'string' },
  'accept-new-host-keys': { type: 'boolean' },
  'known-hosts': { type: 'string' },
  ...TIME_LIMIT_OPTIONS,
} as const;

export const TARGET_OPTIONS_HELP = `  -i, --infrastructure=FILE  The infrastructure model: the machines to ask
      --max-concurrent-transfers=N
                             Targets worked on at once (default: ${DEFAULT_TARGETS_AT_ONCE})
      --accept-new-host-keys Trust and record the key of a host not yet in
                             known_hosts (a changed key is always refused)
      --known-hosts=FILE     known_hosts file for targets without an
                             sshKnownHosts property (default: the ssh
                             config's UserKnownHostsFile, else
                             ~/.ssh/known_hosts)
${TIME_LIMITS_HELP}`;

export interface TargetSettings {
  maxConcurrent: number;
  acceptNewHostKeys: boolean;
  knownHostsFile?: string;
  timeLimits: TimeLimits;
}

type TargetOptionValues = {
  'max-concurrent-transfers'?: string;
  'accept-new-host-keys'?: boolean;
  'known-hosts'?: string;
  'connect-timeout'?: string;
  'command-timeout'?: string;
};

/** The settings the options give; a bad value is a usage error naming the option. */
export function targetSettingsFrom(values: TargetOptionValues): TargetSettings {
  return {
    maxConcurrent: countOption('max-concurrent-transfers', values['max-concurrent-transfers'] ?? String(DEFAULT_TARGETS_AT_ONCE), MAX_TARGETS_AT_ONCE),
    acceptNewHostKeys: values['accept-new-host-keys'] === true,
    ...(values['known-hosts'] ? { knownHostsFile: values['known-hosts'] } : {}),
    timeLimits: timeLimitsFrom(values),
  };
}
