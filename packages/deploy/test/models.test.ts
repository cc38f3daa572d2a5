import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { modelDir, writeModel } from './model-files.js';
import { loadInfrastructure } from '../src/models/infrastructure.js';
import { loadPackagesModel } from '../src/models/packages.js';
import { isBuildFunctionComponent } from '@dysnomia/engine/internal/store/build-function.js';

const tempDir = () => modelDir(t, 'dysnomia-models-');
const write = writeModel;

t.test('infrastructure in JS, JSON, YAML and TS mean the same', async (t) => {
  const dir = await tempDir();
  const object = { test1: { properties: { hostname: 'test1', sshPort: 2222, sshKey: 'keys/id' } }, test2: { properties: { hostname: 'test2' }, system: 'x86_64-linux' } };
  // The key file must be there: a missing one is an error of the model.
  await write(dir, 'keys/id', 'not really a key\n');
  const files = [
    await write(dir, 'infra.mjs', `export default ${JSON.stringify(object)};`),
    await write(dir, 'infra.json', JSON.stringify(object)),
    await write(dir, 'infra.yaml', 'test1:\n  properties:\n    hostname: test1\n    sshPort: 2222\n    sshKey: keys/id\ntest2:\n  properties: { hostname: test2 }\n  system: x86_64-linux\n'),
    await write(dir, 'infra.ts', `interface T { properties: Record<string, unknown>; system?: string }\nconst model: Record<string, T> = ${JSON.stringify(object)};\nexport default model;\n`),
  ];
  for (const file of files) {
    const infrastructure = await loadInfrastructure(file);
    t.match(infrastructure.test1, { name: 'test1', hostname: 'test1', clientInterface: 'ssh', properties: { sshPort: 2222, sshKey: path.join(dir, 'keys/id') } }, path.basename(file));
    t.match(infrastructure.test2, { clientInterface: 'ssh', system: 'x86_64-linux' });
  }
});

t.test('client interface: local for this machine without ssh settings, else ssh', async (t) => {
  const dir = await tempDir();
  const file = await write(
    dir,
    'infra.json',
    JSON.stringify({
      a: { properties: { hostname: 'localhost' } },
      b: { properties: { hostname: '127.0.0.1', sshPort: 22 } },
      c: { properties: { hostname: os.hostname() } },
      d: { properties: { hostname: 'far.example' }, clientInterface: 'local' },
      e: { clientInterface: 'local' },
      f: { properties: { address: 'x.example' }, targetProperty: 'address', clientInterface: 'disnix-ssh-client' },
    }),
  );
  const infrastructure = await loadInfrastructure(file);
  t.same(Object.values(infrastructure).map((target) => target.clientInterface), ['local', 'ssh', 'local', 'local', 'local', 'ssh']);
  t.equal(infrastructure.f!.hostname, 'x.example');
});

t.test('bad models: exit status 2 with file and line', async (t) => {
  const dir = await tempDir();
  const cases: Array<[string, string, RegExp]> = [
    ['bad.json', '{\n  "test1": {\n    "properties": {},\n  }\n}\n', /bad\.json:4: invalid JSON/],
    ['bad.yaml', 'test1:\n  properties:\n    hostname: [a\n', /bad\.yaml:\d: invalid YAML/],
    ['key.yaml', 'test1:\n  properties:\n    hostname: a\n  propertise: {}\n', /key\.yaml:4: target "test1": unknown key "propertise"/],
    ['port.yaml', 'test1:\n  properties:\n    hostname: a\n    sshPort: http\n', /port\.yaml:4: target "test1": properties\.sshPort must be a port number/],
    ['host.json', '{"test1": {"properties": {"hostname": 3}}}', /host\.json:1: target "test1": properties\.hostname must be the host's address/],
    ['state.yaml', 'test1:\n  properties:\n    hostname: a\n    stateDir: relative/state\n', /state\.yaml:4: .*stateDir must be an absolute path/],
    ['sudo.yaml', 'test1:\n  properties:\n    hostname: a\n    sudo: "yes"\n', /sudo\.yaml:4: target "test1": properties\.sudo must be true or false/],
    ['ssh-config.yaml', 'test1:\n  properties:\n    hostname: a\n    sshConfig: no-such-config\n', /ssh-config\.yaml:4: target "test1": properties\.sshConfig: no such file: .*no-such-config/],
    ['iface.yaml', 'test1:\n  properties: { hostname: a }\n  clientInterface: telnet\n', /iface\.yaml:3: .*clientInterface must be "ssh" or "local"/],
    ['syntax.mjs', 'export default {\n  test1: { properties: { hostname: "a" }, },\n  ,\n};\n', /syntax\.mjs:3: syntax error/],
    ['empty.json', '{}', /empty\.json(:1)?: the infrastructure model has no targets/],
    ['model.txt', 'x', /unknown format "\.txt"/],
    ['missing.json', null as unknown as string, /missing\.json: no such file/],
  ];
  for (const [name, text, message] of cases) {
    const file = text === null ? path.join(dir, name) : await write(dir, name, text);
    await t.rejects(loadInfrastructure(file), { message, exitCode: 2 }, name);
  }
});

t.test('sshConfig and sudo: the config file relative to the model, read when the model is; sudo alone means SSH', async (t) => {
  const dir = await tempDir();
  const config = await write(dir, 'ssh/config', 'Host web\n  HostName web.internal\n');
  const file = await write(dir, 'infra.json', JSON.stringify({ web: { properties: { hostname: 'web', sshConfig: 'ssh/config' } }, self: { properties: { hostname: 'localhost', sudo: true } } }));
  const infrastructure = await loadInfrastructure(file);
  t.equal(infrastructure.web!.properties.sshConfig, config);
  t.equal(infrastructure.self!.clientInterface, 'ssh', 'sudo is a way of reaching the machine: over SSH');
  await write(dir, 'ssh/config', 'Host web\n  Port none\n');
  await t.rejects(loadInfrastructure(file), { message: `${config}:2: Port must be a port number, not "none"`, exitCode: 2 });
});

t.test('packages model: lists per target, a function of the infrastructure, paths relative to the model', async (t) => {
  const dir = await tempDir();
  const infrastructure = await loadInfrastructure(await write(dir, 'infra.json', JSON.stringify({ test1: { properties: { hostname: 'a' } }, test2: { properties: { hostname: 'b' } } })));
  const engine = path.resolve('packages/engine/src/index.ts');
  const file = await write(
    dir,
    'models/packages.mjs',
    `const brand = Symbol.for('@dysnomia/engine:build-function-component');
export default ({ infrastructure }) => ({
  [Object.keys(infrastructure)[0]]: ['../pkgs/hello', 'npm:cowsay@1.6.0', 'npm:./local.tgz', '/abs/x.tar.gz'],
  test2: [{ [brand]: true, name: 'built', inputs: {}, build() {} }],
});
`,
  );
  t.ok(engine);
  const model = await loadPackagesModel(file, infrastructure);
  t.same(model.test1, [path.join(dir, 'pkgs/hello'), 'npm:cowsay@1.6.0', `npm:${path.join(dir, 'models/local.tgz')}`, '/abs/x.tar.gz']);
  t.ok(isBuildFunctionComponent(model.test2![0]));

  const yaml = await write(dir, 'packages.yaml', 'test1:\n  - ./pkgs/a\ntest3:\n  - ./pkgs/b\n');
  await t.rejects(loadPackagesModel(yaml, infrastructure), { message: /packages\.yaml:3: target "test3" is not in the infrastructure model \(targets: test1, test2\)/, exitCode: 2 });
  const wrong = await write(dir, 'wrong.yaml', 'test1:\n  - ./pkgs/a\n  - 42\n');
  await t.rejects(loadPackagesModel(wrong, infrastructure), { message: /wrong\.yaml:3: target "test1", package 2: expected a path, a tarball, "npm:<spec>" or a component\(\.\.\.\), got 42/ });
  const notList = await write(dir, 'notlist.json', '{"test1": "./pkgs/a"}');
  await t.rejects(loadPackagesModel(notList, infrastructure), { message: /notlist\.json:1: target "test1": the packages must be a list/ });
  const throwing = await write(dir, 'throws.mjs', 'export default () => { throw new Error("boom"); };');
  await t.rejects(loadPackagesModel(throwing, infrastructure), { message: /throws\.mjs: the packages model function failed: boom/ });
});

t.test('an infrastructure model function: awaited when async, a throw is a model error naming the file', async (t) => {
  const dir = await tempDir();
  const asyncModel = await write(dir, 'async.mjs', `export default async () => ({ test1: { properties: { hostname: 'h1' } } });`);
  t.match(await loadInfrastructure(asyncModel), { test1: { hostname: 'h1', clientInterface: 'ssh' } });
  const cases: Array<[string, string]> = [
    ['throws.mjs', `export default () => { throw new Error('no inventory today'); };`],
    ['rejects.mjs', `export default async () => { throw new Error('no inventory today'); };`],
  ];
  for (const [name, text] of cases) {
    const file = await write(dir, name, text);
    const error = await loadInfrastructure(file).then(
      () => undefined,
      (error: unknown) => error as { message: string; exitCode?: number; stack?: string },
    );
    t.ok(error, `${name} fails`);
    t.match(error?.message, new RegExp(`${name}(:\\d+)?: the infrastructure model function failed: no inventory today`), name);
    t.equal(error?.exitCode, 2, `${name}: bad input, exit status 2`);
  }
});
