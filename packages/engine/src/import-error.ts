import { fileURLToPath } from 'node:url';
import { childProcesses } from './child-process.js';

/**
 * What went wrong importing a JS file. For a syntax error Node 20 gives no
 * location, so the file is checked once more with `node --check`, whose first
 * line of output names file:line. Only ever runs on the way to an error.
 */
export function describeImportError(error: unknown, file: string): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof SyntaxError)) return message;
  const check = childProcesses().spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const where = /^(\S+?):(\d+)$/m.exec(check.stderr ?? '');
  if (!where?.[1] || !where[2]) return message;
  const located = where[1].startsWith('file:') ? fileURLToPath(where[1]) : where[1];
  return `${located}:${where[2]}: syntax error: ${message}`;
}
