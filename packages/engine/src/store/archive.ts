import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { parseEntryName } from './entry-name.js';
import type { EntryMeta } from './meta.js';
import { extractTar } from './safe-extract.js';
import { hashTree } from './tree-hash.js';
import { readHeaderLine } from '../archive-header.js';

/**
 * The archive format, made to be piped through an SSH exec channel:
 *
 *   dysnomia-store-archive 1 {"entries":[<EntryMeta>, …]}\n
 *   <a tar stream holding each entry's folder, in the same order>
 *
 * The header line lists what must arrive; the receiver checks that every
 * listed entry arrived and hashes to its name, so a stream cut anywhere (even
 * at a tar block boundary) is refused as a whole.
 */
const MAGIC = 'dysnomia-store-archive';
const FORMAT_VERSION = 1;
const MAX_HEADER = 16 * 1024 * 1024;

export async function exportArchive(storeDir: string, metas: EntryMeta[], output: NodeJS.WritableStream): Promise<void> {
  const header = `${MAGIC} ${FORMAT_VERSION} ${JSON.stringify({ entries: metas })}\n`;
  const { create: createTar } = await import('tar'); // loaded on first use, as in safe-extract.ts
  const tar = createTar({ cwd: storeDir, portable: true, noMtime: true, linkCache: new NoHardLinks() }, metas.map((m) => m.entry));
  // The packer reads on by itself, also after the pipeline failed (the receiver gone) and before it is read:
  // an error of it then, with no listener, ended the whole process (seen as EMFILE with many transfers at once).
  let failure: unknown;
  tar.on('error', (error: unknown) => void (failure ??= error));
  async function* framed(): AsyncGenerator<Buffer> {
    yield Buffer.from(header);
    for await (const chunk of tar as AsyncIterable<Buffer>) yield chunk;
    if (failure !== undefined) throw failure;
  }
  await pipeline(framed, output);
}

/** Files that are hard links of each other go as separate files: the receiver accepts no hard links. */
class NoHardLinks extends Map<`${number}:${number}`, string> {
  override set(): this {
    return this;
  }
}

/**
 * Reads an archive into `work` and verifies it; returns the metadata of the
 * entries in dependency order. Nothing outside `work` is touched.
 */
export async function importArchive(input: NodeJS.ReadableStream, work: string, store: { has(entry: string): Promise<boolean> }): Promise<EntryMeta[]> {
  const iterator = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const { header, rest } = await readHeaderLine(iterator, { maxBytes: MAX_HEADER, kind: 'store archive', refuse: incomplete });
  const metas = parseHeader(header);
  const listed = new Map(metas.map((m) => [m.entry, m]));
  const body = Readable.from(
    (async function* () {
      if (rest.length > 0) yield rest;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    })(),
  );
  await extractTar(body, work, {
    confineLinks: false,
    check(relative) {
      const top = relative.split('/')[0]!;
      if (!listed.has(top)) throw incomplete(`'${relative}' belongs to no entry the archive lists`);
    },
  });

  const arrived = new Set(metas.map((m) => m.entry));
  for (const meta of metas) {
    const parsed = parseEntryName(meta.entry)!;
    const hash = await hashTree(path.join(work, meta.entry), parsed.name, meta.references).catch((error: unknown) => {
      throw incomplete(`${meta.entry} did not arrive whole (${error instanceof Error ? error.message : String(error)})`);
    });
    if (hash.hashPart !== parsed.hash || hash.sha256 !== meta.sha256) {
      throw incomplete(`${meta.entry}: the contents do not match the hash in the name (damaged or tampered with)`);
    }
    meta.size = hash.size;
    for (const reference of meta.references) {
      if (!arrived.has(reference) && !(await store.has(reference))) {
        throw incomplete(`${meta.entry} refers to ${reference}, which is neither in the archive nor in the store`);
      }
    }
  }
  return dependencyOrder(metas);
}

function incomplete(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_INPUT', `store archive refused: ${message}`, { exitCode: EXIT_OPERATION_FAILED });
}

function parseHeader(header: string): EntryMeta[] {
  const prefix = `${MAGIC} ${FORMAT_VERSION} `;
  if (!header.startsWith(prefix)) {
    throw incomplete(header.startsWith(MAGIC) ? `unsupported format version: ${header.slice(MAGIC.length, MAGIC.length + 8).trim()}` : 'not a store archive');
  }
  let parsed: { entries?: unknown };
  try {
    parsed = JSON.parse(header.slice(prefix.length)) as { entries?: unknown };
  } catch {
    throw incomplete('the header line is not valid JSON');
  }
  if (!Array.isArray(parsed.entries)) throw incomplete('the header lists no entries');
  const seen = new Set<string>();
  return parsed.entries.map((raw: unknown) => {
    const meta = raw as Partial<EntryMeta>;
    if (typeof meta.entry !== 'string' || parseEntryName(meta.entry) === undefined) throw incomplete(`bad entry name in the header: ${JSON.stringify(meta.entry)}`);
    if (seen.has(meta.entry)) throw incomplete(`${meta.entry} is listed twice`);
    seen.add(meta.entry);
    if (!Array.isArray(meta.references) || !meta.references.every((r) => typeof r === 'string' && parseEntryName(r) !== undefined)) {
      throw incomplete(`${meta.entry}: bad references in the header`);
    }
    if (typeof meta.sha256 !== 'string') throw incomplete(`${meta.entry}: no sha256 in the header`);
    return { version: 1, entry: meta.entry, references: [...meta.references].sort(), sha256: meta.sha256, size: Number(meta.size) || 0 };
  });
}

/** References before the entries that need them, so the store never holds an entry whose references are missing. */
function dependencyOrder(metas: EntryMeta[]): EntryMeta[] {
  const byName = new Map(metas.map((m) => [m.entry, m]));
  const ordered: EntryMeta[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (meta: EntryMeta) => {
    const current = state.get(meta.entry);
    if (current === 'done') return;
    if (current === 'visiting') throw incomplete(`${meta.entry} is part of a reference cycle`);
    state.set(meta.entry, 'visiting');
    for (const reference of meta.references) {
      const inArchive = byName.get(reference);
      if (inArchive !== undefined) visit(inArchive);
    }
    state.set(meta.entry, 'done');
    ordered.push(meta);
  };
  metas.forEach(visit);
  return ordered;
}
