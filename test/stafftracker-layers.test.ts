import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { dysnomia, REPO_ROOT } from './helpers/cli.js';
import { failureText, parseEvents, sshTarget, twoMachines } from './helpers/deploy-fixtures.js';
import { mariadbClient, requireMariadb } from './helpers/mariadb.js';
import { freePorts } from './helpers/ports.js';
import { assertTomcatInstalled, httpGet, waitForHttp } from './helpers/tomcat.js';

// The StaffTracker as a layers model (examples/stafftracker/layers.json): MariaDB and Tomcat
// servers, then the databases and web applications in them, in one command from the
// bootstrap infrastructure (no capture-infra run by hand), and undeployed in one.
t.setTimeout(900_000);
await requireMariadb();
assertTomcatInstalled();
await access('/usr/share/java/mariadb-java-client.jar').catch(() => {
  throw new Error('/usr/share/java/mariadb-java-client.jar is missing: apt-get install libmariadb-java');
});

const example = path.join(REPO_ROOT, 'examples/stafftracker');
const { dir, env: coordinatorEnv, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-stafftracker-layers-');
const [mysqlProduction, mysqlTest, tomcatProduction, tomcatTest, shutdownProduction, shutdownTest] = (await freePorts(6)) as [number, number, number, number, number, number];
const password = randomBytes(12).toString('hex');
const env = {
  ...coordinatorEnv,
  STAFFTRACKER_MYSQL_PRODUCTION_PORT: String(mysqlProduction),
  STAFFTRACKER_MYSQL_TEST_PORT: String(mysqlTest),
  STAFFTRACKER_TOMCAT_PRODUCTION_PORT: String(tomcatProduction),
  STAFFTRACKER_TOMCAT_TEST_PORT: String(tomcatTest),
  STAFFTRACKER_TOMCAT_PRODUCTION_SHUTDOWN_PORT: String(shutdownProduction),
  STAFFTRACKER_TOMCAT_TEST_SHUTDOWN_PORT: String(shutdownTest),
  STAFFTRACKER_MYSQL_PASSWORD: password,
};
const bootstrap = path.join(dir, 'infrastructure-bootstrap.json');
await writeFile(bootstrap, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test2: sshTarget(test2, knownHosts, state2) }, null, 2));
const layers = path.join(example, 'layers.json');
const deploy = (args: string[]) => dysnomia(['deploy', '--layers', layers, ...args], { env });

t.teardown(async () => {
  await deploy(['--undeploy']).catch(() => undefined);
  await promisify(execFile)('pkill', ['-9', '-f', dir]).catch(() => undefined);
});

const mysqlTestOptions = path.join(dir, 'mysql-test.cnf');
await writeFile(mysqlTestOptions, `[client]\nuser=root\npassword=${password}\nsocket=${state1}/stafftracker/mysql-test/mysqld.sock\n`, { mode: 0o600 });
const staffTrackerUrl = `http://127.0.0.1:${tomcatProduction}/StaffTracker/`;

t.test('the two layers in one command: the StaffTracker page lists the staff table', async (t) => {
  const result = await deploy(['-i', bootstrap, '--json']);
  t.equal(result.code, 0, failureText(result));
  t.same(parseEvents(result.stdout).filter((e) => e.event === 'layer').map((e) => e.layer), ['containers', 'services']);
  t.notMatch(result.stdout + result.stderr, password, 'the password is in no event and no message');
  const page = await waitForHttp(staffTrackerUrl, (a) => a.status === 200, { what: 'the StaffTracker page' });
  const names = (await mariadbClient(mysqlTestOptions, 'SELECT name FROM staff ORDER BY name', 'staff')).trim().split('\n').sort();
  t.same([...page.body.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]!.replaceAll('&amp;', '&')).sort(), names, 'every name of the staff table, read through JDBC');
  const again = await deploy(['-i', bootstrap, '--json']);
  t.equal(again.code, 0, failureText(again));
  t.same(parseEvents(again.stdout).filter((e) => e.event === 'step' && e.status === 'done' && (e.action === 'activate' || e.action === 'deactivate')), [], 'the same layers again change nothing');
});

t.test('undeploying the layers leaves no process, activated component or marker on any target', async (t) => {
  const result = await deploy(['--undeploy', '--json']);
  t.equal(result.code, 0, failureText(result));
  t.same(parseEvents(result.stdout).filter((e) => e.event === 'layer').map((e) => e.layer), ['services', 'containers'], 'top down');
  for (const state of [state1, state2]) {
    const left = await dysnomia(['containers', '--query-activated-components'], { env: { DYSNOMIA_STATEDIR: state } });
    t.equal(left.stdout, '', `nothing activated in ${state}`);
    for (const record of await readdir(path.join(state, 'activations')).catch(() => [] as string[])) {
      t.same((JSON.parse(await readFile(path.join(state, 'activations', record), 'utf8')) as { mappings: unknown[] }).mappings, [], `${record}: nothing recorded as running`);
    }
  }
  const processes = await promisify(execFile)('pgrep', ['-f', `${dir}/machines`]).then((r) => r.stdout.trim(), () => '');
  t.equal(processes, '', 'no server process left under the machines’ folders');
  await t.rejects(mariadbClient(mysqlTestOptions, 'SELECT 1'), 'mysql-test is stopped');
  await t.rejects(httpGet(`http://127.0.0.1:${tomcatProduction}/`), 'tomcat-production is stopped');
});
