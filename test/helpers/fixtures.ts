import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A Dysnomia-style module that records what it was given: its arguments
 * (NUL-separated) and its whole environment (`env -0`) into the files named by
 * the container property `recordTo`, or $RECORD_TO with --environment. It
 * prints one line on stdout and exits with `exitWith` (default 0).
 */
export const RECORDER_MODULE = `#!/bin/bash
target="\${recordTo:-$RECORD_TO}"
printf '%s\\0' "$@" > "$target.args"
env -0 > "$target.env"
echo "recorder: $1 done"
exit "\${exitWith:-0}"
`;

export async function writeExecutable(file: string, text: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  await chmod(file, 0o755);
  return file;
}

export async function writeFileIn(file: string, text: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  return file;
}

export function parseNulList(text: string): string[] {
  const items = text.split('\0');
  items.pop();
  return items;
}

export function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    parseNulList(text).map((entry) => {
      const equals = entry.indexOf('=');
      return [entry.slice(0, equals), entry.slice(equals + 1)];
    }),
  );
}

/** Variables bash sets for itself in any script's environment. */
export const BASH_OWN_VARIABLES = ['PWD', 'SHLVL', '_'];

/** Waits (generously: the machine may be busy) until `condition` holds; fails naming `what` otherwise. */
export async function waitFor(condition: () => Promise<boolean>, what: string, ms = 180_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
