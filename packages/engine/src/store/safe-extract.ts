import { closeSync, fchmodSync, lstatSync, mkdirSync, openSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ReadEntry } from 'tar';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { isPrivateMode, writableFileMode } from './file-modes.js';

export interface ExtractOptions {
  /** Refuse symbolic links whose target is absolute or climbs out of `dest` (component tarballs). */
  confineLinks: boolean;
  /** Called with each entry's clean relative path before anything is written; throw to refuse it. */
  check?: (relative: string, type: string) => void;
  /** Called when a regular file has been written completely. */
  onFile?: (relative: string) => void;
}

/**
 * Extracts a tar stream (gzip or not) into the existing folder `dest`, writing
 * every file itself: absolute paths, `..` segments, hard links, devices and
 * paths through a symbolic link are refused, never followed. Files get mode
 * 0644, or 0755 when the archive marks them executable; a member the archive
 * keeps from group and others (mode & 0o044 = 0) gets 0600 (0700), from its
 * creation on. Modes are set exactly, whatever the umask, because the tree
 * hash counts them. Rejects on the first
 * refused entry and on a truncated or corrupt archive; the caller removes
 * `dest` then.
 */
export async function extractTar(input: NodeJS.ReadableStream, dest: string, options: ExtractOptions): Promise<void> {
  // tar is loaded on first use: the engine's entry must stay cheap to import for plugins.
  const { Parser } = await import('tar');
  const parser = new Parser({ strict: true });
  const writes: Array<Promise<void>> = [];
  const entries: ReadEntry[] = [];
  let refused: Error | undefined;

  parser.on('entry', (entry: ReadEntry) => {
    if (refused !== undefined) return entry.resume();
    entries.push(entry);
    try {
      // A failed write (disk full, file too large) stops the extraction at once; handled here, so it never goes unhandled.
      const write = writeEntry(entry, dest, options).catch((error: unknown) => {
        if (refused === undefined) {
          refused = error instanceof DysnomiaError ? error : new DysnomiaError('ERR_DYSNOMIA_INPUT', `cannot write '${entry.path}': ${(error as Error).message}`, { exitCode: EXIT_OPERATION_FAILED, cause: error });
          parser.abort(refused);
        }
      });
      writes.push(write);
    } catch (error) {
      refused = error as Error;
      entry.resume();
      parser.abort(refused);
    }
  });

  try {
    await pipeline(input as NodeJS.ReadableStream & AsyncIterable<Buffer>, parser as unknown as NodeJS.WritableStream);
  } catch (error) {
    // An entry the archive stopped in the middle of (a cut-off gzip stream) never ends by itself: its write would wait forever.
    const failure = refused ?? archiveError(error);
    for (const entry of entries) if (!entry.emittedEnd) entry.emit('error', failure);
    await Promise.allSettled(writes);
    throw failure;
  }
  await Promise.all(writes);
  if (refused !== undefined) throw refused;
}

function archiveError(error: unknown): DysnomiaError {
  const message = error instanceof Error ? error.message : String(error);
  return new DysnomiaError('ERR_DYSNOMIA_INPUT', `unreadable or incomplete archive: ${message.replace(/^TAR_\w+: /, '')}`, {
    exitCode: EXIT_OPERATION_FAILED,
    cause: error,
  });
}

function refuse(entryPath: string, why: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_INPUT', `archive entry '${entryPath}' refused: ${why}`);
}

/** The entry's path relative to dest, or undefined for the archive's top folder itself (`./`). */
export function cleanRelativePath(raw: string): string | undefined {
  if (raw.includes('\0')) throw refuse(raw, 'NUL in the path');
  if (path.posix.isAbsolute(raw) || /^[A-Za-z]:/.test(raw)) throw refuse(raw, 'absolute path');
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw refuse(raw, "'..' climbs out of the folder");
  return segments.length === 0 ? undefined : segments.join('/');
}

function writeEntry(entry: ReadEntry, dest: string, options: ExtractOptions): Promise<void> {
  const relative = cleanRelativePath(entry.path);
  if (relative === undefined) {
    entry.resume();
    return Promise.resolve();
  }
  options.check?.(relative, entry.type);
  const target = path.join(dest, relative);
  ensureParentFolders(dest, relative);
  switch (entry.type) {
    case 'Directory':
      if (!isDirectory(target)) {
        removeNonFolder(target, relative);
        mkdirSync(target);
      }
      entry.resume();
      return Promise.resolve();
    case 'File':
    case 'OldFile':
    case 'ContiguousFile': {
      removeNonFolder(target, relative);
      const memberMode = entry.mode ?? 0o644;
      const mode = writableFileMode({ executable: (memberMode & 0o111) !== 0, private: isPrivateMode(memberMode) });
      return writeFile(entry, target, mode).then(() => options.onFile?.(relative));
    }
    case 'SymbolicLink': {
      const linkTarget = entry.linkpath ?? '';
      if (linkTarget === '') throw refuse(entry.path, 'a symbolic link without a target');
      if (options.confineLinks) {
        const resolved = path.resolve(path.dirname(target), linkTarget);
        if (path.isAbsolute(linkTarget) || (resolved !== dest && !resolved.startsWith(dest + path.sep))) {
          throw refuse(entry.path, `the link points outside the folder (${linkTarget})`);
        }
      }
      removeNonFolder(target, relative);
      symlinkSync(linkTarget, target);
      entry.resume();
      return Promise.resolve();
    }
    default:
      throw refuse(entry.path, `${entry.type} entries are not accepted (only files, folders and symbolic links)`);
  }
}

/**
 * Writes a member's bytes as they arrive, each chunk with one synchronous
 * write: the data is in memory already and the page cache takes it at once,
 * while a write stream's round trip through the thread pool per chunk made
 * a large file's extraction wait on the scheduler (thousands of hand-offs
 * per 200 MB, each slow on a busy machine). The file is created with its
 * final mode (a private file is never readable by others, not even while it
 * is written), then given it exactly, whatever the umask.
 */
function writeFile(entry: ReadEntry, target: string, mode: number): Promise<void> {
  const fd = openSync(target, 'wx', mode);
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      closeQuietly(fd);
      reject(error);
    };
    entry.on('data', (chunk: Buffer) => {
      if (failed) return;
      try {
        for (let written = 0; written < chunk.length; ) written += writeSync(fd, chunk, written, chunk.length - written);
      } catch (error) {
        fail(error);
      }
    });
    entry.on('error', fail);
    entry.on('end', () => {
      if (failed) return;
      try {
        fchmodSync(fd, mode);
        closeSync(fd);
        resolve();
      } catch (error) {
        fail(error);
      }
    });
  });
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed, or the error that brought us here says more
  }
}

/** Creates missing parents; a parent that exists as anything but a real folder (a link, say) is refused. */
function ensureParentFolders(dest: string, relative: string): void {
  const segments = relative.split('/').slice(0, -1);
  let current = dest;
  for (const segment of segments) {
    current = path.join(current, segment);
    const info = lstatOrUndefined(current);
    if (info === undefined) mkdirSync(current);
    else if (!info.isDirectory()) throw refuse(relative, `'${path.relative(dest, current)}' is not a folder in the archive`);
  }
}

function lstatOrUndefined(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

function isDirectory(file: string): boolean {
  return lstatOrUndefined(file)?.isDirectory() ?? false;
}

/** A later entry for the same path replaces an earlier file or link (tar semantics), never a folder. */
function removeNonFolder(file: string, relative: string): void {
  const info = lstatOrUndefined(file);
  if (info === undefined) return;
  if (info.isDirectory()) throw refuse(relative, 'a folder of that name is already in the archive');
  unlinkSync(file);
}
