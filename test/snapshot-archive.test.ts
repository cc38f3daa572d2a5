import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import t from 'tap';
import { exportSnapshotArchive, importSnapshotArchive } from '../packages/engine/src/snapshots/archive.js';
import { storeSnapshot } from '../packages/engine/src/snapshots/store.js';
import { queryAll } from '../packages/engine/src/snapshots/query.js';
import { snapshotsRequest } from '../packages/engine/src/agent/snapshots-request.js';
import { tempDir } from './helpers/cli.js';

/* Snapshot archives (what dysnomia snapshot/restore -i and state migration transfer): whole or nothing, checksums checked. */

async function archiveOf(root: string, paths: string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  await exportSnapshotArchive(root, paths, sink);
  return Buffer.concat(chunks);
}

async function twoSnapshots(root: string, work: string): Promise<string[]> {
  const stored = [];
  for (const [i, text] of ['first dump\n', 'second dump, longer\n'.repeat(2000)].entries()) {
    const source = path.join(work, `dump-${i}`);
    await mkdir(source, { recursive: true });
    await writeFile(path.join(source, 'dump.sql'), text);
    stored.push((await storeSnapshot(root, 'mysql-a', 'staffdb', source)).relativePath);
  }
  return stored;
}

t.test('an archive lands under the container and component the receiver names, generations in order, private modes', async (t) => {
  const dir = await tempDir(t);
  const from = path.join(dir, 'from');
  const to = path.join(dir, 'to');
  const paths = await twoSnapshots(from, dir);
  const imported = await importSnapshotArchive(Readable.from([await archiveOf(from, paths)]), to, 'mysql-b', 'staffdb');
  const ids = paths.map((p) => p.split('/')[2]!);
  t.same(imported.map((i) => [i.path, i.generation, i.copied]), [[`mysql-b/staffdb/${ids[0]}`, 1, true], [`mysql-b/staffdb/${ids[1]}`, 2, true]]);
  t.same(await queryAll(to), imported.map((i) => i.path));
  t.equal(await readFile(path.join(to, 'snapshots/mysql-b/staffdb', ids[1]!, 'dump.sql'), 'utf8'), 'second dump, longer\n'.repeat(2000));
  t.equal((await lstat(path.join(to, 'snapshots/mysql-b/staffdb', ids[0]!, 'dump.sql'))).mode & 0o777, 0o600, 'the dump is private');
  t.equal(await readlink(path.join(to, 'generations/mysql-b/staffdb/2')), `../../../snapshots/mysql-b/staffdb/${ids[1]}`);
  t.match(await readFile(path.join(to, 'checksums/mysql-b/staffdb', ids[1]!), 'utf8'), /^sha256:[0-9a-f]{64}$/);

  const again = await importSnapshotArchive(Readable.from([await archiveOf(from, [paths[0]!])]), to, 'mysql-b', 'staffdb');
  t.same(again.map((i) => [i.generation, i.copied]), [[3, false]], 'an older snapshot sent again becomes the latest, nothing copied');
  t.same((await snapshotsRequest(to, { action: 'query', which: 'latest' })), { paths: [`mysql-b/staffdb/${ids[0]}`] });
});

t.test('a cut or tampered archive stores nothing; entries outside the listed snapshots are refused', async (t) => {
  const dir = await tempDir(t);
  const from = path.join(dir, 'from');
  const paths = await twoSnapshots(from, dir);
  const whole = await archiveOf(from, paths);
  const nothingStored = async (to: string) => t.same(await readdir(path.join(to, 'snapshots/mysql-b/staffdb')).catch(() => []), [], 'nothing stored, no temporary left');

  const cutTo = path.join(dir, 'cut');
  await t.rejects(importSnapshotArchive(Readable.from([whole.subarray(0, whole.length - 5000)]), cutTo, 'mysql-b', 'staffdb'), { code: 'ERR_DYSNOMIA_INPUT' });
  await nothingStored(cutTo);

  const header = whole.subarray(0, whole.indexOf(0x0a) + 1).toString();
  const tamperedHeader = header.replace(/sha256:[0-9a-f]{64}/, `sha256:${'0'.repeat(64)}`);
  const tamperedTo = path.join(dir, 'tampered');
  await t.rejects(importSnapshotArchive(Readable.from([Buffer.concat([Buffer.from(tamperedHeader), whole.subarray(header.length)])]), tamperedTo, 'mysql-b', 'staffdb'), /did not arrive whole/);
  await nothingStored(tamperedTo);

  const onlyFirst = header.replace(/,\{"path":"[^"]+","checksum":"[^"]+"\}/, '');
  const strayTo = path.join(dir, 'stray');
  await t.rejects(importSnapshotArchive(Readable.from([Buffer.concat([Buffer.from(onlyFirst), whole.subarray(header.length)])]), strayTo, 'mysql-b', 'staffdb'), /belongs to no snapshot the archive lists/);
  await nothingStored(strayTo);

  await t.rejects(importSnapshotArchive(Readable.from([Buffer.from('hello\n')]), path.join(dir, 'x'), 'mysql-b', 'staffdb'), /not a snapshot archive/);
  await t.rejects(importSnapshotArchive(Readable.from([whole]), path.join(dir, 'x'), '../up', 'staffdb'), /invalid container name/);
  await t.rejects(exportSnapshotArchive(from, ['mysql-a/staffdb/../../x'], new PassThrough()), /not a snapshot path/);
});

t.test('the snapshots request: names only, whole numbers to keep', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'state');
  const paths = await twoSnapshots(root, dir);
  t.same(await snapshotsRequest(root, { action: 'missing', paths: [paths[0]!, 'mysql-a/staffdb/nope'] }), { missing: ['mysql-a/staffdb/nope'] });
  await t.rejects(snapshotsRequest(root, { action: 'query', which: 'all', container: '../etc' }), /invalid container name/);
  await t.rejects(snapshotsRequest(root, { action: 'gc', keep: -1 }), /keep must be a whole number/);
  const removed = await snapshotsRequest(root, { action: 'gc', keep: 1 });
  t.same(removed, { generations: ['mysql-a/staffdb/1'], snapshots: [paths[0]] });
  t.same(await snapshotsRequest(root, { action: 'adopt', path: paths[1]! }), { path: paths[1], generation: 2 }, 'adopting the latest changes nothing');
});
