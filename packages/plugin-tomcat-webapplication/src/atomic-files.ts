import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, realpath, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** True when both are regular files with the same bytes; false when `target` is missing. */
export async function sameContent(source: string, target: string): Promise<boolean> {
  const [a, b] = await Promise.all([stat(source), stat(target).catch(() => undefined)]);
  if (!b?.isFile() || a.size !== b.size) return false;
  return (await sha256(source)) === (await sha256(target));
}

/**
 * Copies `source` to `targetDir/name` so that a watcher of `targetDir` (Tomcat's
 * deployer) only ever sees the whole file: it is copied under a temporary name
 * into a staging folder beside `targetDir` (same file system, but not watched),
 * then renamed into place. `targetDir` is created when missing. An identical
 * file is left alone, so Tomcat does not redeploy it. Returns whether it
 * wrote anything.
 */
export async function installAtomically(source: string, targetDir: string, name: string): Promise<boolean> {
  const target = join(targetDir, name);
  if (await sameContent(source, target)) return false;
  await mkdir(targetDir, { recursive: true });
  const staging = join(dirname(await realpath(targetDir)), '.dysnomia-staging');
  const temporary = join(staging, `${name}.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    await copyIntoStaging(source, staging, temporary);
    // Owner read-write; group and others keep at most the read bits the source gives them (a descriptor may hold a password).
    await chmod(temporary, ((await stat(source)).mode & 0o644) | 0o600);
    await rename(temporary, target);
  } finally {
    await rm(temporary, { force: true });
    await rmdir(staging).catch(() => undefined); // another activation may still be using it
  }
  return true;
}

/**
 * Copies `source` to `temporary` in the staging folder. Another activation
 * into the same container removes the folder when it finds it empty, which
 * can happen between our mkdir and our copy, or inside the mkdir itself
 * (Node's recursive mkdir answers EEXIST with a stat, and that stat fails
 * with ENOENT when the folder went in between): the folder is made again
 * and the copy retried. Once our file is in it, no one can remove it.
 */
async function copyIntoStaging(source: string, staging: string, temporary: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(staging, { recursive: true });
      await copyFile(source, temporary);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 10 || !(await exists(source))) throw error;
    }
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}
