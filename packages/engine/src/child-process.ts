import type * as ChildProcesses from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * node:child_process, loaded when a program is first run: importing it (and
 * the streams and sockets it brings) costs every CLI call, and many calls run
 * no program (a JS plugin, --version).
 */
export function childProcesses(): typeof ChildProcesses {
  return require('node:child_process') as typeof ChildProcesses;
}
