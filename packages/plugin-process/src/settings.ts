import { DysnomiaError } from '@dysnomia/engine';
import type { Container } from '@dysnomia/engine';

/** Timings a container may set (in seconds, as container properties). */
export interface ProcessSettings {
  /** processStopTimeout: time between SIGTERM and SIGKILL on deactivate. */
  stopTimeoutMs: number;
  /** processStartTimeout: how long a self-daemonizing program may take to exit and write its pid file. */
  startTimeoutMs: number;
  /** processStartCheck: how long a started program must keep running for activate to succeed. */
  startCheckMs: number;
}

export const DEFAULT_SETTINGS: ProcessSettings = { stopTimeoutMs: 10_000, startTimeoutMs: 30_000, startCheckMs: 1_000 };

const PROPERTIES = {
  processStopTimeout: 'stopTimeoutMs',
  processStartTimeout: 'startTimeoutMs',
  processStartCheck: 'startCheckMs',
} as const;

export function processSettings(container: Container): ProcessSettings {
  const settings = { ...DEFAULT_SETTINGS };
  for (const [property, field] of Object.entries(PROPERTIES)) {
    const value = container.properties[property];
    if (value === undefined || value === '') continue;
    const seconds = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (Number.isNaN(seconds)) {
      throw new DysnomiaError(
        'ERR_DYSNOMIA_INPUT',
        `${container.file ?? `container ${container.name}`}: ${property} must be a number of seconds, got ${JSON.stringify(value)}`,
      );
    }
    settings[field] = Math.round(seconds * 1000);
  }
  return settings;
}
