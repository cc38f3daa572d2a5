import { execFile } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, REPO_ROOT, tempDir } from './helpers/cli.js';
import { writeFileIn } from './helpers/fixtures.js';
import { mariadbdPids, startMariadb } from './helpers/mariadb.js';
import { buildMariadbServer } from '../examples/mariadb-server/index.mjs';

/* examples/mariadb-server: the builder, its CLI, and the server it makes, as a wrapper component. */

async function listFiles(dir: string, prefix = ''): Promise<Array<{ path: string; mode: number; content: string }>> {
  const files = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(full, path.join(prefix, entry.name))));
    else files.push({ path: path.join(prefix, entry.name), mode: (await stat(full)).mode & 0o777, content: await readFile(full, 'utf8') });
  }
  return files;
}

const params = {
  name: 'mysql-production',
  port: 3307,
  socket: '/run/mysqld-production/mysqld.sock',
  dataDir: '/var/lib/mysql-production',
  adminUser: 'admin',
  adminPassword: "it's a \"secret\"",
};

t.test('the builder is pure: the same parameters write the same files', async (t) => {
  const dir = await tempDir(t);
  await buildMariadbServer(path.join(dir, 'a'), params);
  await buildMariadbServer(path.join(dir, 'b'), params);
  const a = await listFiles(path.join(dir, 'a'));
  t.same(a, await listFiles(path.join(dir, 'b')), 'identical files and modes');
  t.same(
    a.map((f) => [f.path, f.mode.toString(8)]),
    [
      ['bin/wrapper', '755'],
      ['etc/dysnomia/containers/mysql-production', '600'],
      ['share/mariadb-server/init.sql', '600'],
    ],
    'the password is only in mode-0600 files',
  );
  t.notMatch(a.find((f) => f.path === 'bin/wrapper')?.content, 'secret', 'the wrapper script holds no password');
  t.equal(
    a.find((f) => f.path.startsWith('etc/'))?.content,
    '# MariaDB instance mysql-production: deploy mysql-database components into it (examples/mariadb-server)\n' +
      "type=mysql-database\nmysqlUsername=admin\nmysqlPassword='it'\\''s a \"secret\"'\nmysqlSocket=/run/mysqld-production/mysqld.sock\nmysqlPort=3307\n",
  );
  await buildMariadbServer(path.join(dir, 'c'), { ...params, port: 3308 });
  t.notSame(await listFiles(path.join(dir, 'c')), a, 'another port, other files');
  await t.rejects(buildMariadbServer(path.join(dir, 'd'), { ...params, dataDir: 'relative' }), /dataDir must be an absolute path/);
  await t.rejects(buildMariadbServer(path.join(dir, 'd'), { ...params, name: '../x' }), /name must match/);
});

t.test('build.mjs writes the component; the password comes from a file, bad arguments exit 2', async (t) => {
  const dir = await tempDir(t);
  const passwordFile = path.join(dir, 'password');
  await writeFile(passwordFile, "it's a \"secret\"\n", { mode: 0o600 });
  const build = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(REPO_ROOT, 'examples/mariadb-server/build.mjs'), ...args], (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
  const ok = await build([
    '--out', path.join(dir, 'cli'), '--name', params.name, '--port', '3307', '--socket', params.socket,
    '--data-dir', params.dataDir, '--admin-user', 'admin', '--admin-password-file', passwordFile,
  ]);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout, `${path.join(dir, 'cli')}\n`);
  await buildMariadbServer(path.join(dir, 'api'), params);
  t.same(await listFiles(path.join(dir, 'cli')), await listFiles(path.join(dir, 'api')), 'the CLI and the module build the same component');

  const noPassword = await build(['--out', path.join(dir, 'x'), '--name', 'x']);
  t.equal(noPassword.code, 2);
  t.match(noPassword.stderr, '--admin-password-file FILE is required');
  const badPort = await build(['--out', path.join(dir, 'x'), '--name', 'x', '--port', 'eighty', '--admin-password-file', passwordFile]);
  t.equal(badPort.code, 2);
  t.match(badPort.stderr, '--port eighty: not a port number');
  t.notMatch(badPort.stderr, /\n\s+at /, 'no stack trace');
});

t.test('two instances at once, a database in each; activate twice is still one server; deactivate leaves no mariadbd', async (t) => {
  const production = await startMariadb(t, { name: 'mysql-production' });
  const test = await startMariadb(t, { name: 'mysql-test' });
  t.not(production.port, test.port);
  t.not(production.socket, test.socket);
  t.equal(await production.sql('SELECT @@port;'), `${production.port}\n`);
  t.equal(await test.sql('SELECT @@port;'), `${test.port}\n`);

  const dir = await tempDir(t);
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'state') };
  for (const instance of [production, test]) {
    const component = path.join(dir, 'components', `${instance.name.replace('mysql-', '')}_db`);
    await writeFileIn(path.join(component, 'mysql-databases/schema.sql'), `CREATE TABLE origin (name VARCHAR(40)); INSERT INTO origin VALUES ('${instance.name}');`);
    const result = await dysnomia(['--operation', 'activate', '--component', component, '--container', instance.containerFile], { env });
    t.equal(result.code, 0, result.stderr);
  }
  t.equal(await production.sql('SELECT name FROM origin;', 'production_db'), 'mysql-production\n');
  t.equal(await test.sql('SELECT name FROM origin;', 'test_db'), 'mysql-test\n');
  t.notMatch(await production.sql('SHOW DATABASES;'), 'test_db', 'each database lives in its own server');
  t.notMatch(await test.sql('SHOW DATABASES;'), 'production_db');

  const pid = await production.serverPid();
  t.ok(pid, 'production runs');
  await production.start();
  t.equal(await production.serverPid(), pid, 'activating again keeps the same server');
  t.same(await mariadbdPids(production.dataDir), [pid], 'exactly one mariadbd for the production data folder');

  await production.stop();
  await production.stop();
  t.same(await mariadbdPids(production.dataDir), [], 'deactivate (twice) leaves no mariadbd of that instance');
  t.equal((await test.sql('SELECT 1;')), '1\n', 'the other instance still runs');

  // Activate again: the data folder is initialised already, so the data is still there.
  await production.start();
  t.equal(await production.sql('SELECT name FROM origin;', 'production_db'), 'mysql-production\n', 'data kept across a restart');
  t.equal((await mariadbdPids(production.dataDir)).length, 1);
});
