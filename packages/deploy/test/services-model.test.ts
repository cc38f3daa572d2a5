import path from 'node:path';
import t from 'tap';
import { modelDir, writeModel } from './model-files.js';
import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';
import { loadDistribution } from '../src/models/distribution.js';
import type { Distribution } from '../src/models/distribution.js';
import { loadInfrastructure } from '../src/models/infrastructure.js';
import type { Infrastructure } from '../src/models/infrastructure.js';
import { interDependencies, loadServices, resolvePkg } from '../src/models/services.js';
import { isBuildFunctionComponent } from '@dysnomia/engine/internal/store/build-function.js';
import { deploymentOf } from '../src/deploy/deployment.js';

const componentModule = path.resolve(import.meta.dirname, '../../engine/dist/store/build-function.js');

const tempDir = () => modelDir(t, 'dysnomia-services-');
const write = writeModel;

async function models(dir: string, distribution: unknown = { web: ['test1', 'test2'], db: { targets: [{ target: 'test2', container: 'mysql-test' }] } }): Promise<{ infra: Infrastructure; dist: Distribution }> {
  const infra = await loadInfrastructure(
    await write(
      dir,
      'infra.json',
      JSON.stringify({
        test1: { properties: { hostname: 'test1.example', zone: 'a' } },
        test2: { properties: { hostname: 'test2.example' }, containers: { 'mysql-test': { mysqlPort: 3307 } }, system: 'x86_64-linux' },
      }),
    ),
  );
  return { infra, dist: await loadDistribution(await write(dir, 'dist.json', JSON.stringify(distribution)), infra) };
}

t.test('services in JSON, YAML and JS objects mean the same; name defaults to the key, paths are relative to the model', async (t) => {
  const dir = await tempDir();
  const { infra, dist } = await models(dir);
  const object = { web: { pkg: './pkgs/web', type: 'package', dependsOn: { database: 'db' } }, db: { name: 'db', pkg: 'npm:./db.tgz', type: 'mysql-database' } };
  const files = [
    await write(dir, 'services.json', JSON.stringify(object)),
    await write(dir, 'services.yaml', 'web:\n  pkg: ./pkgs/web\n  type: package\n  dependsOn: { database: db }\ndb:\n  name: db\n  pkg: npm:./db.tgz\n  type: mysql-database\n'),
    await write(dir, 'services.mjs', `export default ${JSON.stringify(object)};`),
  ];
  for (const file of files) {
    const model = await loadServices(file, infra, dist);
    t.match(model.services.web, { key: 'web', name: 'web', type: 'package', pkg: path.join(dir, 'pkgs/web'), targets: [{ target: 'test1', container: 'package' }, { target: 'test2', container: 'package' }] }, path.basename(file));
    t.same(model.services.web!.dependsOn, { database: { service: 'db', targets: [{ target: 'test2', container: 'mysql-test' }] } });
    t.match(model.services.db, { name: 'db', pkg: `npm:${path.join(dir, 'db.tgz')}` });
    t.same(model.activationOrder, ['db', 'web'], 'dependencies first');
  }
});

t.test('a JS function gets distribution, invDistribution and system; pkg functions get their dependencies with target properties', async (t) => {
  const dir = await tempDir();
  const { infra, dist } = await models(dir, { web: ['test1'], api: ['test2'], db: { targets: [{ target: 'test2', container: 'mysql-test' }] }, tool: ['test1', 'test2'] });
  const file = await write(
    dir,
    'services.mjs',
    `import { component } from ${JSON.stringify(componentModule)};
export default ({ distribution, invDistribution, system }) => {
  const services = {
    db: { name: 'db', pkg: './db', type: 'package', dbName: 'staff' },
    api: { name: 'api', type: 'package', pkg: ({ db }) => component({ name: 'api', inputs: { host: db.target.properties.hostname, port: db.target.container.mysqlPort, dbName: db.dbName }, build() {} }) },
    web: {
      name: 'web', type: 'package',
      pkg: ({ api, db }) => './web-for-' + api.target.hostname + '-' + api.connectsTo.db.target.selectedContainer + '-' + (db === undefined),
      system, onTool: () => Object.keys(invDistribution.test1.services),
    },
    tool: { pkg: 'npm:cowsay@1.6.0', type: 'package', seen: distribution.db.targets[0].target.name + '/' + distribution.db.targets[0].container },
  };
  services.api.dependsOn = { db: services.db };
  services.web.connectsTo = { api: services.api };
  return services;
};`,
  );
  const model = await loadServices(file, infra, dist);
  t.equal(model.services.tool!.properties.seen, 'test2/mysql-test', 'distribution in the verbose form with target objects');
  t.match(model.services.web!.properties.system, /^[a-z0-9_]+-[a-z]+$/, 'system is passed');
  t.same((model.services.web!.properties.onTool as () => string[])(), ['web', 'tool'], 'invDistribution: the services mapped to test1');

  const api = await resolvePkg(model, 'api', infra);
  t.ok(isBuildFunctionComponent(api));
  t.same((api as { inputs: unknown }).inputs, { host: 'test2.example', port: 3307, dbName: 'staff' }, "the dependency's target address, container properties and declaration fields");
  t.equal(await resolvePkg(model, 'web', infra), path.join(dir, 'web-for-test2.example-mysql-test-true'), 'connectsTo passed (with its own dependencies), relative result resolved');
  const deps = interDependencies(model, 'api', infra);
  t.match(deps.db, { name: 'db', type: 'package', targets: [{ name: 'test2', selectedContainer: 'mysql-test', container: { mysqlPort: 3307 }, properties: { hostname: 'test2.example' } }] });
  t.notOk('containers' in deps.db!.target, "the target's other containers are not passed");
  t.same(model.activationOrder.indexOf('db') < model.activationOrder.indexOf('api'), true);

  const built: string[] = [];
  const deployment = await deploymentOf(model, infra, 'default', async (source) => {
    const label = typeof source === 'string' ? (source.startsWith('npm:') ? source : path.basename(source)) : source.name;
    built.push(label);
    return `00000000000000000000000000000000-${label.replace(/[^A-Za-z0-9._-]/g, '-')}`;
  });
  t.same(Object.keys(deployment.targets), ['test1', 'test2']);
  t.same(deployment.profiles.test1!.map((e) => e.slice(33)), ['web-for-test2.example-mysql-test-true', 'npm-cowsay-1.6.0'], "test1's profile: the services mapped there");
  t.same(deployment.profiles.test2!.map((e) => e.slice(33)), ['db', 'api', 'npm-cowsay-1.6.0'], 'each target gets its services in activation order');
  t.same(built.filter((b) => b === 'npm:cowsay@1.6.0'), ['npm:cowsay@1.6.0'], 'a service on two targets is built once');
});

t.test('a container provided by a service on the same target is what dependants see', async (t) => {
  const dir = await tempDir();
  const { infra, dist } = await models(dir, { server: ['test1'], db: { targets: [{ target: 'test1', container: 'mysql-prod' }] } });
  const file = await write(
    dir,
    'services.mjs',
    `const server = { name: 'server', pkg: './server', type: 'package', providesContainer: 'mysql-prod', mysqlPort: 3310 };
const db = { name: 'db', pkg: './db', type: 'package', dependsOn: { server } };
export default { server, db, app: { pkg: (deps) => './app-' + deps.db.target.container.mysqlPort, type: 'package', connectsTo: ['db'] } };`,
  );
  const model = await loadServices(file, infra, dist);
  t.same(model.services.server!.providesContainers, { 'mysql-prod': { mysqlPort: 3310 } });
  t.equal(await resolvePkg(model, 'app', infra), path.join(dir, 'app-3310'));
});

t.test('bad services models: exit status 2 with the file, and the line for JSON/YAML', async (t) => {
  const dir = await tempDir();
  const { infra, dist } = await models(dir);
  const cases: Array<[string, string, RegExp]> = [
    ['nopkg.json', '{\n  "web": { "type": "package" },\n  "db": { "pkg": "x", "type": "t" }\n}\n', /nopkg\.json:2: service "web": has no "pkg"/],
    ['notype.yaml', 'web:\n  pkg: ./x\ndb:\n  pkg: x\n  type: t\n', /notype\.yaml:2: service "web": has no "type"/],
    ['name.json', '{"web": {"name": 3, "pkg": "x", "type": "package"}, "db": {"pkg": "x", "type": "t"}}', /name\.json:1: service "web": "name" must be the service's key "web" \(as in Disnix\), not a number/],
    ['other-name.json', '{"web": {"name": "frontend", "pkg": "x", "type": "package"}, "db": {"pkg": "x", "type": "t"}}', /other-name\.json:1: service "web": "name" must be the service's key "web" \(as in Disnix\), not "frontend"/],
    ['badpkg.yaml', 'web:\n  type: package\n  pkg: [a]\ndb: { pkg: x, type: t }\n', /badpkg\.yaml:3: service "web": expected a folder, a tarball, "npm:<spec>", a component\(\.\.\.\) or a function of the dependencies, got a list/],
    ['dep.yaml', 'web:\n  pkg: x\n  type: package\n  dependsOn:\n    database: dbb\ndb: { pkg: x, type: t }\n', /dep\.yaml:5: service "web": dependsOn database: "dbb" is not a service of the model: did you mean "db"\? \(services: web, db\)/],
    ['conn.json', '{"web": {"pkg": "x", "type": "package", "connectsTo": ["nope"]}, "db": {"pkg": "x", "type": "t"}}', /conn\.json:1: service "web": connectsTo 0: "nope" is not a service/],
    ['cycle.yaml', 'web:\n  pkg: x\n  type: package\n  dependsOn: [db]\ndb:\n  pkg: x\n  type: t\n  dependsOn: [mid]\nmid:\n  pkg: x\n  type: t\n  dependsOn: [db]\n', /cycle\.yaml:5: dependency cycle: db -> mid -> db/],
    ['missing.json', '{\n  "web": {"pkg": "x", "type": "package"}\n}\n', /dist\.json:1: service "db" is not in the services model .*missing\.json \(services: web\)/],
    ['shape.json', '[]', /shape\.json:1: the services model must map service names to services/],
    ['eager.mjs', 'export default ({ invDistribution }) => ({ web: { pkg: "x", type: "package", n: Object.keys(invDistribution.test1.services) } });', /eager\.mjs: the services model function failed: invDistribution.test1.services can be read from pkg functions/],
  ];
  for (const [name, text, message] of cases) {
    const error = await loadServices(await write(dir, name, text), infra, dist).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(error, DysnomiaError, name);
    t.equal((error as DysnomiaError).exitCode, 2, `${name}: exit status 2`);
    t.match((error as Error).message, message, name);
  }
});

t.test('a pkg function that returns nothing usable, or throws, names the service', async (t) => {
  const dir = await tempDir();
  const { infra, dist } = await models(dir);
  const file = await write(dir, 'services.mjs', 'export default { web: { pkg: () => 42, type: "package" }, db: { pkg: () => { throw new Error("no db"); }, type: "package" } };');
  const model = await loadServices(file, infra, dist);
  await t.rejects(resolvePkg(model, 'web', infra), { exitCode: 2, message: /services\.mjs: service "web": the pkg function returned an unusable package: expected a folder.*got 42/ });
  await t.rejects(resolvePkg(model, 'db', infra), { exitCode: 2, message: /services\.mjs: service "db": the pkg function failed: no db/ });
});

