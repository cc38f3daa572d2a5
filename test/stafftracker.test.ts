import { execFile } from 'node:child_process';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { dysnomia } from './helpers/cli.js';
import { STAFFTRACKER_EXAMPLE, stafftrackerMachines } from './helpers/stafftracker.js';
import { failureText, parseEvents } from './helpers/deploy-fixtures.js';
import { mariadbClient } from './helpers/mariadb.js';
import { httpGet, waitForHttp } from './helpers/tomcat.js';

// The article's two-layer StaffTracker over two simulated machines (sshd on 127.0.0.1):
// MariaDB x2 on test1 and Tomcat x2 on test2 deployed as wrapper services (profile
// "containers"), the infrastructure captured from the machines, then the databases and
// web applications deployed into those containers (profile "services").
t.setTimeout(900_000);
const { dir, coordinatorEnv, env, state1, state2, password, bootstrap, mysqlTestOptions, ports } = await stafftrackerMachines(t, 'dysnomia-stafftracker-');
const { mysqlProduction, mysqlTest, tomcatProduction, tomcatTest } = ports;
const example = STAFFTRACKER_EXAMPLE;
const captured = path.join(dir, 'infrastructure-captured.json');
const model = (name: string) => path.join(example, name);
const deploy = (args: string[]) => dysnomia(['deploy', ...args], { env });
const deployContainers = () => deploy(['-s', model('services-containers.mjs'), '-i', bootstrap, '-d', model('distribution-containers.mjs'), '--profile', 'containers', '--json']);
const deployServices = (distribution = model('distribution.mjs'), services = model('services.mjs')) => deploy(['-s', services, '-i', captured, '-d', distribution, '--profile', 'services', '--json']);
const events = (stdout: string, name: string) => parseEvents(stdout).filter((e) => e.event === name);
const stepsDone = (stdout: string) =>
  events(stdout, 'step')
    .filter((e) => e.status === 'done' && (e.action === 'activate' || e.action === 'deactivate'))
    .map((e) => `${e.action}${e.undo ? ' (undo)' : ''} ${e.service} in ${e.container}`);

// Whatever happens, the servers go: services, then containers, then any process left under the test folder.
t.teardown(async () => {
  await deploy(['--profile', 'services', '--undeploy']).catch(() => undefined);
  await deploy(['--profile', 'containers', '--undeploy']).catch(() => undefined);
  await promisify(execFile)('pkill', ['-9', '-f', dir]).catch(() => undefined);
});

const staffNames = async () => (await mariadbClient(mysqlTestOptions, 'SELECT name FROM staff ORDER BY name', 'staff')).trim().split('\n').sort();
const pageNames = (body: string) => [...body.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]!.replaceAll('&amp;', '&')).sort();
const staffTrackerUrl = `http://127.0.0.1:${tomcatProduction}/StaffTracker/`;
const zipcodeUrl = (port: number) => `http://127.0.0.1:${port}/ZipcodeService/`;

t.test('layer 1: the containers profile starts two MariaDB and two Tomcat servers', async (t) => {
  const result = await deployContainers();
  t.equal(result.code, 0, failureText(result));
  t.same(stepsDone(result.stdout).sort(), ['activate mysql-production in wrapper', 'activate mysql-test in wrapper', 'activate tomcat-production in wrapper', 'activate tomcat-test in wrapper']);
  await waitForHttp(`http://127.0.0.1:${tomcatProduction}/`, (a) => a.status > 0, { what: 'an answer from tomcat-production' });
  await waitForHttp(`http://127.0.0.1:${tomcatTest}/`, (a) => a.status > 0, { what: 'an answer from tomcat-test' });
  t.equal((await mariadbClient(mysqlTestOptions, 'SELECT 6*7')).trim(), '42', 'mysql-test answers on its socket');
  await access(path.join(state1, 'profiles/containers/etc/dysnomia/containers/mysql-production'));
  await t.rejects(access(path.join(state1, 'profiles/containers/bin/wrapper')), 'the profile shows what the servers provide, not their wrappers');
});

t.test('capture-infra lists the four containers with their ports', async (t) => {
  const result = await dysnomia(['capture-infra', '-i', bootstrap, '--show-secrets', '--output', captured], { env });
  t.equal(result.code, 0, failureText(result));
  t.equal((await stat(captured)).mode & 0o777, 0o600, 'the captured model holds the password: 0600');
  const infrastructure = JSON.parse(await readFile(captured, 'utf8')) as Record<string, { containers: Record<string, Record<string, string>> }>;
  t.match(infrastructure.test1!.containers, { 'mysql-production': { mysqlPort: String(mysqlProduction) }, 'mysql-test': { mysqlPort: String(mysqlTest), mysqlPassword: password } });
  t.match(infrastructure.test2!.containers, { 'tomcat-production': { tomcatPort: String(tomcatProduction) }, 'tomcat-test': { tomcatPort: String(tomcatTest) } });
  t.notOk('tomcat-production' in infrastructure.test1!.containers, 'each container on its own machine');
  const hidden = await dysnomia(['capture-infra', '-i', bootstrap], { env });
  t.equal(hidden.code, 0, hidden.stderr);
  t.notMatch(hidden.stdout, password, 'without --show-secrets the password is not printed');
});

t.test('layer 2: the StaffTracker page lists the names in the staff table', async (t) => {
  const result = await deployServices();
  t.equal(result.code, 0, failureText(result));
  t.notMatch(result.stdout + result.stderr, password, 'the password is in no event and no message');
  const manifest = path.join(coordinatorEnv.DYSNOMIA_STATEDIR, 'deployments/services/1.json');
  t.equal((await stat(manifest)).mode & 0o777, 0o600, 'the recorded deployment holds container properties: 0600');
  t.same(
    stepsDone(result.stdout).sort(),
    ['activate RoomService in tomcat-production', 'activate StaffTracker in tomcat-production', 'activate ZipcodeService in tomcat-test', 'activate rooms in mysql-production', 'activate staff in mysql-test', 'activate zipcodes in mysql-production'],
  );
  const page = await waitForHttp(staffTrackerUrl, (a) => a.status === 200, { what: 'the StaffTracker page' });
  const names = await staffNames();
  t.ok(names.length >= 3, 'the staff table has people');
  t.same(pageNames(page.body), names, 'every name of the staff table, read through JDBC');
  await waitForHttp(zipcodeUrl(tomcatTest), (a) => a.status === 200 && a.body.includes('<li>'), { what: 'the ZipcodeService page in tomcat-test' });
  await mariadbClient(mysqlTestOptions, "UPDATE staff SET name = 'Renamed Person' WHERE name = (SELECT name FROM (SELECT MIN(name) AS name FROM staff) AS first)", 'staff');
  t.same(pageNames((await httpGet(staffTrackerUrl)).body), await staffNames(), 'the page reads the table live');
});

t.test('moving one service to another container redeploys it and its dependants only', async (t) => {
  const moved = path.join(dir, 'distribution-moved.mjs');
  await writeFile(
    moved,
    `const on = (target, container) => ({ targets: [{ target, container }] });
export default ({ infrastructure: { test1, test2 } }) => ({
  rooms: on(test1, 'mysql-production'),
  zipcodes: on(test1, 'mysql-test'),
  staff: on(test1, 'mysql-test'),
  RoomService: on(test2, 'tomcat-production'),
  StaffTracker: on(test2, 'tomcat-production'),
  ZipcodeService: on(test2, 'tomcat-test'),
});
`,
  );
  const result = await deployServices(moved);
  t.equal(result.code, 0, failureText(result));
  t.same(stepsDone(result.stdout).sort(), [
    'activate ZipcodeService in tomcat-test',
    'activate zipcodes in mysql-test',
    'deactivate ZipcodeService in tomcat-test',
    'deactivate zipcodes in mysql-production',
  ]);
  const order = stepsDone(result.stdout);
  t.ok(order.indexOf('deactivate ZipcodeService in tomcat-test') < order.indexOf('deactivate zipcodes in mysql-production'), 'the dependant goes first');
  t.ok(order.indexOf('activate zipcodes in mysql-test') < order.indexOf('activate ZipcodeService in tomcat-test'), 'the dependency comes first');
  await waitForHttp(zipcodeUrl(tomcatTest), (a) => a.status === 200 && a.body.includes('<li>'), { what: 'ZipcodeService reading mysql-test' });
  t.same(pageNames((await httpGet(staffTrackerUrl)).body), await staffNames(), 'StaffTracker untouched and still answering');
});

t.test('an activation failing half way rolls back to the previous deployment', async (t) => {
  // A web application into a Tomcat whose base folder is gone: the tomcat plugin fails after the database came up.
  const broken = path.join(dir, 'services-broken.mjs');
  await writeFile(
    broken,
    `import services from ${JSON.stringify(model('services.mjs'))};
export default (args) => {
  const s = services(args);
  s.Extra = { ...s.StaffTracker, name: 'Extra' };
  return s;
};
`,
  );
  const brokenDistribution = path.join(dir, 'distribution-broken.mjs');
  await writeFile(
    brokenDistribution,
    `import moved from ${JSON.stringify(path.join(dir, 'distribution-moved.mjs'))};
export default (args) => ({ ...moved(args), zipcodes: { targets: [{ target: args.infrastructure.test1, container: 'mysql-production' }] }, Extra: { targets: [{ target: args.infrastructure.test2, container: 'tomcat-ghost' }] } });
`,
  );
  const infrastructure = JSON.parse(await readFile(captured, 'utf8')) as Record<string, { containers: Record<string, unknown> }>;
  infrastructure.test2!.containers['tomcat-ghost'] = { catalinaBaseDir: path.join(dir, 'no-such-tomcat') };
  await writeFile(captured, JSON.stringify(infrastructure, null, 2), { mode: 0o600 });
  const before = await dysnomia(['capture-infra', '-i', bootstrap], { env });

  const result = await deployServices(brokenDistribution, broken);
  t.equal(result.code, 1);
  t.match(result.stderr, /activating Extra on test2 \(container tomcat-ghost\) failed/);
  t.match(result.stderr, /rolled back to the previous deployment \(deployment generation 2\)/);
  const steps = stepsDone(result.stdout);
  t.ok(steps.includes('activate zipcodes in mysql-production'), 'the move back had happened before the failure');
  t.ok(steps.includes('activate (undo) zipcodes in mysql-test') && steps.includes('activate (undo) ZipcodeService in tomcat-test'), 'and was undone');
  await waitForHttp(zipcodeUrl(tomcatTest), (a) => a.status === 200 && a.body.includes('<li>'), { what: 'ZipcodeService answering again after the rollback' });
  t.same(pageNames((await httpGet(staffTrackerUrl)).body), await staffNames(), 'the StaffTracker page still lists the staff');
  t.equal((await httpGet(`http://127.0.0.1:${tomcatProduction}/Extra/`)).status, 404, 'nothing of the failed service is deployed');
  const after = await dysnomia(['capture-infra', '-i', bootstrap], { env });
  t.equal(after.stdout, before.stdout, 'the machines offer the same containers as before');
});

t.test('undeploying the services leaves nothing activated', async (t) => {
  const result = await deploy(['--profile', 'services', '--undeploy', '--json']);
  t.equal(result.code, 0, failureText(result));
  t.equal(stepsDone(result.stdout).filter((s) => s.startsWith('deactivate')).length, 6);
  await waitForHttp(staffTrackerUrl, (a) => a.status === 404, { what: 'a 404 for StaffTracker' });
  const activated = await dysnomia(['containers', '--query-activated-components'], { env: { DYSNOMIA_STATEDIR: state1 } });
  t.equal(activated.code, 0, activated.stderr);
  t.same(activated.stdout.trim().split('\n').sort(), ['wrapper/mysql-production', 'wrapper/mysql-test'], 'on test1 only the servers of the containers profile are still activated');
  const containers = await deploy(['--profile', 'containers', '--undeploy', '--json']);
  t.equal(containers.code, 0, containers.stderr);
  for (const state of [state1, state2]) {
    const left = await dysnomia(['containers', '--query-activated-components'], { env: { DYSNOMIA_STATEDIR: state } });
    t.equal(left.stdout, '', `nothing activated in ${state}`);
  }
  await t.rejects(mariadbClient(mysqlTestOptions, 'SELECT 1'), 'mysql-test is stopped');
  await t.rejects(httpGet(`http://127.0.0.1:${tomcatProduction}/`), 'tomcat-production is stopped');
});
