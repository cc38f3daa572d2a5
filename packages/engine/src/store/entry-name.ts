import path from 'node:path';
import { DysnomiaError } from '../errors.js';

/** `<32 hash characters>-<name>`, the same shape componentNameOf() strips. */
export const ENTRY_PATTERN = /^([0-9a-z]{32})-([A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*)$/;
/** Nix's rule for the name part: no slash, no leading dot, a small character set. */
const NAME_PATTERN = /^[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*$/;
const MAX_NAME = 180;

export function isEntryName(entry: string): boolean {
  return ENTRY_PATTERN.test(entry);
}

export function parseEntryName(entry: string): { hash: string; name: string } | undefined {
  const match = ENTRY_PATTERN.exec(entry);
  return match ? { hash: match[1]!, name: match[2]! } : undefined;
}

/** Refuses a store name a user gave (exit status 2, naming it). */
export function assertComponentName(name: string): string {
  if (!NAME_PATTERN.test(name) || name.length > MAX_NAME) {
    throw new DysnomiaError(
      'ERR_DYSNOMIA_USAGE',
      `invalid store name '${name}': use letters, digits and + - . _ ? = (not starting with a dot), at most ${MAX_NAME} characters`,
    );
  }
  return name;
}

/** A name derived from a file or package name: invalid characters become '-'. */
export function sanitizeName(raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9+._?=-]+/g, '-').replace(/^[.-]+/, '').slice(0, MAX_NAME);
  return cleaned === '' ? 'component' : cleaned;
}

/**
 * The entry an argument names: an entry name, or a path to an entry (or to
 * something inside one) in `storeDir`. Undefined when it is neither.
 */
export function entryOf(storeDir: string, nameOrPath: string): string | undefined {
  if (isEntryName(nameOrPath)) return nameOrPath;
  if (!path.isAbsolute(nameOrPath)) return undefined;
  const relative = path.relative(storeDir, path.resolve(nameOrPath));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  const first = relative.split(path.sep)[0]!;
  return isEntryName(first) ? first : undefined;
}
