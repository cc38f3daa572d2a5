import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { dysnomia } from './helpers/cli.js';
import { STAFFTRACKER_EXAMPLE, stafftrackerMachines } from './helpers/stafftracker.js';
import { failureText, parseEvents } from './helpers/deploy-fixtures.js';
import { mariadbClient } from './helpers/mariadb.js';
import { httpGet, waitForHttp } from './helpers/tomcat.js';

// The StaffTracker as a layers model (examples/stafftracker/layers.json): MariaDB and Tomcat
// servers, then the databases and web applications in them, in one command from the
// bootstrap infrastructure (no capture-infra run by hand), and undeployed in one.
t.setTimeout(900_000);
const { dir, env, state1, state2, password, bootstrap, mysqlTestOptions, ports } = await stafftrackerMachines(t, 'dysnomia-stafftracker-layers-');
const { tomcatProduction } = ports;
const example = STAFFTRACKER_EXAMPLE;
const layers = path.join(example, 'layers.json');
const deploy = (args: string[]) => dysnomia(['deploy', '--layers', layers, ...args], { env });

t.teardown(async () => {
  await deploy(['--undeploy']).catch(() => undefined);
  await promisify(execFile)('pkill', ['-9', '-f', dir]).catch(() => undefined);
});

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
