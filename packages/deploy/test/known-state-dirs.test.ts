import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { KnownStateDirs } from '../src/deploy/known-state-dirs.js';

t.test('state folders reported by targets are remembered across runs', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-known-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const first = KnownStateDirs.of(dir);
  t.equal(await first.get('root@10.0.0.1:22'), undefined);
  await Promise.all([first.set('root@10.0.0.1:22', '/var/state/dysnomia'), first.set('ops@10.0.0.2:2222', '/home/ops/.dysnomia')]);
  const file = path.join(dir, 'deploy-cache/target-state-dirs.json');
  t.same(JSON.parse(await readFile(file, 'utf8')), { 'root@10.0.0.1:22': '/var/state/dysnomia', 'ops@10.0.0.2:2222': '/home/ops/.dysnomia' }, 'both writes landed');
  const written = (await stat(file)).mtimeMs;
  const second = KnownStateDirs.of(dir);
  t.equal(await second.get('ops@10.0.0.2:2222'), '/home/ops/.dysnomia', 'a later run reads them');
  await new Promise((resolve) => setTimeout(resolve, 20));
  await second.set('ops@10.0.0.2:2222', '/home/ops/.dysnomia');
  t.equal((await stat(file)).mtimeMs, written, 'an unchanged folder is not written again');
});
