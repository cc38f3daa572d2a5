import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { dysnomia, REPO_ROOT } from './helpers/cli.js';
import { failureText, parseEvents, sshTarget, twoMachines } from './helpers/deploy-fixtures.js';
import { writeFileIn } from './helpers/fixtures.js';
import { mariadbClient, requireMariadb } from './helpers/mariadb.js';
import { freePorts } from './helpers/ports.js';

// deploy --layers, a lower layer's container moved: a MariaDB server (layer 1, a wrapper built
// by examples/mariadb-server) moves from test1 to test2, and the deployState database in it
// (layer 2) moves along, its rows with it. The old server stays up until the database's state
// has been taken out of it, then goes.
t.setTimeout(900_000);
await requireMariadb();
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-layered-migration-');
const [port1, port2] = (await freePorts(2)) as [number, number];
const password = randomBytes(12).toString('hex');
const infrastructure = path.join(dir, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test2: sshTarget(test2, knownHosts, state2) }, null, 2));
const project = path.join(dir, 'project');
const where = path.join(project, 'where.json');
const mysqlDir = (target: string) => path.join(dir, 'machines', target, 'mysql');
const settings = { ports: { test1: port1, test2: port2 }, dirs: { test1: mysqlDir('test1'), test2: mysqlDir('test2') }, password };
await writeFileIn(path.join(project, 'settings.json'), JSON.stringify(settings));
const readWhere = `import { readFileSync } from 'node:fs';\nconst where = JSON.parse(readFileSync(${JSON.stringify(where)}, 'utf8')).server;\n`;
await writeFileIn(
  path.join(project, 'servers.mjs'),
  `${readWhere}import { component } from ${JSON.stringify(path.join(REPO_ROOT, 'packages/engine/dist/index.js'))};
import { buildMariadbServer } from ${JSON.stringify(path.join(REPO_ROOT, 'examples/mariadb-server/index.mjs'))};
const settings = JSON.parse(readFileSync(${JSON.stringify(path.join(project, 'settings.json'))}, 'utf8'));
export default () => {
  const params = { name: 'mysql-production', port: settings.ports[where], socket: settings.dirs[where] + '/mysqld.sock', dataDir: settings.dirs[where] + '/data', adminUser: 'admin', adminPassword: settings.password };
  return { mysql: { name: 'mysql', type: 'wrapper', pkg: component({ name: 'mysql-production', inputs: { params }, build: (out, { params }) => buildMariadbServer(out, params) }), providesContainers: { 'mysql-production': {} } } };
};
`,
);
await writeFileIn(path.join(project, 'servers-distribution.mjs'), `${readWhere}export default ({ infrastructure }) => ({ mysql: [infrastructure[where]] });\n`);
await writeFileIn(path.join(project, 'db/mysql-databases/schema.sql'), 'CREATE TABLE notes (id INT PRIMARY KEY, text VARCHAR(100));\n');
await writeFileIn(path.join(project, 'databases.mjs'), "export default () => ({ db: { name: 'db', pkg: './db', type: 'mysql-database', deployState: true } });\n");
await writeFileIn(
  path.join(project, 'databases-distribution.mjs'),
  `${readWhere}export default ({ infrastructure }) => ({ db: { targets: [{ target: infrastructure[where], container: 'mysql-production' }] } });\n`,
);
const layers = path.join(project, 'layers.json');
await writeFile(layers, JSON.stringify([{ name: 'servers', services: 'servers.mjs', distribution: 'servers-distribution.mjs' }, { name: 'databases', services: 'databases.mjs', distribution: 'databases-distribution.mjs' }]));
const clientOptions = async (target: string) => {
  const file = path.join(dir, `client-${target}.cnf`);
  await writeFile(file, `[client]\nuser=admin\npassword=${password}\nsocket=${mysqlDir(target)}/mysqld.sock\n`, { mode: 0o600 });
  return file;
};
const deploy = (args: string[]) => dysnomia(['deploy', '--layers', layers, ...args], { env });

t.teardown(async () => {
  await deploy(['--undeploy']).catch(() => undefined);
  await promisify(execFile)('pkill', ['-9', '-f', `${dir}/machines`]).catch(() => undefined);
});

t.test('a MariaDB server moved to another machine takes the database in it along, rows included', async (t) => {
  await writeFile(where, JSON.stringify({ server: 'test1' }));
  const first = await deploy(['-i', infrastructure, '--json']);
  t.equal(first.code, 0, failureText(first));
  const on1 = await clientOptions('test1');
  await mariadbClient(on1, "INSERT INTO notes VALUES (1, 'written at run time')", 'db');

  await writeFile(where, JSON.stringify({ server: 'test2' }));
  const moved = await deploy(['-i', infrastructure, '--json']);
  t.equal(moved.code, 0, failureText(moved));
  t.notMatch(moved.stdout + moved.stderr, password, 'the password is in no event and no message');
  const events = parseEvents(moved.stdout);
  const done = events.filter((e) => e.event === 'step' && e.status === 'done' && !e.undo && (e.action === 'activate' || e.action === 'deactivate')).map((e) => `${e.action} ${e.service}@${e.target}`);
  t.same([...done].sort(), ['activate db@test2', 'activate mysql@test2', 'deactivate db@test1', 'deactivate mysql@test1']);
  const restored = events.findIndex((e) => e.event === 'state' && e.action === 'restore' && e.status === 'done');
  const oldServerGone = events.findIndex((e) => e.event === 'step' && e.status === 'done' && e.action === 'deactivate' && e.service === 'mysql');
  t.ok(restored >= 0, 'the state was restored on the new server');
  t.ok(restored < oldServerGone, 'the old server went only after the database had been taken out of it');
  t.equal((await mariadbClient(await clientOptions('test2'), 'SELECT text FROM notes WHERE id = 1', 'db')).trim(), 'written at run time', 'the row written at run time moved with the server');
  await t.rejects(mariadbClient(on1, 'SELECT 1'), 'the old server is stopped');
  const again = await deploy(['-i', infrastructure, '--json']);
  t.equal(again.code, 0, failureText(again));
  t.same(parseEvents(again.stdout).filter((e) => e.event === 'step' && e.status === 'done' && (e.action === 'activate' || e.action === 'deactivate')), [], 'then the same layers change nothing');
});
