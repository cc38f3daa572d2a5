import { createHash, type Hash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError } from '../errors.js';
import { compressHash, nixBase32 } from './base32.js';
import { fileKind } from './file-modes.js';

export interface TreeHash {
  /** The 32 characters an entry name starts with. */
  hashPart: string;
  /** `sha256:<hex>` of the serialization (name and references included). */
  sha256: string;
  /** Bytes in regular files. */
  size: number;
}

/**
 * Hashes a store entry: SHA-256 over a canonical serialization of the name,
 * the sorted references and the tree (entries sorted by their bytes; for each
 * file its executable and private bits, size and contents; for each symbolic
 * link its target, never followed). Every string is length-prefixed so no two
 * trees serialize alike. Timestamps, owners and other permission bits do not
 * count.
 */
export async function hashTree(root: string, name: string, references: string[]): Promise<TreeHash> {
  const hash = startHash(name, references);
  const sizes = { bytes: 0 };
  const info = await lstat(root);
  if (!info.isDirectory()) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `a store entry must be a folder: ${root}`);
  await hashNode(hash, root, sizes);
  return finishHash(hash, sizes.bytes);
}

/** hashTree of a tree read into memory (tree-snapshot.ts): the same serialization, so the same entry name. */
export function hashSnapshot(root: SnapshotNode, name: string, references: string[]): TreeHash {
  const hash = startHash(name, references);
  const sizes = { bytes: 0 };
  const visit = (node: SnapshotNode): void => {
    if (node.kind === 'dir') {
      putDirectory(hash, node.children.map(([child]) => child));
      for (const [child, inner] of node.children) {
        putString(hash, child);
        visit(inner);
      }
    } else if (node.kind === 'file') {
      putFileHeader(hash, node.mode, node.data.length);
      hash.update(node.data);
      sizes.bytes += node.data.length;
    } else {
      putLink(hash, node.target);
    }
  };
  if (root.kind !== 'dir') throw new DysnomiaError('ERR_DYSNOMIA_INPUT', 'a store entry must be a folder');
  visit(root);
  return finishHash(hash, sizes.bytes);
}

/** A file tree held in memory: folders' children sorted by their names' bytes, as the hash takes them. */
export type SnapshotNode =
  | { kind: 'dir'; children: [string, SnapshotNode][] }
  | { kind: 'file'; mode: number; data: Buffer }
  | { kind: 'link'; target: string };

/** Names in the order the hash takes them. */
export function hashOrder(names: string[]): string[] {
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function startHash(name: string, references: string[]): Hash {
  const hash = createHash('sha256');
  putString(hash, 'dysnomia-store-1');
  putString(hash, name);
  const sorted = [...new Set(references)].sort();
  putNumber(hash, sorted.length);
  for (const reference of sorted) putString(hash, reference);
  return hash;
}

function finishHash(hash: Hash, bytes: number): TreeHash {
  const digest = hash.digest();
  return { hashPart: nixBase32(compressHash(digest, 20)), sha256: `sha256:${digest.toString('hex')}`, size: bytes };
}

function putDirectory(hash: Hash, names: string[]): void {
  putString(hash, 'dir');
  putNumber(hash, names.length);
}

function putFileHeader(hash: Hash, mode: number, size: number): void {
  putString(hash, 'file');
  putString(hash, fileFlags(mode));
  putNumber(hash, size);
}

function putLink(hash: Hash, target: string): void {
  putString(hash, 'link');
  putString(hash, target);
}

/**
 * Synchronous calls for the metadata and small files: a store entry has
 * hundreds of small files (a runtime, ~800), and a thread-pool round trip
 * per file cost more than the hashing. Large files are streamed.
 */
async function hashNode(hash: Hash, file: string, sizes: { bytes: number }): Promise<void> {
  const info = lstatSync(file);
  if (info.isDirectory()) {
    const names = hashOrder(readdirSync(file));
    putDirectory(hash, names);
    for (const name of names) {
      putString(hash, name);
      await hashNode(hash, path.join(file, name), sizes);
    }
  } else if (info.isFile()) {
    putFileHeader(hash, info.mode, info.size);
    if (info.size <= READ_WHOLE) hash.update(readFileSync(file));
    else await hashStream(hash, file);
    sizes.bytes += info.size;
  } else if (info.isSymbolicLink()) {
    putLink(hash, readlinkSync(file));
  } else {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${file}: only files, folders and symbolic links can go into the store`);
  }
}

/**
 * 'x' or '-' as before private files existed, so public contents keep their
 * entry names; a private file adds ' private' (another length, so no clash).
 */
function fileFlags(mode: number): string {
  const kind = fileKind(mode);
  return `${kind.executable ? 'x' : '-'}${kind.private ? ' private' : ''}`;
}

function putNumber(hash: Hash, value: number): void {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(BigInt(value));
  hash.update(buffer);
}

function putString(hash: Hash, value: string): void {
  const bytes = Buffer.from(value);
  putNumber(hash, bytes.length);
  hash.update(bytes);
}

/** Files up to this size are read in one call; larger ones in blocks of READ_BLOCK. */
const READ_WHOLE = 1 << 20;
const READ_BLOCK = 4 << 20;

/**
 * Synchronous reads of large blocks: the file is usually in the page cache
 * (it was just written or copied), and a read stream's thread-pool round
 * trip per 64 KiB left the hash waiting on the scheduler of a busy machine.
 * Between blocks the event loop gets a turn, so other work (a transfer's
 * channel) goes on.
 */
async function hashStream(hash: Hash, file: string): Promise<void> {
  const fd = openSync(file, 'r');
  try {
    const block = Buffer.allocUnsafe(READ_BLOCK);
    for (;;) {
      const read = readSync(fd, block, 0, READ_BLOCK, null);
      if (read === 0) return;
      hash.update(block.subarray(0, read));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    closeSync(fd);
  }
}
