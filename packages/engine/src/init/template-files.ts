import { lstat, mkdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError } from '../errors.js';

/** One file a template writes: a path relative to the folder it is written into. */
export interface TemplateFile {
  path: string;
  text: string;
  /** 0o755 for programs; 0o644 otherwise. */
  mode?: number;
}

/** Which of the files are already in `dir` (any kind of entry counts, a dangling symlink too). */
export async function filesAlreadyThere(dir: string, files: readonly TemplateFile[]): Promise<string[]> {
  const there: string[] = [];
  for (const file of files) if (await lstat(path.join(dir, file.path)).then(() => true, () => false)) there.push(file.path);
  return there;
}

/**
 * Writes the files into `dir`, refusing (exit status 2, nothing written)
 * when any of them is already there, unless `overwrite`.
 */
export async function writeTemplate(dir: string, files: readonly TemplateFile[], options: { overwrite: boolean }): Promise<void> {
  if (!options.overwrite) {
    const there = await filesAlreadyThere(dir, files);
    if (there.length > 0) {
      throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${dir} already has ${there.join(', ')}: nothing was written (--force overwrites them)`);
    }
  }
  for (const file of files) {
    const target = path.join(dir, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    // Overwriting replaces the entry (a symlink is not followed out of the folder) and gives the new file its mode.
    if (options.overwrite && (await lstat(target).then((info) => !info.isDirectory(), () => false))) await unlink(target);
    await writeFile(target, file.text, { mode: file.mode ?? 0o644, flag: 'wx' });
  }
}
