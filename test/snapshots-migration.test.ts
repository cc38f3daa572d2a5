import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia } from './helpers/cli.js';
import { failureText, parseEvents, sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';
import { startMariadb } from './helpers/mariadb.js';

/*
 * The state of services over two simulated machines (sshd on 127.0.0.1),
 * each with a private MariaDB server as its container: dysnomia snapshot,
 * restore and clean-snapshots -i, and a deployState database migrating
 * between the two containers (and back, with --delete-state).
 */
// The first deploy builds the targets' runtime; MariaDB servers start: minutes on a loaded machine.
t.setTimeout(900_000);
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-state-');
const mysqlA = await startMariadb(t, { name: 'mysql-a' });
const mysqlB = await startMariadb(t, { name: 'mysql-b' });

const { type: _a, ...propertiesA } = mysqlA.properties;
const { type: _b, ...propertiesB } = mysqlB.properties;
const infrastructure = path.join(dir, 'infrastructure.json');
const stateHere = path.join(dir, 'machines/here/state');
await writeFile(
  infrastructure,
  JSON.stringify({
    test1: { ...sshTarget(test1, knownHosts, state1), containers: { 'mysql-a': propertiesA } },
    test2: { ...sshTarget(test2, knownHosts, state2), containers: { 'mysql-b': propertiesB } },
    // This machine, in process: another container name for server A.
    here: { properties: { hostname: 'localhost', stateDir: stateHere }, clientInterface: 'local', containers: { 'mysql-c': propertiesA } },
  }),
);
const project = path.join(dir, 'project');
await mkdir(path.join(project, 'staffdb/mysql-databases'), { recursive: true });
await writeFile(path.join(project, 'staffdb/mysql-databases/schema.sql'), 'CREATE TABLE staff (name VARCHAR(60) PRIMARY KEY);\n');
const services = path.join(project, 'services.json');
await writeFile(services, JSON.stringify({ staffdb: { pkg: './staffdb', type: 'mysql-database', deployState: true } }));
const distribution = path.join(project, 'distribution.json');
const placeAt = (target: string, container: string) => writeFile(distribution, JSON.stringify({ staffdb: { targets: [{ target, container }] } }));

const deploy = async (...extra: string[]) => {
  const result = await dysnomia(['deploy', '-s', services, '-i', infrastructure, '-d', distribution, '--json', ...extra], { env });
  return { ...result, events: result.stdout.startsWith('{') ? parseEvents(result.stdout) : [] };
};
const onMachines = async (word: string, ...extra: string[]) => {
  const result = await dysnomia([word, '-i', infrastructure, '--json', ...extra], { env });
  return { ...result, events: result.stdout.startsWith('{') ? parseEvents(result.stdout) : [] };
};
const staffIn = async (server: typeof mysqlA) => (await server.sql('SELECT name FROM staff ORDER BY name;', 'staffdb')).trim().split('\n').filter(Boolean);
const hasDatabase = async (server: typeof mysqlA) => (await server.sql("SHOW DATABASES LIKE 'staffdb';")).trim() === 'staffdb';
const generationsOf = async (state: string, container: string) => (await readdir(path.join(state, 'generations', container, 'staffdb')).catch(() => [] as string[])).sort();
const snapshotsOf = async (state: string, container: string) => (await readdir(path.join(state, 'snapshots', container, 'staffdb')).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();

t.test('the first deployment: staffdb in mysql-a on test1, a row inserted at run time', async (t) => {
  await placeAt('test1', 'mysql-a');
  const first = await deploy();
  t.equal(first.code, 0, failureText(first));
  t.ok(await hasDatabase(mysqlA), 'staffdb is in mysql-a');
  await mysqlA.sql("INSERT INTO staff VALUES ('Ada');", 'staffdb');
  t.same(await staffIn(mysqlA), ['Ada']);
});

t.test('snapshot -i takes the snapshot on the target and keeps a copy here; restore -i brings the row back', async (t) => {
  const taken = await onMachines('snapshot');
  t.equal(taken.code, 0, failureText(taken));
  const retrieved = taken.events.find((e) => e.event === 'state' && e.action === 'retrieve');
  t.ok(retrieved, 'the snapshot was retrieved');
  t.ok((retrieved?.bytes as number) > 0, 'bytes came over');
  const onTarget = await snapshotsOf(state1, 'mysql-a');
  t.equal(onTarget.length, 1, 'one snapshot on test1');
  t.same(await snapshotsOf(path.join(env.DYSNOMIA_STATEDIR, 'target-snapshots/test1'), 'mysql-a'), onTarget, 'the same snapshot on the coordinator, in Dysnomia\'s layout');

  const again = await onMachines('snapshot');
  t.equal(again.code, 0, failureText(again));
  t.equal(again.events.find((e) => e.event === 'state' && e.action === 'retrieve')?.bytes, 0, 'an unchanged snapshot is not transferred again');

  await mysqlA.sql("DELETE FROM staff; INSERT INTO staff VALUES ('Mallory');", 'staffdb');
  t.same(await staffIn(mysqlA), ['Mallory']);
  const restored = await onMachines('restore');
  t.equal(restored.code, 0, failureText(restored));
  t.same(await staffIn(mysqlA), ['Ada'], 'the row is back, the change gone');
  t.equal(restored.events.find((e) => e.event === 'state' && e.action === 'send')?.bytes, 0, 'the target had the snapshot: nothing sent');
});

t.test('clean-snapshots -i --keep 1 leaves one generation on each target', async (t) => {
  await mysqlA.sql("INSERT INTO staff VALUES ('Grace');", 'staffdb');
  const taken = await onMachines('snapshot');
  t.equal(taken.code, 0, failureText(taken));
  t.equal((await generationsOf(state1, 'mysql-a')).length, 2, 'two generations before');
  const cleaned = await onMachines('clean-snapshots', '--keep', '1');
  t.equal(cleaned.code, 0, failureText(cleaned));
  t.same(await generationsOf(state1, 'mysql-a'), ['2'], 'the latest generation stays');
  t.equal((await snapshotsOf(state1, 'mysql-a')).length, 1, 'one snapshot left');
  const restored = await onMachines('restore');
  t.equal(restored.code, 0, failureText(restored));
  t.same(await staffIn(mysqlA), ['Ada', 'Grace'], 'the kept snapshot is the latest');

  const elsewhere = await onMachines('snapshot', '-C', 'mysql-b');
  t.equal(elsewhere.code, 0, failureText(elsewhere));
  t.ok(elsewhere.events.some((e) => e.event === 'skipped'), 'no mapping in container mysql-b: nothing to do, said');
  t.notOk(elsewhere.events.some((e) => e.event === 'state'));

  await mysqlA.sql("INSERT INTO staff VALUES ('Hedy');", 'staffdb');
  const kept = await onMachines('snapshot', '-c', 'staffdb', '--all', '--keep', '1');
  t.equal(kept.code, 0, failureText(kept));
  t.same(await generationsOf(state1, 'mysql-a'), ['3'], 'snapshot --keep 1 cleans the target afterwards');

  // The target lost its snapshots: restore sends this machine's copy.
  for (const folder of ['snapshots', 'generations', 'checksums']) await rm(path.join(state1, folder), { recursive: true, force: true });
  await mysqlA.sql("DELETE FROM staff WHERE name <> 'Hedy';", 'staffdb');
  const sent = await onMachines('restore');
  t.equal(sent.code, 0, failureText(sent));
  t.ok((sent.events.find((e) => e.event === 'state' && e.action === 'send')?.bytes as number) > 0, 'the snapshot was sent to the target');
  t.same(await staffIn(mysqlA), ['Ada', 'Grace', 'Hedy'], 'and restored');
  t.equal((await snapshotsOf(state1, 'mysql-a')).length, 1, 'the target has it again');
  await mysqlA.sql("DELETE FROM staff WHERE name = 'Hedy';", 'staffdb');
});

t.test('bad usage of the state commands: exit status 2, nothing done', async (t) => {
  const noInfra = await dysnomia(['clean-snapshots', '--keep', '1'], { env });
  t.equal(noInfra.code, 2);
  t.match(noInfra.stderr, 'no infrastructure model: pass -i INFRASTRUCTURE');
  const badKeep = await onMachines('clean-snapshots', '--keep', 'many');
  t.equal(badKeep.code, 2);
  t.match(badKeep.stderr, "--keep takes a whole number of generations, not 'many'");
  const noRecord = await onMachines('snapshot', '-p', 'nothing-here');
  t.equal(noRecord.code, 2);
  t.match(noRecord.stderr, 'profile "nothing-here" has no recorded deployment');
  t.notMatch(noRecord.stderr, /\n\s+at /, 'no stack trace');
  await writeFile(services, JSON.stringify({ staffdb: { pkg: './staffdb', type: 'mysql-database', deployState: 'yes' } }));
  const badModel = await deploy();
  t.equal(badModel.code, 2);
  t.match(badModel.stderr, services);
  t.match(badModel.stderr, '"deployState" must be true or false, not "yes"');
  await writeFile(services, JSON.stringify({ staffdb: { pkg: './staffdb', type: 'mysql-database', deployState: true } }));
  const noMigration = await deploy('--no-migration', '--delete-state');
  t.equal(noMigration.code, 2);
  t.match(noMigration.stderr, '--no-migration moves no state: it goes without --delete-state');
});

t.test('a failed migration rolls back: the database stays where it was, the snapshots stay', async (t) => {
  // test2 cannot store the snapshot: a file where its snapshots folder of mysql-b must go.
  await mkdir(path.join(state2, 'snapshots'), { recursive: true });
  await writeFile(path.join(state2, 'snapshots/mysql-b'), 'in the way\n');
  await placeAt('test2', 'mysql-b');
  const moved = await deploy();
  t.equal(moved.code, 1, 'the deployment fails');
  t.match(moved.stderr, 'migrating the state of staffdb from test1 (container mysql-a) to test2 (container mysql-b) failed');
  t.match(moved.stderr, 'rolled back to the previous deployment');
  t.same(await staffIn(mysqlA), ['Ada', 'Grace'], 'the data is where it was');
  t.ok((await snapshotsOf(path.join(env.DYSNOMIA_STATEDIR, 'target-snapshots/test1'), 'mysql-a')).length >= 1, 'the coordinator keeps the snapshot');
  t.ok((await snapshotsOf(state1, 'mysql-a')).length >= 1, 'test1 keeps the snapshot');
  await rm(path.join(state2, 'snapshots/mysql-b'));
  await placeAt('test1', 'mysql-a');
  const same = await deploy();
  t.equal(same.code, 0, failureText(same));
  const transition = same.events.find((e) => e.event === 'transition');
  t.same([transition?.activate, transition?.deactivate], [[], []], 'the targets were back where they were: nothing to do');
});

t.test('a deployState database moves to the other container with its rows; the old one stays', async (t) => {
  await mysqlA.sql("INSERT INTO staff VALUES ('Linus');", 'staffdb');
  await placeAt('test2', 'mysql-b');
  const planned = await deploy('--dry-run');
  t.equal(planned.code, 0, failureText(planned));
  t.ok(planned.events.some((e) => e.event === 'step' && e.action === 'migrate-state' && e.status === 'planned' && e.target === 'test1'), 'a dry run shows the state move');
  t.notOk(planned.events.some((e) => e.event === 'state'), 'and moves nothing');
  const moved = await deploy();
  t.equal(moved.code, 0, failureText(moved));
  t.same(await staffIn(mysqlB), ['Ada', 'Grace', 'Linus'], 'the rows, including the one inserted at run time, are in mysql-b');
  t.ok(await hasDatabase(mysqlA), 'without --delete-state the old database is still there');
  t.ok(moved.events.some((e) => e.event === 'state' && e.action === 'restore' && e.target === 'test2'), 'restored on test2');
  const order = moved.events.filter((e) => (e.event === 'state' && e.action === 'snapshot') || (e.event === 'step' && e.action === 'deactivate' && e.status === 'done'));
  t.same(order.map((e) => e.event), ['step', 'state'], 'the snapshot is taken after the old mapping is deactivated');

  await mysqlB.sql("INSERT INTO staff VALUES ('Margaret');", 'staffdb');
  await placeAt('test1', 'mysql-a');
  const back = await deploy('--delete-state');
  t.equal(back.code, 0, failureText(back));
  t.same(await staffIn(mysqlA), ['Ada', 'Grace', 'Linus', 'Margaret'], 'moved back, with the row added in mysql-b');
  t.notOk(await hasDatabase(mysqlB), 'with --delete-state the old database is gone');
  t.ok(back.events.some((e) => e.event === 'state' && e.action === 'delete-state' && e.target === 'test2' && e.status === 'done'));

  await placeAt('test2', 'mysql-b');
  const off = await deploy('--no-migration');
  t.equal(off.code, 0, failureText(off));
  t.same(await staffIn(mysqlB), [], '--no-migration: a fresh database, nothing carried');
  t.notOk(off.events.some((e) => e.event === 'state'), 'no state steps');
});

t.test('--deploy-state moves the state of a stateful service that does not say deployState', async (t) => {
  // A stateless wrapper service moving along: --deploy-state leaves it alone (its wrapper refuses a snapshot).
  await writeProgram(path.join(project, 'notes/bin/wrapper'), '#!/bin/sh\n[ "$1" = snapshot ] && { echo "no snapshots here" >&2; exit 9; }\nexit 0\n');
  const withNotes = (target: string, container: string) =>
    writeFile(distribution, JSON.stringify({ staffdb: { targets: [{ target, container }] }, notes: { targets: [{ target, container: 'wrapper' }] } }));
  await writeFile(services, JSON.stringify({ staffdb: { pkg: './staffdb', type: 'mysql-database' }, notes: { pkg: './notes', type: 'wrapper' } }));
  await withNotes('test2', 'mysql-b');
  const placed = await deploy();
  t.equal(placed.code, 0, failureText(placed));
  await mysqlB.sql("INSERT INTO staff VALUES ('Barbara');", 'staffdb');
  await withNotes('test1', 'mysql-a');
  const moved = await deploy('--deploy-state');
  t.equal(moved.code, 0, failureText(moved));
  t.same(await staffIn(mysqlA), ['Barbara'], 'the row of mysql-b came along');
  t.same(moved.events.filter((e) => e.event === 'state' && e.action === 'snapshot').map((e) => e.service), ['staffdb'], 'only the stateful service was snapshotted');
  await writeFile(services, JSON.stringify({ staffdb: { pkg: './staffdb', type: 'mysql-database' } }));
  await placeAt('test2', 'mysql-b');
  const plain = await deploy();
  t.equal(plain.code, 0, failureText(plain));
  t.notOk(plain.events.some((e) => e.event === 'state'), 'without deployState or --deploy-state nothing moves');
});

t.test('to and from a target in process (this machine, its own state folder)', async (t) => {
  await writeFile(services, JSON.stringify({ staffdb: { pkg: './staffdb', type: 'mysql-database', deployState: true } }));
  await mysqlB.sql("DELETE FROM staff; INSERT INTO staff VALUES ('Katherine');", 'staffdb');
  await placeAt('here', 'mysql-c');
  const moved = await deploy();
  t.equal(moved.code, 0, failureText(moved));
  t.same(await staffIn(mysqlA), ['Katherine'], 'the row came from test2 into the container here');
  t.equal((await snapshotsOf(stateHere, 'mysql-c')).length, 1, 'the snapshot is in the local target\'s own state folder');
  const taken = await onMachines('snapshot');
  t.equal(taken.code, 0, failureText(taken));
  t.equal((await snapshotsOf(path.join(env.DYSNOMIA_STATEDIR, 'target-snapshots/here'), 'mysql-c')).length, 1, 'and a copy in this machine\'s copy of its snapshots');
});

t.test('a deploy killed in the middle of a move is finished by running it again, the state moved', async (t) => {
  const killedAt = async (step: string) => {
    const result = await dysnomia(['deploy', '-s', services, '-i', infrastructure, '-d', distribution, '--json'], { env: { ...env, DYSNOMIA_TEST_FAULT: `kill:${step}` } });
    t.not(result.code, 0, `the deploy was killed ${step}`);
  };
  await mysqlA.sql("INSERT INTO staff VALUES ('Rosalind');", 'staffdb');
  await placeAt('test2', 'mysql-b');
  await killedAt('after-activate');
  const rerun = await deploy();
  t.equal(rerun.code, 0, failureText(rerun));
  t.ok(rerun.events.some((e) => e.event === 'state' && e.action === 'restore' && e.target === 'test2'), 'the re-run moved the state');
  t.same(await staffIn(mysqlB), ['Katherine', 'Rosalind'], 'mysql-b has the rows of the container here');

  await mysqlB.sql("INSERT INTO staff VALUES ('Ida');", 'staffdb');
  await placeAt('here', 'mysql-c');
  await killedAt('after-migrate');
  const again = await deploy();
  t.equal(again.code, 0, failureText(again));
  t.same(await staffIn(mysqlA), ['Ida', 'Katherine', 'Rosalind'], 'the container here has the rows of mysql-b');
  const settled = await deploy();
  t.equal(settled.code, 0, failureText(settled));
  const transition = settled.events.find((e) => e.event === 'transition');
  t.same([transition?.activate, transition?.deactivate], [[], []], 'and then nothing is left to do');
});
