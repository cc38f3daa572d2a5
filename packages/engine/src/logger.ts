import type { Writable } from 'node:stream';
import type { Logger } from './plugin.js';

export type LogLevel = 'quiet' | 'info' | 'debug';

/** Writes human-readable progress to a stream (stderr for the CLI), one line each. */
export function createLogger(stream: Writable, level: LogLevel, prefix = 'dysnomia'): Logger {
  const write = (tag: string, message: string) => stream.write(`${prefix}: ${tag}${message}\n`);
  return {
    debug: (message) => level === 'debug' && write('debug: ', message),
    info: (message) => level !== 'quiet' && write('', message),
    warn: (message) => write('warning: ', message),
    error: (message) => write('error: ', message),
  } as Logger;
}
