import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionSettings } from './connection.js';

/** A value in an option file: double-quoted, with the escapes the client's option parser understands. */
function optionValue(value: string): string {
  const escaped = value.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? c);
  return `"${escaped}"`;
}

/** The `[client]` group the mariadb/mysql client and dump programs read, credentials included. */
export function formatOptionFile(settings: ConnectionSettings): string {
  const lines = ['[client]'];
  if (settings.user !== undefined) lines.push(`user=${optionValue(settings.user)}`);
  if (settings.password !== undefined) lines.push(`password=${optionValue(settings.password)}`);
  if (settings.host !== undefined) {
    lines.push(`host=${optionValue(settings.host)}`, 'protocol=TCP');
    if (settings.port !== undefined) lines.push(`port=${settings.port}`);
  } else if (settings.socket !== undefined) {
    lines.push(`socket=${optionValue(settings.socket)}`, 'protocol=SOCKET');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Runs `use` with the path of an option file holding the connection settings
 * (the password included), in a private folder (mode 0700, file mode 0600)
 * removed afterwards. Passed as --defaults-file, so the password never
 * appears on a command line, and no ~/.my.cnf can override what the container says.
 */
export async function withOptionFile<T>(settings: ConnectionSettings, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-mysql-'));
  try {
    const file = path.join(dir, 'client.cnf');
    await writeFile(file, formatOptionFile(settings), { mode: 0o600, flag: 'wx' });
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
