import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { OperationContext, RunOptions } from '@dysnomia/engine';
import plugin from '../src/index.js';

/* The plugin with a fake process runner: what it asks the client to do, and that no secret is an argument. */

interface Call {
  file: string;
  args: readonly string[];
  options: RunOptions | undefined;
}

async function fixture(t: Test, answers: (call: Call) => string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mysql-plugin-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const component = path.join(dir, 'staff');
  await mkdir(path.join(component, 'mysql-databases'), { recursive: true });
  for (const name of ['b.sql', 'a.sql', 'notes.txt', '10.sql']) await writeFile(path.join(component, 'mysql-databases', name), '-- sql\n');
  const calls: Call[] = [];
  const ctx: OperationContext = {
    operation: 'activate',
    type: 'mysql-database',
    component,
    componentName: 'staff',
    container: { name: 'mysql-test', properties: { mysqlUsername: 'root', mysqlPassword: 'TOPSECRET', mysqlSocket: '/run/m.sock' }, argument: 'mysql-test' },
    stateDir: path.join(dir, 'state'),
    env: { PATH: '/usr/bin:/bin' },
    log: { debug() {}, info() {}, warn() {}, error() {} },
    signal: new AbortController().signal,
    run: async (file, args = [], options) => {
      const call = { file, args, options };
      calls.push(call);
      return { exitCode: 0, stdout: answers(call), stderr: '' };
    },
  };
  return { ctx, calls, component };
}

const hex = (name: string) => Buffer.from(name).toString('hex').toUpperCase();
const executed = (call: Call) => call.args.find((arg) => arg.startsWith('--execute='))?.slice('--execute='.length);

t.test('activate: create, then every .sql file in name order through a stdin redirect; no secret in any argument', async (t) => {
  const { ctx, calls, component } = await fixture(t, () => `${hex('mysql')}\n`);
  await plugin.activate(ctx);
  t.equal(executed(calls[0]!), 'SELECT HEX(SCHEMA_NAME) FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME');
  t.equal(executed(calls[1]!), 'CREATE DATABASE `staff`');
  const files = calls.slice(2).map((call) => {
    t.equal(call.file, '/bin/sh');
    t.equal(call.args[1], 'file=$1; shift; exec "$@" < "$file"', 'a fixed script: nothing from the input is interpreted');
    t.ok(call.args.includes('--database=staff'));
    return path.relative(component, call.args[3]!);
  });
  t.same(files, ['mysql-databases/10.sql', 'mysql-databases/a.sql', 'mysql-databases/b.sql'], 'byte order, .sql only');
  for (const call of calls) {
    t.notMatch(call.args.join(' '), 'TOPSECRET');
    t.match(call.args.join(' '), /--defaults-file=\S+client\.cnf/);
    t.equal(call.options?.input, undefined, 'nothing is piped from memory');
  }
});

t.test('activate of an existing database runs nothing else', async (t) => {
  const { ctx, calls } = await fixture(t, () => `${hex('mysql')}\n${hex('staff')}\n`);
  await plugin.activate(ctx);
  t.equal(calls.length, 1);
});

t.test('a failing file drops the database again and names the file', async (t) => {
  const { ctx, calls } = await fixture(t, (call) => {
    if (call.args.some((arg) => arg.endsWith('a.sql'))) throw Object.assign(new Error('mariadb exited with status 1'), { stderr: 'ERROR 1064 (42000) at line 1: syntax\n' });
    return '';
  });
  await t.rejects(plugin.activate(ctx), {
    message: 'mysql-databases/a.sql of component staff failed in database `staff`, so the database was dropped again: container "mysql-test": ERROR 1064 (42000) at line 1: syntax',
  });
  t.equal(executed(calls.at(-1)!), 'DROP DATABASE IF EXISTS `staff`');
});

t.test('capture lists the user databases, decoded from hex', async (t) => {
  const odd = "we`ird\tname\n";
  const { ctx } = await fixture(t, () => [hex('information_schema'), hex('mysql'), hex('staff'), hex(odd)].join('\n') + '\n');
  t.same(await plugin.capture!(ctx), { container: 'mysql-test', database: 'staff', exists: true, databases: ['staff', odd] });
});

t.test("bad input becomes the engine's DysnomiaError (exit status 2), naming the container", async (t) => {
  const { ctx, calls } = await fixture(t, () => '');
  ctx.container.properties.mysqlPort = 'eighty';
  await t.rejects(plugin.activate(ctx), { name: 'DysnomiaError', exitCode: 2, message: /container "mysql-test": mysqlPort must be a TCP port number/ });
  t.equal(calls.length, 0, 'nothing ran');
});
