import { realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `text` beside `file` under a temporary name, then renames it: a
 * reader sees the old file or the whole new one. A symbolic link stays a link
 * (the file it points to is replaced); a device or pipe (/dev/stdout) is
 * written to as it is, never replaced.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const existing = await stat(file).catch(() => undefined);
  if (existing !== undefined && !existing.isFile()) {
    await writeFile(file, text);
    return;
  }
  const target = existing === undefined ? file : await realpath(file);
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await writeFile(temporary, text);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
