import { chmod, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { Store } from '@dysnomia/engine/internal/store/store.js';
import { component } from '@dysnomia/engine/internal/store/build-function.js';
import { hashTree } from '@dysnomia/engine/internal/store/tree-hash.js';
import { readSnapshot } from '@dysnomia/engine/internal/store/tree-snapshot.js';
import { SourceCache } from '../packages/deploy/src/deploy/source-cache.js';
import { tempDir } from './helpers/cli.js';

/** Changes a file inside a (read-only) store entry, as a damaged disk or a careless hand would. */
async function damage(file: string, text: string): Promise<void> {
  await chmod(path.dirname(file), 0o755);
  await chmod(file, 0o644);
  await writeFile(file, text);
}

/** A build function that counts its runs in a file outside the store (its path an input, so the key names it). */
function counted(counter: string, greeting: string) {
  return component({
    name: 'greeter',
    inputs: { counter, greeting },
    async build(out, inputs) {
      const { counter: file, greeting: text } = inputs as { counter: string; greeting: string };
      const { appendFile, writeFile: write } = await import('node:fs/promises');
      await appendFile(file, 'run\n');
      await write(`${out}/greeting`, `${text}\n`);
    },
  });
}

const runs = async (counter: string) => (await readFile(counter, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

t.test('a small folder read into memory becomes the entry a copy would: same name, modes, links', async (t) => {
  const dir = await tempDir(t, 'dysnomia-build-cache-');
  const source = path.join(dir, 'pkg');
  await mkdir(path.join(source, 'bin'), { recursive: true });
  await writeFile(path.join(source, 'bin', 'run'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  await writeFile(path.join(source, 'secret'), 'password\n', { mode: 0o600 });
  await writeFile(path.join(source, 'readme'), 'text\n');
  await symlink('bin/run', path.join(source, 'link'));
  t.ok(readSnapshot(source), 'small enough to be read whole');
  t.equal(readSnapshot(source, { bytes: 4, nodes: 100 }), undefined, 'over the byte limit: left to the copy');
  t.equal(readSnapshot(source, { bytes: 1 << 20, nodes: 3 }), undefined, 'over the file-count limit: left to the copy');

  const store = Store.at(path.join(dir, 'state'));
  const entry = await store.add(source);
  const fromDisk = await hashTree(source, 'pkg', []);
  t.equal(entry, `${fromDisk.hashPart}-pkg`, 'named as hashing the folder on disk names it');
  t.ok(await store.verify(entry), 'its contents hash to its name');
  const stored = store.path(entry);
  t.equal((await stat(path.join(stored, 'bin', 'run'))).mode & 0o777, 0o555, 'executable stays executable, read-only');
  t.equal((await stat(path.join(stored, 'secret'))).mode & 0o777, 0o400, 'a private file stays private');
  t.equal((await stat(path.join(stored, 'readme'))).mode & 0o777, 0o444);
  t.equal(await readFile(path.join(stored, 'link'), 'utf8'), '#!/bin/sh\necho hi\n', 'the link is kept');
  t.equal(await store.add(source), entry, 'adding it again gives the same entry');
});

t.test('a build function runs once for the same inputs, again for changed ones, and again when its cached result was damaged', async (t) => {
  const dir = await tempDir(t, 'dysnomia-build-cache-');
  const store = Store.at(path.join(dir, 'state'));
  const counter = path.join(dir, 'runs');

  const first = await store.add(counted(counter, 'hello'));
  t.equal(await runs(counter), 1, 'built once');
  t.equal(await store.add(counted(counter, 'hello')), first, 'same inputs: the cached entry');
  t.equal(await runs(counter), 1, 'an unchanged build does not run again');

  const changed = await store.add(counted(counter, 'bonjour'));
  t.not(changed, first, 'a changed input is another entry');
  t.equal(await runs(counter), 2, 'a changed input is built');

  await damage(path.join(store.path(first), 'greeting'), 'tampered\n');
  t.notOk(await store.verify(first), 'the cached result is damaged');
  t.equal(await store.add(counted(counter, 'hello')), first, 'rebuilt under the same name');
  t.equal(await runs(counter), 3, 'the damaged result was detected and the build ran again');
  t.ok(await store.verify(first), 'the entry is whole again');
  t.equal(await readFile(path.join(store.path(first), 'greeting'), 'utf8'), 'hello\n');
  t.equal(await store.add(counted(counter, 'hello')), first);
  t.equal(await runs(counter), 3, 'and is reused from then on');
});

t.test('a folder source: the quick-check cache reuses its entry, and a damaged entry is made again from the source', async (t) => {
  const dir = await tempDir(t, 'dysnomia-build-cache-');
  const store = Store.at(path.join(dir, 'state'));
  const source = path.join(dir, 'component');
  await mkdir(path.join(source, 'bin'), { recursive: true });
  await writeFile(path.join(source, 'bin', 'wrapper'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });

  const cache = new SourceCache(store);
  const missing = await cache.lookup(source);
  t.equal(missing.entry, undefined, 'nothing cached yet');
  const entry = await store.add(source);
  await cache.record(missing.key!, entry);
  await cache.save();

  t.equal((await new SourceCache(store).lookup(source)).entry, entry, 'an unchanged source: its entry, without adding it again');

  await damage(path.join(store.path(entry), 'bin', 'wrapper'), '#!/bin/sh\nexit 1\n');
  const again = await new SourceCache(store).lookup(source);
  t.equal(again.entry, undefined, 'the damaged entry is not reused');
  t.notOk(await store.has(entry), 'and was removed from the store');
  t.equal(await store.add(source), entry, 'adding the source again makes the same entry');
  t.ok(await store.verify(entry), 'whole');

  await writeFile(path.join(source, 'bin', 'wrapper'), '#!/bin/sh\nexit 2\n');
  t.equal((await new SourceCache(store).lookup(source)).entry, undefined, 'a changed source is added again');
});
