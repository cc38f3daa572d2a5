// A local target whose state folder is the coordinator's own: the deployment's lock there
// is the coordinator's, taken by the same holder, so the target does not refuse itself.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { parseEvents, writeProgram } from './helpers/deploy-fixtures.js';

t.test('a local target sharing the coordinator\'s state folder deploys, redeploys as a no-op and undeploys', async (t) => {
  const dir = await tempDir(t, 'dysnomia-local-shared-');
  const state = path.join(dir, 'state');
  const marks = path.join(dir, 'marks');
  await mkdir(marks);
  await writeProgram(path.join(dir, 'svc/bin/wrapper'), `#!/bin/sh\ncase "$1" in activate) touch ${marks}/svc ;; deactivate) rm -f ${marks}/svc ;; esac\n`);
  await writeFile(path.join(dir, 'infrastructure.json'), JSON.stringify({ here: { properties: { hostname: 'localhost', stateDir: state }, clientInterface: 'local' } }));
  await writeFile(path.join(dir, 'services.json'), JSON.stringify({ svc: { pkg: './svc', type: 'wrapper' } }));
  await writeFile(path.join(dir, 'distribution.json'), JSON.stringify({ svc: ['here'] }));
  const env = { DYSNOMIA_STATEDIR: state };
  const deploy = (extra: string[] = []) =>
    dysnomia(['deploy', '-s', path.join(dir, 'services.json'), '-i', path.join(dir, 'infrastructure.json'), '-d', path.join(dir, 'distribution.json'), '--json', ...extra], { env, cwd: dir });

  const first = await deploy();
  t.equal(first.code, 0, first.stderr);
  t.notMatch(first.stderr, /locked by/, 'the target did not refuse its own lock');
  t.same(await readdir(marks), ['svc']);
  t.same(JSON.parse(await readFile(path.join(state, 'activations/default.json'), 'utf8')).mappings.map((m: { service: string }) => m.service), ['svc']);
  t.same(await readdir(path.join(state, 'locks')), [], 'no lock left');

  const again = await deploy();
  t.equal(again.code, 0, again.stderr);
  t.same(parseEvents(again.stdout).filter((e) => e.event === 'locked' || e.event === 'step'), [], 'a no-op: nothing locked or run');

  const undeploy = await dysnomia(['deploy', '--undeploy', '--json'], { env, cwd: dir });
  t.equal(undeploy.code, 0, undeploy.stderr);
  t.same(await readdir(marks), []);
  t.same(await readdir(path.join(state, 'locks')), []);
});
