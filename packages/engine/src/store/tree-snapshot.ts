import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DysnomiaError } from '../errors.js';
import { fileKind, writableFileMode } from './file-modes.js';
import { hashOrder, type SnapshotNode } from './tree-hash.js';

/** What a source may hold to be read into memory whole; a larger one is copied and hashed from disk. */
export const SNAPSHOT_LIMITS = { bytes: 4 * 2 ** 20, nodes: 2000 };

/**
 * Reads a small folder whole into memory (synchronously: a component folder
 * of a few files costs a few syscalls, where a thread-pool round trip per
 * file cost more than the work), or undefined when it is larger than
 * `limits`. Its bytes are read once: what is hashed is what gets written, even
 * if the source changes meanwhile. Links are kept as they are, never followed.
 */
export function readSnapshot(root: string, limits = SNAPSHOT_LIMITS): SnapshotNode | undefined {
  const budget = { bytes: limits.bytes, nodes: limits.nodes };
  const read = (file: string): SnapshotNode | undefined => {
    if (--budget.nodes < 0) return undefined;
    const info = lstatSync(file);
    if (info.isDirectory()) {
      const children: [string, SnapshotNode][] = [];
      for (const name of hashOrder(readdirSync(file))) {
        const child = read(path.join(file, name));
        if (child === undefined) return undefined;
        children.push([name, child]);
      }
      return { kind: 'dir', children };
    }
    if (info.isFile()) {
      budget.bytes -= info.size;
      if (budget.bytes < 0) return undefined;
      return { kind: 'file', mode: info.mode, data: readFileSync(file) };
    }
    if (info.isSymbolicLink()) return { kind: 'link', target: readlinkSync(file) };
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${file}: only files, folders and symbolic links can go into the store`);
  };
  return read(root);
}

/** Writes a folder's snapshot into the empty folder `out` (owner-writable; the store makes it read-only), file kinds exact whatever the umask. */
export function writeSnapshotInto(root: Extract<SnapshotNode, { kind: 'dir' }>, out: string): void {
  const write = (node: SnapshotNode, file: string): void => {
    if (node.kind === 'dir') {
      mkdirSync(file, { mode: 0o700 });
      for (const [name, child] of node.children) write(child, path.join(file, name));
    } else if (node.kind === 'file') {
      const mode = writableFileMode(fileKind(node.mode));
      // Created with its final kind's mode: a private file is never readable by others, not even for a moment.
      writeFileSync(file, node.data, { mode, flag: 'wx' });
      chmodSync(file, mode);
    } else {
      symlinkSync(node.target, file);
    }
  };
  for (const [name, child] of root.children) write(child, path.join(out, name));
}
