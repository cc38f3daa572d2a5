import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { BASH_OWN_VARIABLES, parseEnv, parseNulList, RECORDER_MODULE, writeExecutable, writeFileIn } from './helpers/fixtures.js';

t.test('a Dysnomia shell module gets exactly OP COMPONENT CONTAINER and the container properties', async (t) => {
  const dir = await tempDir(t);
  const module = await writeExecutable(path.join(dir, 'modules/recorder'), RECORDER_MODULE);
  const record = path.join(dir, 'record');
  await writeFileIn(
    path.join(dir, 'containers/box'),
    [
      '# the recorder writes what it is given next to this path',
      'type=recorder',
      `recordTo=${record}`,
      'greeting="hello   big  world"',
      "servers=(\"alpha one\" 'beta' gamma)",
    ].join('\n'),
  );
  const component = path.join(dir, 'component');
  await mkdir(component);
  const env = {
    DYSNOMIA_MODULES_PATH: path.join(dir, 'modules'),
    DYSNOMIA_CONTAINERS_PATH: path.join(dir, 'containers'),
    DYSNOMIA_STATEDIR: path.join(dir, 'state'),
    SECRET_OF_THE_CALLER: 'must not leak',
  };

  const result = await dysnomia(['--operation', 'activate', '--component', component, '--container', 'box'], { env, cwd: dir });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, 'recorder: activate done\n', "the module's output reaches the user");
  t.same(parseNulList(await readFile(`${record}.args`, 'utf8')), ['activate', component, 'box']);

  const moduleEnv = parseEnv(await readFile(`${record}.env`, 'utf8'));
  for (const own of BASH_OWN_VARIABLES) delete moduleEnv[own];
  t.same(moduleEnv, {
    recordTo: record,
    greeting: 'hello   big  world',
    servers: 'alpha one beta gamma',
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DYSNOMIA_STATEDIR: path.join(dir, 'state'),
  }, 'the properties (type left out), PATH, HOME and DYSNOMIA_STATEDIR, nothing else');

  t.test('the short form and a relative container path: the container argument is passed as given', async (t) => {
    const again = await dysnomia(['deactivate', '-c', './component', '-C', './containers/box', '-t', module], { env, cwd: dir });
    t.equal(again.code, 0, again.stderr);
    t.same(parseNulList(await readFile(`${record}.args`, 'utf8')), ['deactivate', component, './containers/box']);
  });

  t.test('--environment: the module inherits the caller environment; the container argument is the type', async (t) => {
    const withEnv = await dysnomia(['-o', 'lock', '-c', component, '-t', 'recorder', '-E'], { env: { ...env, RECORD_TO: record }, cwd: dir });
    t.equal(withEnv.code, 0, withEnv.stderr);
    t.same(parseNulList(await readFile(`${record}.args`, 'utf8')), ['lock', component, 'recorder']);
    const inherited = parseEnv(await readFile(`${record}.env`, 'utf8'));
    t.equal(inherited.SECRET_OF_THE_CALLER, 'must not leak', 'with -E the caller environment is passed on');
    t.equal(inherited.DYSNOMIA_STATEDIR, path.join(dir, 'state'));
  });

  t.test('every operation reaches the module under its own name', async (t) => {
    for (const operation of ['unlock', 'snapshot', 'restore', 'collect-garbage', 'capture']) {
      const run = await dysnomia(['-o', operation, '-c', component, '-C', 'box'], { env, cwd: dir });
      t.equal(run.code, 0, run.stderr);
      t.equal(parseNulList(await readFile(`${record}.args`, 'utf8'))[0], operation);
    }
  });

  t.test('a module that exits non-zero fails the operation with status 1, naming module and operation', async (t) => {
    await writeFileIn(path.join(dir, 'containers/failing'), `type=recorder\nrecordTo=${record}\nexitWith=3\n`);
    const failed = await dysnomia(['-o', 'activate', '-c', component, '-C', 'failing'], { env, cwd: dir });
    t.equal(failed.code, 1);
    t.match(failed.stderr, `dysnomia: error: module "${module}" failed in activate:`);
    t.match(failed.stderr, 'exited with status 3');
    t.notMatch(failed.stderr, /^\s+at /m, 'no stack trace');
  });
});
