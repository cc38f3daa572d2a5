import { randomBytes } from 'node:crypto';
import { chmod, open, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `text` to `file` atomically: a temporary file beside it, created
 * with `mode` (then set exactly, whatever the umask), flushed, renamed over
 * the target. A reader sees the old file or the whole new one, and a file
 * holding secrets is never readable by others, not even for a moment.
 * A symbolic link stays a link (the file it points to is replaced); a
 * device or pipe (`-o /dev/stdout`) is written to, as a shell redirect would.
 */
export async function writeFileAtomic(file: string, text: string, mode = 0o644): Promise<void> {
  const real = await realpath(file).catch(() => file);
  const existing = await stat(real).catch(() => undefined);
  if (existing !== undefined && !existing.isFile()) {
    await writeFile(real, text);
    return;
  }
  const temp = path.join(path.dirname(real), `.${path.basename(real)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode & 0o600);
  try {
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temp, mode);
    await rename(temp, real);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
