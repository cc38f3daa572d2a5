import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { tempDir } from '../../../test/helpers/cli.js';
import { waitFor } from '../../../test/helpers/fixtures.js';
import { gcLockFile } from '../src/locks/profile-lock.js';
import { collectMachine, withCollectionLock } from '../src/store/collection.js';
import { heldEntries, holdsDir, StoreHold } from '../src/store/holds.js';
import { Store } from '../src/store/index.js';

async function entry(store: Store, dir: string, name: string): Promise<string> {
  const folder = path.join(dir, 'src', name);
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'file'), `${name}\n`);
  return store.add(folder, { cwd: dir });
}

t.test('a live hold keeps its entries from a collection; released, they go', async (t) => {
  const dir = await tempDir(t, 'dysnomia-holds-');
  const stateDir = path.join(dir, 'state');
  const store = Store.at(stateDir);
  const held = await entry(store, dir, 'held');
  const loose = await entry(store, dir, 'loose');
  const hold = new StoreHold(stateDir);
  await hold.add([held]);
  t.same(await heldEntries(stateDir), [held]);
  const first = await collectMachine(stateDir);
  t.same(first.removed, [loose], 'only the entry nothing holds goes');
  t.ok(await store.has(held));
  await hold.release();
  t.same(await readdir(holdsDir(stateDir)), [], 'the hold file goes with release');
  const second = await collectMachine(stateDir);
  t.same(second.removed, [held]);
});

t.test('a hold whose process is gone counts for nothing and the collection removes it', async (t) => {
  const dir = await tempDir(t, 'dysnomia-holds-dead-');
  const stateDir = path.join(dir, 'state');
  const store = Store.at(stateDir);
  const sent = await entry(store, dir, 'sent');
  await mkdir(holdsDir(stateDir), { recursive: true });
  // pid 999999999 is beyond any pid_max: that process is gone.
  const dead = { version: 1, holder: { user: 'deployer', host: os.hostname(), pid: 999_999_999, since: '2026-12-01T00:00:00.000Z' }, storePaths: [sent] };
  await writeFile(path.join(holdsDir(stateDir), '999999999-dead.json'), JSON.stringify(dead));
  t.same(await heldEntries(stateDir), [], 'not counted');
  const collected = await collectMachine(stateDir);
  t.same(collected.removed, [sent]);
  t.same(await readdir(holdsDir(stateDir)), [], 'the stale hold is removed');
});

t.test('a hold waits while a collection runs, then answers', async (t) => {
  const dir = await tempDir(t, 'dysnomia-holds-wait-');
  const stateDir = path.join(dir, 'state');
  let holdDone = false;
  let release!: () => void;
  const collecting = withCollectionLock(stateDir, () => new Promise<void>((resolve) => (release = resolve)), { refuseWhileDeploying: false });
  await waitFor(async () => (await readdir(path.dirname(gcLockFile(stateDir))).catch(() => [] as string[])).includes('store-gc.json'), 'the collection lock');
  const hold = new StoreHold(stateDir);
  const adding = hold.add(['0000000000000000000000000000000a-x']).then(() => void (holdDone = true));
  // The hold is written before it looks at the collection's lock: the collection can see it.
  await waitFor(async () => (await readdir(holdsDir(stateDir)).catch(() => [] as string[])).length === 1, 'the hold file');
  t.equal(holdDone, false, 'still waiting while the collection holds its lock');
  release();
  await collecting;
  await adding;
  t.equal(holdDone, true, 'goes on once the collection is done');
  await hold.release();
});
