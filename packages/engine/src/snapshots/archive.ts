import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { extractTar } from '../store/safe-extract.js';
import { createGenerationLink } from './generations.js';
import { computeOutputHash } from './hash.js';
import { exists, readChecksum, snapshotDir, snapshotsDir } from './layout.js';
import { assertSegment, parseSnapshotPath, relativeSnapshotPath } from './names.js';
import { makePrivate } from './store.js';
import { readHeaderLine } from '../archive-header.js';

/**
 * Snapshots between machines, made to be piped through an SSH exec channel
 * as store archives are (`dysnomia snapshots --export-archive` on one side,
 * `--import-archive -C -c` on the other):
 *
 *   dysnomia-snapshot-archive 1 {"snapshots":[{"path":"C/X/ID","checksum":"sha256:…"}, …]}\n
 *   <a tar stream of those snapshots, relative to STATEDIR/snapshots, in that order>
 *
 * The receiver stores them under the container and component it is told
 * (a migrated service's state lands in its new container), each as the next
 * generation in the archive's order, and only once its contents hash to the
 * checksum the header lists: a stream cut anywhere stores nothing it did not
 * get whole.
 */
const MAGIC = 'dysnomia-snapshot-archive';
const FORMAT_VERSION = 1;
const MAX_HEADER = 4 * 1024 * 1024;

export interface ArchivedSnapshot {
  /** CONTAINER/COMPONENT/ID, relative to the sender's snapshots folder. */
  path: string;
  checksum: string;
}

/** Writes the snapshots at `relativePaths` (CONTAINER/COMPONENT/ID) of the state folder `root` as an archive. */
export async function exportSnapshotArchive(root: string, relativePaths: string[], output: NodeJS.WritableStream): Promise<void> {
  const listed: ArchivedSnapshot[] = [];
  for (const relative of relativePaths) {
    const { container, component, id } = parseSnapshotPath(relative);
    const dir = snapshotDir(root, container, component, id);
    if (!(await exists(dir))) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `no such snapshot: ${relative}`, { exitCode: EXIT_OPERATION_FAILED });
    const checksum = (await readChecksum(root, container, component, id)) ?? (await computeOutputHash(dir));
    listed.push({ path: relativeSnapshotPath(container, component, id), checksum });
  }
  const header = `${MAGIC} ${FORMAT_VERSION} ${JSON.stringify({ snapshots: listed })}\n`;
  const { create: createTar } = await import('tar');
  const tar = createTar({ cwd: path.join(root, 'snapshots'), portable: true, noMtime: true }, listed.map((s) => s.path));
  async function* framed(): AsyncGenerator<Buffer> {
    yield Buffer.from(header);
    for await (const chunk of tar as AsyncIterable<Buffer>) yield chunk;
  }
  await pipeline(framed, output);
}

export interface ImportedSnapshot {
  /** CONTAINER/COMPONENT/ID where it was stored. */
  path: string;
  generation: number;
  /** Whether its contents were new here (false: a snapshot with that id and contents was stored already). */
  copied: boolean;
}

/**
 * Reads an archive into the snapshots of `component` in `container` of the
 * state folder `root`, each snapshot (by its id) becoming the next generation
 * unless it already is the latest. A snapshot whose contents do not hash to
 * the listed checksum refuses the whole archive: nothing of it is stored.
 */
export async function importSnapshotArchive(input: NodeJS.ReadableStream, root: string, container: string, component: string): Promise<ImportedSnapshot[]> {
  assertSegment('container', container);
  assertSegment('component', component);
  const iterator = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const { header, rest } = await readHeaderLine(iterator, { maxBytes: MAX_HEADER, kind: 'snapshot archive', refuse: refused });
  const listed = parseHeader(header);
  const dir = snapshotsDir(root, container, component);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const work = path.join(dir, `.incoming-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  await mkdir(work, { mode: 0o700 });
  try {
    const body = Readable.from(
      (async function* () {
        if (rest.length > 0) yield rest;
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      })(),
    );
    const paths = listed.map((s) => s.path);
    await extractTar(body, work, {
      confineLinks: true,
      check(relative) {
        if (!paths.some((p) => relative === p || relative.startsWith(`${p}/`))) throw refused(`'${relative}' belongs to no snapshot the archive lists`);
      },
    });
    // Every snapshot is checked before any is stored.
    for (const snapshot of listed) {
      const arrived = path.join(work, snapshot.path);
      const checksum = await computeOutputHash(arrived).catch(() => undefined);
      if (checksum !== snapshot.checksum) throw refused(`${snapshot.path} did not arrive whole (its contents do not hash to ${snapshot.checksum})`);
      await makePrivate(arrived);
    }
    const imported: ImportedSnapshot[] = [];
    for (const snapshot of listed) {
      const { id } = parseSnapshotPath(snapshot.path);
      const target = snapshotDir(root, container, component, id);
      let copied = false;
      if (!(await exists(target)) || (await computeOutputHash(target).catch(() => undefined)) !== snapshot.checksum) {
        await rm(target, { recursive: true, force: true });
        await rename(path.join(work, snapshot.path), target);
        copied = true;
      }
      const link = await createGenerationLink(root, container, component, id, snapshot.checksum);
      imported.push({ path: relativeSnapshotPath(container, component, id), generation: link.generation, copied });
    }
    return imported;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Makes a snapshot this state folder already has the next generation of its component (unless it is the latest). */
export async function adoptSnapshot(root: string, relative: string): Promise<ImportedSnapshot> {
  const { container, component, id } = parseSnapshotPath(relative);
  const target = snapshotDir(root, container, component, id);
  if (!(await stat(target).then(() => true, () => false))) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `no such snapshot: ${relative}`, { exitCode: EXIT_OPERATION_FAILED });
  const link = await createGenerationLink(root, container, component, id, await readChecksum(root, container, component, id));
  return { path: relativeSnapshotPath(container, component, id), generation: link.generation, copied: false };
}

function refused(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_INPUT', `snapshot archive refused: ${message}`, { exitCode: EXIT_OPERATION_FAILED });
}

function parseHeader(header: string): ArchivedSnapshot[] {
  const prefix = `${MAGIC} ${FORMAT_VERSION} `;
  if (!header.startsWith(prefix)) throw refused(header.startsWith(MAGIC) ? 'unsupported format version' : 'not a snapshot archive');
  let parsed: { snapshots?: unknown };
  try {
    parsed = JSON.parse(header.slice(prefix.length)) as { snapshots?: unknown };
  } catch {
    throw refused('the header line is not valid JSON');
  }
  if (!Array.isArray(parsed.snapshots)) throw refused('the header lists no snapshots');
  const seen = new Set<string>();
  return parsed.snapshots.map((raw: unknown) => {
    const { path: relative, checksum } = (raw ?? {}) as Partial<ArchivedSnapshot>;
    if (typeof relative !== 'string' || typeof checksum !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(checksum)) throw refused(`bad snapshot in the header: ${JSON.stringify(raw)}`);
    const ref = parseSnapshotPath(relative);
    const clean = relativeSnapshotPath(ref.container, ref.component, ref.id);
    if (seen.has(clean)) throw refused(`${clean} is listed twice`);
    seen.add(clean);
    return { path: clean, checksum };
  });
}
