import { accessSync, constants, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';

/*
 * Looks at local metadata that every operation makes while it resolves its
 * container and module (20-30 per operation with two profiles installed:
 * each profile's modules and containers folders, `<type>`, `.js`, `.mjs`):
 * synchronous, because a stat that finds nothing costs about 3 µs of CPU this
 * way and about 60 µs as a promise (the thread pool, and an Error with its
 * stack for every miss), which made resolution most of what an agent spent
 * per service when a deployment asks 200 services to lock. Every error
 * (ENOENT, ENOTDIR, EACCES, ELOOP) means "not there", as the promise
 * versions' `.catch(() => undefined)` did.
 */

export function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

export function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

export function isFile(file: string): boolean {
  return statOrUndefined(file)?.isFile() ?? false;
}

export function isDirectory(file: string): boolean {
  return statOrUndefined(file)?.isDirectory() ?? false;
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A folder's names; none when it cannot be read. */
export function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The path with every link resolved (realpath(3), as fs.promises.realpath); undefined when it is not there. */
export function realpathOrUndefined(file: string): string | undefined {
  try {
    return realpathSync.native(file);
  } catch {
    return undefined;
  }
}
