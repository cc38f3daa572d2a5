import { mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { installAtomically } from '../src/atomic-files.js';

// Activations into one container run at once; each one's clean-up of the shared staging folder must not pull it from under another's copy.
t.test('installs into one folder at the same time all succeed', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-atomic-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const webapps = path.join(dir, 'webapps');
  const names = Array.from({ length: 200 }, (_, i) => `app${i}.war`);
  for (const name of names) await writeFile(path.join(dir, name), `contents of ${name}`);
  const outcomes = await Promise.allSettled(names.map(async (name, i) => {
    // Staggered starts: some begin while others are finishing (and tidying the staging folder).
    await new Promise((resolve) => setTimeout(resolve, i % 40));
    return installAtomically(path.join(dir, name), webapps, name);
  }));
  const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => String(o.reason));
  t.same(failed, [], 'no install failed');
  t.same((await readdir(webapps)).sort(), [...names].sort(), 'every file is in place');
  t.equal(await readFile(path.join(webapps, 'app7.war'), 'utf8'), 'contents of app7.war');
  t.same((await readdir(dir)).filter((name) => name.startsWith('.')), [], 'the staging folder is gone once all are done');
});

// Another activation tidies the staging folder whenever it finds it empty, at any moment of ours (even inside our mkdir).
t.test('installs succeed while another activation keeps removing the empty staging folder', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-atomic-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const webapps = path.join(dir, 'webapps');
  const staging = path.join(dir, '.dysnomia-staging');
  const names = Array.from({ length: 100 }, (_, i) => `app${i}.war`);
  for (const name of names) await writeFile(path.join(dir, name), `contents of ${name}`);
  let installing = true;
  let removals = 0;
  const tidier = (async () => {
    while (installing) await rmdir(staging).then(() => removals++, () => undefined);
  })();
  const outcomes = await Promise.allSettled(names.map((name) => installAtomically(path.join(dir, name), webapps, name)));
  installing = false;
  await tidier;
  const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => String(o.reason));
  t.same(failed, [], 'no install failed');
  t.same((await readdir(webapps)).sort(), [...names].sort(), 'every file is in place');
  t.ok(removals > 0, 'the staging folder was removed under the installs');
});
