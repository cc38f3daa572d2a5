import path from 'node:path';
import t from 'tap';
import { modelDir, writeModel } from './model-files.js';
import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';
import { distributionArgument, loadDistribution } from '../src/models/distribution.js';
import { loadInfrastructure } from '../src/models/infrastructure.js';
import type { Infrastructure } from '../src/models/infrastructure.js';

const tempDir = () => modelDir(t, 'dysnomia-distribution-');
const write = writeModel;

// Two targets on one address (as two sshd ports on 127.0.0.1): a copy of a target cannot be told apart by its address.
async function infrastructure(dir: string): Promise<Infrastructure> {
  return loadInfrastructure(
    await write(dir, 'infra.json', JSON.stringify({ test1: { properties: { hostname: 'test1.example' } }, test2: { properties: { hostname: 'test2.example' }, containers: { 'mysql-test': { mysqlPort: 3307 } } } })),
  );
}

const expected = {
  svc: [{ target: 'test1' }, { target: 'test2' }],
  db: [{ target: 'test2', container: 'mysql-test' }],
  web: [{ target: 'test1', container: 'tomcat' }, { target: 'test1', container: 'tomcat-test' }],
};

t.test('simple and verbose forms in JS (function and object), TS, JSON and YAML mean the same', async (t) => {
  const dir = await tempDir();
  const infra = await infrastructure(dir);
  const byName = {
    svc: ['test1', 'test2'],
    db: { targets: [{ target: 'test2', container: 'mysql-test' }] },
    web: { targets: [{ target: 'test1', container: 'tomcat' }, { target: 'test1', container: 'tomcat-test' }] },
  };
  const files = [
    await write(
      dir,
      'function.mjs',
      `export default ({ infrastructure }) => ({
  svc: [infrastructure.test1, infrastructure.test2],
  db: { targets: [{ target: infrastructure.test2, container: 'mysql-test' }] },
  web: { targets: [{ target: { ...infrastructure.test1 }, container: 'tomcat' }, { target: infrastructure.test1, container: 'tomcat-test' }] },
});`,
    ),
    await write(dir, 'object.mjs', `export default ${JSON.stringify(byName)};`),
    await write(dir, 'model.ts', `const model: Record<string, unknown> = ${JSON.stringify(byName)};\nexport default model;\n`),
    await write(dir, 'model.json', JSON.stringify(byName, null, 2)),
    await write(
      dir,
      'model.yaml',
      'svc: [test1, test2]\ndb:\n  targets:\n    - target: test2\n      container: mysql-test\nweb:\n  targets:\n    - { target: test1, container: tomcat }\n    - { target: test1, container: tomcat-test }\n',
    ),
  ];
  for (const file of files) t.same((await loadDistribution(file, infra)).mappings, expected, path.basename(file));
});

t.test('a target copied from the infrastructure is recognised by its address, as Disnix does', async (t) => {
  const dir = await tempDir();
  const infra = await infrastructure(dir);
  const file = await write(dir, 'copy.mjs', `export default { svc: [{ properties: { hostname: 'test2.example' } }] };`);
  t.same((await loadDistribution(file, infra)).mappings, { svc: [{ target: 'test2' }] });
});

t.test('the services model gets the verbose form with the target objects', async (t) => {
  const dir = await tempDir();
  const infra = await infrastructure(dir);
  const distribution = await loadDistribution(await write(dir, 'd.json', JSON.stringify({ svc: ['test1'], db: { targets: [{ target: 'test2', container: 'mysql-test' }] } })), infra);
  const argument = distributionArgument(distribution, infra);
  t.equal(argument.svc!.targets[0]!.target, infra.test1, 'the very infrastructure object');
  t.same(argument.db, { targets: [{ target: infra.test2, container: 'mysql-test' }] });
});

t.test('bad distribution models: exit status 2 with the file, and the line for JSON/YAML', async (t) => {
  const dir = await tempDir();
  const infra = await infrastructure(dir);
  const cases: Array<[string, string, RegExp]> = [
    ['unknown.json', '{\n  "svc": ["test1"],\n  "db": ["test9"]\n}\n', /unknown\.json:3: service "db": target "test9" is not a target of the infrastructure model \(targets: test1, test2\)/],
    ['unknown.yaml', 'svc:\n  targets:\n    - target: test1\n    - target: nope\n', /unknown\.yaml:4: service "svc": target "nope" is not a target/],
    ['shape.json', '{\n  "svc": "test1"\n}\n', /shape\.json:2: service "svc": expected a list of targets or \{ targets: \[\{ target, container \}\] \}/],
    ['mapping.yaml', 'svc:\n  targets:\n    - test1\n', /mapping\.yaml:3: service "svc": mapping 1: expected \{ target, container\? \}/],
    ['key.yaml', 'svc:\n  targets:\n    - target: test1\n      containr: x\n', /key\.yaml:4: service "svc": mapping 1: unknown key "containr"/],
    ['twice.json', '{"svc": ["test1", "test1"]}', /twice\.json:1: service "svc": mapped twice to target "test1"/],
    ['list.json', '["test1"]', /list\.json:1: the distribution model must map service names to targets/],
    ['undefined.mjs', 'export default ({ infrastructure }) => ({ svc: [infrastructure.tset1] });', /undefined\.mjs: service "svc": an undefined target \(the model read infrastructure\.tset1: did you mean infrastructure\.test1\?\)/],
    ['throws.mjs', 'export default () => { throw new Error("boom"); };', /throws\.mjs: the distribution model function failed: boom/],
  ];
  for (const [name, text, message] of cases) {
    const error = await loadDistribution(await write(dir, name, text), infra).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(error, DysnomiaError, name);
    t.equal((error as DysnomiaError).exitCode, 2, `${name}: exit status 2`);
    t.match((error as Error).message, message, name);
  }
});
