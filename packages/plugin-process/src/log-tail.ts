import { open } from 'node:fs/promises';

const TAIL_BYTES = 4096;
const TAIL_LINES = 20;

/** The last lines a program wrote to its log since `offset` (where this start began). */
export async function logTail(file: string, offset: number): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(offset, size - TAIL_BYTES);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    await handle.read(buffer, 0, buffer.length, start);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
  } finally {
    await handle.close();
  }
}

/** "; its log (FILE) ends with:\n…" for error messages, or a note that it wrote nothing. */
export async function describeLog(file: string, offset: number): Promise<string> {
  const tail = await logTail(file, offset);
  return tail === '' ? `; it wrote nothing to its log (${file})` : `; its log (${file}) ends with:\n${tail}`;
}
