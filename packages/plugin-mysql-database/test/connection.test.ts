import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { OperationContext } from '@dysnomia/engine';
import { connectionSettings, describeTarget } from '../src/connection.js';
import { quoteIdentifier, databaseNameProblem } from '../src/identifiers.js';
import { formatOptionFile, withOptionFile } from '../src/option-file.js';

function context(properties: Record<string, string | string[]>): OperationContext {
  return {
    operation: 'activate',
    type: 'mysql-database',
    component: '/nowhere/staff',
    componentName: 'staff',
    container: { name: 'mysql-test', properties, file: '/etc/dysnomia/containers/mysql-test', argument: 'mysql-test' },
    stateDir: '/nowhere/state',
    env: {},
    log: { debug() {}, info() {}, warn() {}, error() {} },
    signal: new AbortController().signal,
    run: async () => {
      throw new Error('unexpected run');
    },
  };
}

t.test('quoteIdentifier doubles backquotes; database names the server refuses are found', async (t) => {
  t.equal(quoteIdentifier('staff'), '`staff`');
  t.equal(quoteIdentifier('a`b; DROP DATABASE mysql'), '`a``b; DROP DATABASE mysql`');
  t.equal(databaseNameProblem('x'.repeat(64)), undefined);
  t.match(databaseNameProblem('x'.repeat(65)), 'longer than 64');
  t.match(databaseNameProblem('trailing '), 'ends with a space');
});

t.test('connection settings: socket, host and port; mysqlPort honoured', async (t) => {
  t.same(connectionSettings(context({ mysqlUsername: 'root', mysqlPassword: 'pw', mysqlSocket: '/run/m.sock', mysqlPort: '3307' })), {
    user: 'root',
    password: 'pw',
    port: 3307,
    socket: '/run/m.sock',
  });
  const tcp = connectionSettings(context({ mysqlHost: 'db.example', mysqlPort: '3310', mysqlSocket: '/run/m.sock' }));
  t.same(tcp, { host: 'db.example', port: 3310 }, 'a host wins over the socket');
  t.equal(describeTarget(tcp), 'db.example:3310');
  t.same(connectionSettings(context({ mysqlPort: '3311' })), { port: 3311, host: '127.0.0.1' }, 'a port alone: TCP on 127.0.0.1');
  t.equal(describeTarget(connectionSettings(context({}))), "the client's default socket");
  t.throws(() => connectionSettings(context({ mysqlPort: '0' })), { message: /container "mysql-test" \(\/etc\/dysnomia\/containers\/mysql-test\): mysqlPort must be/ });
  t.throws(() => connectionSettings(context({ mysqlPassword: ['a', 'b'] })), { message: /mysqlPassword must be a single value/, name: 'Error' });
});

t.test('the option file quotes what the client would misread, and the real client reads it back', async (t) => {
  const password = 'p@ss w"o\'rd #1 \\x; [client]';
  const text = formatOptionFile({ user: 'admin', password, socket: '/run/my sock/m.sock' });
  t.equal(
    text,
    '[client]\nuser="admin"\npassword="p@ss w\\"o\'rd #1 \\\\x; [client]"\nsocket="/run/my sock/m.sock"\nprotocol=SOCKET\n',
  );
  // mariadb --print-defaults shows how the client parsed the file (it never connects).
  const dir = await mkdtemp(path.join(os.tmpdir(), 'option-file-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'client.cnf');
  await writeFile(file, text);
  const parsed = await new Promise<string>((resolve, reject) =>
    execFile('mariadb', [`--defaults-file=${file}`, '--print-defaults'], (error, stdout) => (error ? reject(error) : resolve(stdout))),
  ).catch((error: Error) => {
    throw new Error(`mariadb --print-defaults failed (install it: apt-get install mariadb-client): ${error.message}`);
  });
  t.match(parsed, `--password=${password}`);
  t.match(parsed, '--socket=/run/my sock/m.sock');
});

t.test('withOptionFile: mode 0600 in a private folder, removed afterwards, also after an error', async (t) => {
  let seen = '';
  await withOptionFile({ user: 'u', password: 'secret' }, async (file) => {
    seen = file;
    t.equal((await stat(file)).mode & 0o777, 0o600);
    t.equal((await stat(path.dirname(file))).mode & 0o777, 0o700);
    t.match(await readFile(file, 'utf8'), 'password="secret"');
  });
  await t.rejects(readFile(seen), { code: 'ENOENT' });
  let failed = '';
  await t.rejects(
    withOptionFile({ password: 'x' }, async (file) => {
      failed = file;
      throw new Error('boom');
    }),
    /boom/,
  );
  await t.rejects(readFile(path.dirname(failed)), { code: 'ENOENT' });
});
