import { chmod, lstat, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { runCommand, tempDir } from './helpers/cli.js';
import { writeFileIn } from './helpers/fixtures.js';
import { parseNix } from './helpers/nix.js';

/** A stateful plugin as a plain .mjs file in the modules path; it logs every call to $journal. */
const JOURNAL_PLUGIN = `import { appendFile } from 'node:fs/promises';
const note = (ctx) => appendFile(ctx.container.properties.journal, ctx.operation + ' ' + ctx.container.name + '/' + ctx.componentName + '\\n');
export default {
  type: 'journal',
  engine: '^1.0.0',
  stateful: true,
  activate: note,
  deactivate: note,
  snapshot: note,
  restore: note,
  collectGarbage: note,
  capture: note,
};
`;

async function machine(t: Test) {
  const dir = await tempDir(t);
  const journal = path.join(dir, 'journal');
  await writeFileIn(path.join(dir, 'modules/journal.mjs'), JOURNAL_PLUGIN);
  await writeFileIn(
    path.join(dir, 'containers/mysql-production'),
    `type=journal\njournal=${journal}\nmysqlPort=3306\nmysqlSocket="/run/mysqld production/mysqld.sock"\nmysqlUsername=root\n`,
  );
  await writeFileIn(path.join(dir, 'containers/tomcat-test.json'), JSON.stringify({ type: 'journal', journal, tomcatPort: 8081, aliases: ['a', 'b c'] }));
  await writeFileIn(path.join(dir, 'more-containers/weird"name'), `quote='say "hi" to \${nobody}'\n`);
  await writeFileIn(path.join(dir, 'properties'), 'hostname=test1\nsystem=x86_64-linux\nsupportedTypes=("mysql-database" "process")\n');
  for (const component of ['rooms', 'staff']) await writeFileIn(path.join(dir, `components/mysql-production/${component}/schema.sql`), '-- sql');
  await writeFileIn(path.join(dir, 'components/tomcat-test/StaffTracker/app.war'), 'war');
  const env = {
    DYSNOMIA_MODULES_PATH: path.join(dir, 'modules'),
    DYSNOMIA_CONTAINERS_PATH: `${path.join(dir, 'containers')}:${path.join(dir, 'more-containers')}`,
    DYSNOMIA_COMPONENTS_PATH: path.join(dir, 'components'),
    DYSNOMIA_PROPERTIES: path.join(dir, 'properties'),
    DYSNOMIA_STATEDIR: path.join(dir, 'state'),
  };
  const containers = (args: string[]) => runCommand('dysnomia-containers', args, { env, cwd: dir });
  return { dir, journal, env, containers };
}

t.test('--generate-expr and --json describe the same machine and containers', async (t) => {
  const { containers } = await machine(t);
  const nix = await containers(['--generate-expr']);
  t.equal(nix.code, 0, nix.stderr);
  t.notOk(nix.stdout.endsWith('\n'), 'no trailing newline, as Dysnomia prints it');
  const json = await containers(['--json']);
  t.equal(json.code, 0, json.stderr);
  const fromJson = JSON.parse(json.stdout) as Record<string, unknown>;
  t.same(parseNix(nix.stdout), fromJson, 'the same data in both forms');
  t.same(fromJson, {
    properties: { hostname: 'test1', system: 'x86_64-linux', supportedTypes: ['mysql-database', 'process'] },
    containers: {
      'mysql-production': { journal: fromJson.containers && (fromJson.containers as Record<string, Record<string, string>>)['mysql-production']?.journal, mysqlPort: '3306', mysqlSocket: '/run/mysqld production/mysqld.sock', mysqlUsername: 'root' },
      'tomcat-test': { journal: (fromJson.containers as Record<string, Record<string, string>>)['tomcat-test']?.journal, tomcatPort: '8081', aliases: ['a', 'b c'] },
      'weird"name': { quote: 'say "hi" to ${nobody}' },
    },
    system: 'x86_64-linux',
  });
  t.match(nix.stdout, /^ {4}mysql-production = \{$/m, 'plain container names are bare attribute names, as Dysnomia prints them');
  t.match(nix.stdout, /^ {6}"mysqlPort" = "3306";$/m);
  t.match(nix.stdout, /^ {6}"aliases" = \[ "a" "b c" \];$/m, 'arrays as Dysnomia prints them');
  t.match(nix.stdout, /"say \\"hi\\" to \\\$\{nobody\}"/, 'quotes and ${ escaped in Nix strings');

  const filtered = await containers(['--json', '-C', 'tomcat-test']);
  t.same(Object.keys((JSON.parse(filtered.stdout) as { containers: object }).containers), ['tomcat-test']);
});

t.test('queries: containers, available and activated components', async (t) => {
  const { containers } = await machine(t);
  t.equal((await containers(['--query-containers'])).stdout, 'mysql-production\ntomcat-test\nweird"name\n');
  t.equal((await containers(['--query-containers', '-C', 'tomcat-test'])).stdout, 'tomcat-test\n');
  t.equal((await containers(['--query-available-components'])).stdout, 'mysql-production/rooms\nmysql-production/staff\ntomcat-test/StaffTracker\n');
  t.same(JSON.parse((await containers(['--query-available-components', '--json', '-C', 'tomcat-test'])).stdout), ['tomcat-test/StaffTracker']);
  t.equal((await containers(['--query-activated-components'])).stdout, '');
});

t.test('--deploy, --operation, --snapshot, --restore and --collect-garbage work over the components', async (t) => {
  const { dir, journal, containers } = await machine(t);
  const deployed = await containers(['--deploy']);
  t.equal(deployed.code, 0, deployed.stderr);
  t.equal(await readFile(journal, 'utf8'), 'activate mysql-production/rooms\nactivate mysql-production/staff\nactivate tomcat-test/StaffTracker\n');
  t.equal((await containers(['--query-activated-components'])).stdout, 'mysql-production/rooms\nmysql-production/staff\ntomcat-test/StaffTracker\n');
  t.equal((await readFile(path.join(dir, 'state/activated/mysql-production/rooms'), 'utf8')).trim(), path.join(dir, 'components/mysql-production/rooms'));

  t.equal((await containers(['--deploy'])).code, 0);
  t.equal((await readFile(journal, 'utf8')).split('\n').length - 1, 3, 'a second --deploy changes nothing');

  await rm(journal);
  t.equal((await containers(['-o', 'capture', '-C', 'mysql-production'])).code, 0);
  t.equal(await readFile(journal, 'utf8'), 'capture mysql-production/rooms\ncapture mysql-production/staff\n', '-C restricts to one container');

  await rm(journal);
  t.equal((await containers(['--snapshot'])).code, 0);
  const restoreUnconfirmed = await containers(['--restore']);
  t.equal(restoreUnconfirmed.code, 2, 'restore without a terminal needs -y');
  t.match(restoreUnconfirmed.stderr, 'pass -y to confirm');
  t.equal((await containers(['--restore', '-y', '-C', 'tomcat-test'])).code, 0);
  t.equal(
    await readFile(journal, 'utf8'),
    'snapshot mysql-production/rooms\nsnapshot mysql-production/staff\nsnapshot tomcat-test/StaffTracker\nrestore tomcat-test/StaffTracker\n',
  );

  await rm(path.join(dir, 'components/mysql-production/staff'), { recursive: true });
  await rm(journal);
  t.equal((await containers(['--deploy'])).code, 0);
  t.equal(await readFile(journal, 'utf8'), 'deactivate mysql-production/staff\n', 'a component no longer available is deactivated');
  t.ok((await lstat(path.join(dir, 'state/garbage/mysql-production/staff'))).isFile(), 'and marked as garbage (a regular file, as Dysnomia keeps it)');

  await rm(journal);
  t.equal((await containers(['--collect-garbage'])).code, 0);
  t.equal(await readFile(journal, 'utf8'), 'collect-garbage mysql-production/staff\n');
  await t.rejects(lstat(path.join(dir, 'state/garbage/mysql-production/staff')), { code: 'ENOENT' });
});

t.test('usage errors: exit status 2 naming the problem', async (t) => {
  const { containers } = await machine(t);
  const none = await containers([]);
  t.equal(none.code, 2);
  t.match(none.stderr, 'no action given');
  const two = await containers(['--deploy', '--snapshot']);
  t.equal(two.code, 2);
  t.match(two.stderr, 'choose one action, not --deploy and --snapshot');
  const bad = await containers(['-o', 'explode']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, '--operation explode: unknown operation');
});

t.test('--deploy converges for classic executable modules, and skips what has no container here', async (t) => {
  const { dir, env } = await machine(t);
  const log = path.join(dir, 'classic.log');
  await writeFileIn(path.join(dir, 'modules/classic'), `#!/bin/sh\necho "$1 $(basename "$2")" >> "${log}"\n`);
  await chmod(path.join(dir, 'modules/classic'), 0o755);
  await writeFileIn(path.join(dir, 'containers/process'), 'type=classic\n');
  await writeFileIn(path.join(dir, 'components/process/daemon/bin/daemon'), '');
  await writeFileIn(path.join(dir, 'components/ghost/app/file'), '');
  const containers = (args: string[]) => runCommand('dysnomia-containers', args, { env, cwd: dir });

  const first = await containers(['--deploy', '-C', 'process']);
  t.equal(first.code, 0, first.stderr);
  t.equal(await readFile(log, 'utf8'), 'activate daemon\n');
  t.equal((await containers(['--deploy', '-C', 'process'])).code, 0);
  t.equal(await readFile(log, 'utf8'), 'activate daemon\n', 'a second --deploy does not activate it again');
  t.equal((await containers(['--query-activated-components', '-C', 'process'])).stdout, 'process/daemon\n');

  const all = await containers(['--deploy']);
  t.equal(all.code, 0, all.stderr);
  t.match(all.stderr, 'warning: skipping ghost/app: no container configuration named "ghost" on this machine');
  t.match((await containers(['--query-activated-components'])).stdout, 'mysql-production/rooms', 'the rest was deployed');

  await rm(path.join(dir, 'components/process/daemon'), { recursive: true });
  t.equal((await containers(['--deploy', '-C', 'process'])).code, 0);
  t.equal(await readFile(log, 'utf8'), 'activate daemon\ndeactivate daemon\n', 'a component that went away is deactivated');
  t.equal((await containers(['--query-activated-components', '-C', 'process'])).stdout, '');
});

t.test('markers left by --environment under a type name do not stop -o over the others', async (t) => {
  const { dir, env, journal } = await machine(t);
  await writeFileIn(path.join(dir, 'loose/greeting'), 'hi');
  const loose = await runCommand('dysnomia', ['activate', '-c', path.join(dir, 'loose'), '-t', 'journal', '-E'], { env: { ...env, journal }, cwd: dir });
  t.equal(loose.code, 0, loose.stderr);
  t.equal((await runCommand('dysnomia-containers', ['--deploy', '-C', 'tomcat-test'], { env, cwd: dir })).code, 0);
  await rm(journal);
  const capture = await runCommand('dysnomia-containers', ['-o', 'capture'], { env, cwd: dir });
  t.equal(capture.code, 0, capture.stderr);
  t.match(capture.stderr, 'warning: skipping journal/loose');
  t.equal(await readFile(journal, 'utf8'), 'capture tomcat-test/StaffTracker\n');
});
