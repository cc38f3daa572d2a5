import { access, copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { snapshots } from '@dysnomia/engine';
import type { Session } from './client.js';
import { createDatabase, databaseExists } from './databases.js';


/** The file a snapshot holds. Dysnomia's own module writes dump.sql.xz; restore reads both. */
export const DUMP_FILE = 'dump.sql';
const DYSNOMIA_DUMP_FILE = 'dump.sql.xz';

/**
 * mariadb-dump options that make the same data give the same bytes (no dump
 * date), a consistent view without locking (one transaction), and a dump the
 * client can load back as text (binary columns in hex), routines included.
 */
const DUMP_OPTIONS = ['--single-transaction', '--quick', '--skip-dump-date', '--routines', '--triggers', '--hex-blob', '--default-character-set=utf8mb4'];

/**
 * Dumps the database into the snapshot store. storeSnapshot names the
 * snapshot by its content hash and makes a new generation only when the dump
 * differs from the latest one.
 */
export async function snapshotDatabase(session: Session, name: string): Promise<snapshots.StoredSnapshot> {
  const { ctx } = session;
  if (!(await databaseExists(session, name))) throw new Error(`${session.label}: there is no database ${JSON.stringify(name)} to snapshot; activate it first`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-mysql-dump-'));
  try {
    // --result-file: the dump goes to the file directly, not through our memory.
    await session.dump([...DUMP_OPTIONS, `--result-file=${path.join(dir, DUMP_FILE)}`, '--', name]);
    return await snapshots.storeSnapshot(ctx.stateDir, ctx.container.name, ctx.componentName, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `use` with the path of the snapshot's dump as plain SQL. A Dysnomia
 * dump.sql.xz is decompressed into a private temporary folder first.
 */
async function withDumpFile<T>(session: Session, snapshotDir: string, use: (file: string) => Promise<T>): Promise<T> {
  const plain = path.join(snapshotDir, DUMP_FILE);
  if (await access(plain).then(() => true, () => false)) return use(plain);
  const compressed = path.join(snapshotDir, DYSNOMIA_DUMP_FILE);
  if (!(await access(compressed).then(() => true, () => false))) throw new Error(`snapshot ${snapshotDir} has neither ${DUMP_FILE} nor ${DYSNOMIA_DUMP_FILE}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-mysql-restore-'));
  try {
    const copy = path.join(dir, DYSNOMIA_DUMP_FILE);
    await copyFile(compressed, copy);
    await session.ctx.run('xz', ['--decompress', '--', copy], { output: 'capture' });
    return await use(path.join(dir, DUMP_FILE));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Loads the latest generation's dump into the database (created when
 * missing), as Dysnomia does: tables in the dump are replaced; tables made
 * after the snapshot stay. Returns the snapshot restored, or undefined when
 * there is none.
 */
export async function restoreDatabase(session: Session, name: string): Promise<string | undefined> {
  const { ctx } = session;
  const latest = await snapshots.latestGeneration(ctx.stateDir, ctx.container.name, ctx.componentName);
  if (latest === undefined) return undefined;
  const dir = snapshots.snapshotDir(ctx.stateDir, ctx.container.name, ctx.componentName, latest.snapshot);
  await withDumpFile(session, dir, async (file) => {
    if (!(await databaseExists(session, name))) await createDatabase(session, name);
    await session.runFile(file, { database: name });
  });
  return snapshots.relativeSnapshotPath(ctx.container.name, ctx.componentName, latest.snapshot);
}
