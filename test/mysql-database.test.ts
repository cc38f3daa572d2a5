import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { dysnomia, runCommand, tempDir } from './helpers/cli.js';
import { writeFileIn } from './helpers/fixtures.js';
import { startMariadb } from './helpers/mariadb.js';
import type { MariadbInstance } from './helpers/mariadb.js';

/*
 * The mysql-database plugin through the CLI, against a private MariaDB
 * started with the examples/mariadb-server wrapper component.
 */

const STAFF_SCHEMA = `CREATE TABLE staff (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL);
-- A stored procedure: only works when the file goes through the client, which understands DELIMITER.
DELIMITER //
CREATE PROCEDURE hire(IN staff_id INT, IN staff_name VARCHAR(100))
BEGIN
  INSERT INTO staff VALUES (staff_id, staff_name);
END//
DELIMITER ;
`;
const STAFF_DATA = `CALL hire(1, 'Ada');\nCALL hire(2, 'Grace');\n`;

const runProgram = promisify(execFile);
const db: MariadbInstance = await startMariadb(t);

/** A scratch machine: its own state folder, a components folder, and the CLI bound to both. */
async function machine(t: Test, options: { containersPath?: boolean } = {}) {
  const dir = await tempDir(t, 'dysnomia-mysql-');
  const stateDir = path.join(dir, 'state');
  // By default the server component's containers folder is on the containers path, so its container is found by name.
  const env: Record<string, string> = { DYSNOMIA_STATEDIR: stateDir };
  if (options.containersPath !== false) env.DYSNOMIA_CONTAINERS_PATH = path.dirname(db.containerFile);
  const run = (operation: string, component: string, container = db.containerFile) =>
    dysnomia(['--operation', operation, '--component', component, '--container', container], { env });
  const component = async (name: string, files: Record<string, string>) => {
    const folder = path.join(dir, 'components', name);
    await mkdir(folder, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFileIn(path.join(folder, 'mysql-databases', file), text);
    return folder;
  };
  return { dir, stateDir, env, run, component };
}

const databases = async () => (await db.sql('SHOW DATABASES;')).split('\n').filter(Boolean);
const marker = (stateDir: string, kind: 'activated' | 'garbage', component: string) =>
  lstat(path.join(stateDir, kind, db.name, component)).then(() => true, () => false);

t.test('activate runs the SQL files in name order once; activate and deactivate twice succeed', async (t) => {
  const m = await machine(t);
  // Named so that name order matters: the data file needs the schema file's procedure.
  const staff = await m.component('staff', { '10-data.sql': STAFF_DATA, '01-schema.sql': STAFF_SCHEMA });

  for (const round of [1, 2]) {
    const result = await m.run('activate', staff);
    t.equal(result.code, 0, `activate #${round}: ${result.stderr}`);
  }
  t.same(await db.sql('SELECT id, name FROM staff ORDER BY id;', 'staff'), '1\tAda\n2\tGrace\n', 'the SQL ran once (no duplicate rows, no error)');
  t.match(await db.sql("SHOW PROCEDURE STATUS WHERE Db = 'staff';"), /staff\thire\tPROCEDURE/, 'the DELIMITER block made a procedure');
  t.ok(await marker(m.stateDir, 'activated', 'staff'), 'activated marker');

  // A database that exists already is left as it is (the SQL is not run again), even without a marker.
  await db.sql("INSERT INTO staff VALUES (3, 'Linus');", 'staff');
  const other = await machine(t);
  t.equal((await other.run('activate', staff)).code, 0);
  t.equal(await db.sql('SELECT COUNT(*) FROM staff;', 'staff'), '3\n', 'existing data untouched');

  for (const round of [1, 2]) {
    const result = await m.run('deactivate', staff);
    t.equal(result.code, 0, `deactivate #${round}: ${result.stderr}`);
  }
  t.ok((await databases()).includes('staff'), 'deactivate keeps the data (it is only marked as garbage)');
  t.notOk(await marker(m.stateDir, 'activated', 'staff'), 'no activated marker after deactivate');
  t.ok(await marker(m.stateDir, 'garbage', 'staff'), 'garbage marker after deactivate');

  const capture = await m.run('capture', staff);
  t.equal(capture.code, 0, capture.stderr);
  t.same(JSON.parse(capture.stdout), { container: db.name, database: 'staff', exists: true, databases: ['staff'] });

  t.equal((await m.run('collect-garbage', staff)).code, 0);
  t.notOk((await databases()).includes('staff'), 'collect-garbage dropped the deactivated database');
  t.notOk(await marker(m.stateDir, 'garbage', 'staff'), 'garbage marker cleared');
});

t.test('collect-garbage keeps an active database and drops only the deactivated one', async (t) => {
  const m = await machine(t);
  const kept = await m.component('gc_kept', { 'schema.sql': 'CREATE TABLE t (x INT); INSERT INTO t VALUES (7);' });
  const dropped = await m.component('gc_dropped', { 'schema.sql': 'CREATE TABLE t (x INT);' });
  t.equal((await m.run('activate', kept)).code, 0);
  t.equal((await m.run('activate', dropped)).code, 0);
  t.equal((await m.run('deactivate', dropped)).code, 0);

  for (const component of [kept, dropped]) t.equal((await m.run('collect-garbage', component)).code, 0);
  const after = await databases();
  t.ok(after.includes('gc_kept'), 'the active database is kept');
  t.equal(await db.sql('SELECT x FROM t;', 'gc_kept'), '7\n');
  t.notOk(after.includes('gc_dropped'), 'the deactivated database is dropped');

  // dysnomia-containers --collect-garbage does the same over the garbage markers.
  t.equal((await m.run('deactivate', kept)).code, 0);
  const all = await runCommand('dysnomia-containers', ['--collect-garbage'], { env: m.env });
  t.equal(all.code, 0, all.stderr);
  t.notOk((await databases()).includes('gc_kept'), 'dysnomia-containers --collect-garbage dropped it');
});

t.test('snapshots: identical content counts once, a change makes a new generation, restore brings the latest back', async (t) => {
  const m = await machine(t);
  const accounts = await m.component('accounts', { 'schema.sql': STAFF_SCHEMA, 'z-data.sql': STAFF_DATA });
  t.equal((await m.run('activate', accounts)).code, 0);
  const queryAll = async () => {
    const result = await runCommand('dysnomia-snapshots', ['--query-all'], { env: m.env });
    t.equal(result.code, 0, result.stderr);
    return result.stdout.split('\n').filter(Boolean);
  };

  t.equal((await m.run('snapshot', accounts)).code, 0);
  t.equal((await m.run('snapshot', accounts)).code, 0);
  const one = await queryAll();
  t.equal(one.length, 1, 'two snapshots of the same data: one snapshot');
  t.match(one[0], new RegExp(`^${db.name}/accounts/[0-9a-f]{64}$`));
  const dump = await readFile(path.join(m.stateDir, 'snapshots', one[0]!, 'dump.sql'), 'utf8');
  t.match(dump, "INSERT INTO `staff` VALUES", 'the snapshot holds the dump');
  t.match(dump, 'CREATE DEFINER', 'routines are in the dump');
  t.notMatch(dump, /Dump completed on/, 'no dump date (deterministic)');

  await db.sql("CALL hire(3, 'Barbara');", 'accounts');
  t.equal((await m.run('snapshot', accounts)).code, 0);
  const two = await queryAll();
  t.equal(two.length, 2, 'a change makes a second snapshot');
  const latest = await runCommand('dysnomia-snapshots', ['--query-latest'], { env: m.env });
  t.equal(latest.stdout.trim(), two[1], 'the new one is the latest');

  // Change the data and the routines, then restore the latest snapshot.
  await db.sql("DELETE FROM staff; INSERT INTO staff VALUES (99, 'Mallory'); DROP PROCEDURE hire;", 'accounts');
  const restore = await m.run('restore', accounts);
  t.equal(restore.code, 0, restore.stderr);
  t.equal(await db.sql('SELECT id, name FROM staff ORDER BY id;', 'accounts'), '1\tAda\n2\tGrace\n3\tBarbara\n', 'the latest snapshot is back');
  t.match(await db.sql("SHOW PROCEDURE STATUS WHERE Db = 'accounts';"), /\thire\t/, 'the procedure is back');

  // Restore into a dropped database recreates it.
  await db.sql('DROP DATABASE accounts;');
  t.equal((await m.run('restore', accounts)).code, 0);
  t.equal(await db.sql('SELECT COUNT(*) FROM staff;', 'accounts'), '3\n');

  // Nothing to restore is not an error.
  const fresh = await machine(t);
  const none = await fresh.run('restore', accounts);
  t.equal(none.code, 0, none.stderr);
  t.match(none.stderr, 'nothing restored');
});

t.test('identifiers with odd characters are quoted', async (t) => {
  const m = await machine(t);
  const name = "odd name's-`db`; DROP DATABASE mysql";
  const odd = await m.component(name, { 'schema.sql': 'CREATE TABLE `we``ird` (v VARCHAR(10)); INSERT INTO `we``ird` VALUES (\'ok\');' });
  const activate = await m.run('activate', odd);
  t.equal(activate.code, 0, activate.stderr);
  t.ok((await databases()).includes(name), 'the database has exactly the component name');
  t.ok((await databases()).includes('mysql'), 'nothing was injected');
  t.equal(await db.sql('SELECT v FROM `we``ird`;', name), 'ok\n');
  t.equal((await m.run('snapshot', odd)).code, 0, 'snapshot of an odd name');
  t.equal((await m.run('deactivate', odd)).code, 0);
  t.equal((await m.run('collect-garbage', odd)).code, 0);
  t.notOk((await databases()).includes(name));
});

t.test('SQL that fails half way leaves no database, names the file, and a retry works', async (t) => {
  const m = await machine(t);
  const broken = await m.component('halfway', {
    '1-schema.sql': 'CREATE TABLE t (x INT);\nINSERT INTO t VALUES (1);\n',
    '2-more.sql': 'INSERT INTO t VALUES (2);\nINSERT INTO missing_table VALUES (3);\n',
  });
  const result = await m.run('activate', broken);
  t.equal(result.code, 1);
  t.match(result.stderr, 'plugin "@dysnomia/plugin-mysql-database" failed in activate');
  t.match(result.stderr, 'mysql-databases/2-more.sql');
  t.match(result.stderr, /at line 2/);
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
  t.notOk((await databases()).includes('halfway'), 'the half-made database was dropped');
  t.notOk(await marker(m.stateDir, 'activated', 'halfway'), 'not marked as activated');

  await writeFileIn(path.join(broken, 'mysql-databases/2-more.sql'), 'INSERT INTO t VALUES (2);\n');
  t.equal((await m.run('activate', broken)).code, 0, 'the retry works');
  t.equal(await db.sql('SELECT x FROM t ORDER BY x;', 'halfway'), '1\n2\n');
});

t.test('dysnomia-containers --snapshot and --restore over activated databases, container from an installed profile', async (t) => {
  const m = await machine(t, { containersPath: false });
  // Installing the server component in a profile makes its container available by name.
  await mkdir(path.join(m.stateDir, 'profiles'), { recursive: true });
  await symlink(db.component, path.join(m.stateDir, 'profiles', 'containers'));
  const first = await m.component('inventory', { 'schema.sql': "CREATE TABLE item (n VARCHAR(20)); INSERT INTO item VALUES ('hammer');" });
  const second = await m.component('orders', { 'schema.sql': 'CREATE TABLE o (n INT); INSERT INTO o VALUES (1);' });
  for (const component of [first, second]) {
    const result = await m.run('activate', component, db.name);
    t.equal(result.code, 0, result.stderr);
  }
  const containers = (args: string[]) => runCommand('dysnomia-containers', args, { env: m.env });
  const snapshot = await containers(['--snapshot']);
  t.equal(snapshot.code, 0, snapshot.stderr);
  const all = await runCommand('dysnomia-snapshots', ['--query-all'], { env: m.env });
  t.same(
    all.stdout.split('\n').filter(Boolean).map((line) => line.split('/').slice(0, 2).join('/')),
    [`${db.name}/inventory`, `${db.name}/orders`],
  );

  await db.sql("UPDATE item SET n = 'saw';", 'inventory');
  await db.sql('DELETE FROM o;', 'orders');
  const restore = await containers(['--restore', '-y']);
  t.equal(restore.code, 0, restore.stderr);
  t.equal(await db.sql('SELECT n FROM item;', 'inventory'), 'hammer\n');
  t.equal(await db.sql('SELECT n FROM o;', 'orders'), '1\n');
  for (const component of [first, second]) {
    t.equal((await m.run('deactivate', component, db.name)).code, 0);
    t.equal((await m.run('collect-garbage', component, db.name)).code, 0);
  }
});

t.test('bad container properties exit 2 and name the container file', async (t) => {
  const m = await machine(t);
  const component = await m.component('badport', { 'schema.sql': 'SELECT 1;' });
  const container = await writeFileIn(path.join(m.dir, 'containers/bad-port'), `type=mysql-database\nmysqlPort=99999\nmysqlHost=127.0.0.1\n`);
  const result = await m.run('activate', component, container);
  t.equal(result.code, 2);
  t.match(result.stderr, `container "bad-port" (${container}): mysqlPort must be a TCP port number`);
});

t.test('a TCP connection honours mysqlHost and mysqlPort', async (t) => {
  const m = await machine(t);
  const container = await writeFileIn(
    path.join(m.dir, 'containers/over-tcp'),
    `type=mysql-database\nmysqlUsername=${db.adminUser}\nmysqlPassword='${db.adminPassword.replaceAll("'", "'\\''")}'\nmysqlHost=127.0.0.1\nmysqlPort=${db.port}\n`,
  );
  const component = await m.component('over_tcp', { 'schema.sql': 'CREATE TABLE t (x INT);' });
  const result = await m.run('activate', component, container);
  t.equal(result.code, 0, result.stderr);
  t.ok((await databases()).includes('over_tcp'));
  const capture = await m.run('capture', component, container);
  t.match(JSON.parse(capture.stdout), { exists: true });
});

t.test("restore reads a snapshot Dysnomia's own module made (dump.sql.xz)", async (t) => {
  const m = await machine(t);
  const legacy = await m.component('legacy', { 'schema.sql': 'CREATE TABLE t (x INT);' });
  t.equal((await m.run('activate', legacy)).code, 0);
  // What Dysnomia's mysql-database module stores: mysqldump | xz > dump.sql.xz, in a folder named by its hash.
  const source = path.join(m.dir, 'import', 'a'.repeat(64));
  await writeFileIn(path.join(source, 'dump.sql'), 'DROP TABLE IF EXISTS t;\nCREATE TABLE t (x INT);\nINSERT INTO t VALUES (41), (42);\n');
  await runProgram('xz', [path.join(source, 'dump.sql')]);
  const imported = await runCommand('dysnomia-snapshots', ['--import', '-C', db.name, '-c', 'legacy', source], { env: m.env });
  t.equal(imported.code, 0, imported.stderr);
  const restore = await m.run('restore', legacy);
  t.equal(restore.code, 0, restore.stderr);
  t.equal(await db.sql('SELECT x FROM t ORDER BY x;', 'legacy'), '41\n42\n');
});

// Last: it stops the shared server.
t.test('every activate looks at the server: a database dropped by hand is made again; with its marker there, a stopped server still fails', async (t) => {
  const m = await machine(t);
  const orders = await m.component('orders', { 'schema.sql': 'CREATE TABLE orders (id INT PRIMARY KEY);\nINSERT INTO orders VALUES (7);\n' });
  t.equal((await m.run('activate', orders)).code, 0);
  t.ok(await marker(m.stateDir, 'activated', 'orders'));
  await db.sql('DROP DATABASE orders;');
  t.notOk((await databases()).includes('orders'), 'dropped by hand');
  const again = await m.run('activate', orders);
  t.equal(again.code, 0, again.stderr);
  t.ok((await databases()).includes('orders'), 'the marker did not stand in for the database: activate made it again');
  t.equal((await db.sql('SELECT id FROM orders.orders;')).trim(), '7');

  await db.stop();
  t.teardown(() => db.start());
  const stopped = await m.run('activate', orders);
  t.equal(stopped.code, 1, 'the server is down: activate fails although the component is marked activated');
  t.match(stopped.stderr, 'cannot connect to the MySQL/MariaDB server');
  await db.start();
  t.equal((await m.run('activate', orders)).code, 0, 'and works again once the server is back');
});

t.test('a stopped MariaDB gives a clear error naming the container, exit status 1', async (t) => {
  const m = await machine(t);
  const component = await m.component('unreachable', { 'schema.sql': 'CREATE TABLE t (x INT);' });
  await db.stop();
  t.equal(await db.serverPid(), undefined, 'the server is stopped');
  for (const operation of ['activate', 'snapshot', 'capture']) {
    const result = await m.run(operation, component);
    t.equal(result.code, 1, `${operation}: exit 1`);
    t.match(result.stderr, `failed in ${operation}: container "${db.name}" (${db.containerFile}): cannot connect to the MySQL/MariaDB server at socket ${db.socket}; is it running?`);
    t.notMatch(result.stderr, db.adminPassword, 'the password is not in the message');
  }
  // cache/ holds the engine's npm resolution of the plugin, not a marker.
    t.same((await readdir(path.join(m.stateDir)).catch(() => [])).filter((name) => name !== 'cache'), [], 'no markers written for the failed activate');
});
