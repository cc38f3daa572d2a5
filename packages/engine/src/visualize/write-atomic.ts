import { rm, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';

/** Writes `text` beside `file` under a temporary name, then renames it: a reader sees the old file or the whole new one. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await writeFile(temporary, text);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
