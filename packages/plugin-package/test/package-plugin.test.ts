import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from '../../../test/helpers/cli.js';

t.test('type package: every operation succeeds and changes nothing in the component or the state', async (t) => {
  const dir = await tempDir(t);
  const component = path.join(dir, 'mc');
  await mkdir(path.join(component, 'bin'), { recursive: true });
  await writeFile(path.join(component, 'bin/mc'), '#!/bin/sh\n');
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'state') };
  for (const operation of ['activate', 'activate', 'deactivate', 'deactivate', 'lock', 'unlock', 'collect-garbage']) {
    const result = await dysnomia([operation, '-c', component, '-t', 'package', '-E'], { env });
    t.equal(result.code, 0, `${operation}: ${result.stderr}`);
  }
  t.same(await readdir(component, { recursive: true }), ['bin', 'bin/mc'], 'the component is untouched');
  t.same(await readdir(path.join(dir, 'state/activated/package')), [], 'deactivated: no activated marker left');
  // cache/ holds the engine's npm resolution of the plugin, not state of the component.
  t.same((await readdir(path.join(dir, 'state'))).filter((name) => name !== 'cache'), ['activated'], 'no garbage markers: the package type is not stateful');

  const listed = await dysnomia(['plugins', '--json'], { env });
  const entry = (JSON.parse(listed.stdout) as Array<{ name: string; type: string; status: string }>).find((m) => m.type === 'package');
  t.match(entry, { name: '@dysnomia/plugin-package', status: 'active' }, 'found as the first-party npm package');
});
