// Team state on PostgreSQL: two coordinators (two state folders, one
// database, a private PostgreSQL the test starts) deploy the same profile to
// one target. The second is refused while the first holds the lock, then finds
// the first's record and has nothing to do; a first coordinator killed with
// SIGKILL while it holds the lock does not hold up the second. File records
// migrate over; the password never shows.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { failureText, parseEvents, writeProgram } from './helpers/deploy-fixtures.js';
import { startPostgres } from './helpers/postgres.js';

const pg = await startPostgres(t);
const root = await tempDir(t, 'dysnomia-state-pg-');
const models = path.join(root, 'models');
const targetState = path.join(root, 'target-state');
const marks = path.join(root, 'marks');
// While this file exists, an activation waits (after saying it started): a deploy that holds its locks.
const hold = path.join(root, 'hold');
const started = path.join(root, 'started');
await mkdir(marks);
for (const name of ['db', 'web', 'web2']) {
  await writeProgram(
    path.join(models, name, 'bin/wrapper'),
    `#!/bin/sh\n# ${name}\ncase "$1" in\n  activate)\n    if [ -e ${hold} ]; then touch ${started}; while [ -e ${hold} ]; do sleep 0.05; done; fi\n    touch ${marks}/${name} ;;\n  deactivate) rm -f ${marks}/${name} ;;\nesac\n`,
  );
}
await writeFile(path.join(models, 'infrastructure.json'), JSON.stringify({ here: { properties: { hostname: 'localhost', stateDir: targetState }, clientInterface: 'local' } }));
await writeFile(path.join(models, 'distribution.json'), JSON.stringify({ db: ['here'], web: ['here'] }));
const useWeb = (web: string) => writeFile(path.join(models, 'services.json'), JSON.stringify({ db: { pkg: './db', type: 'wrapper' }, web: { pkg: `./${web}`, type: 'wrapper', dependsOn: { db: 'db' } } }));
t.teardown(() => rm(hold, { force: true }));

/** A coordinator: its own folder, config and state folder; the shared database. */
async function coordinator(name: string, state: Record<string, unknown> = { backend: 'postgres', url: pg.url }) {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'dysnomia.config.json'), JSON.stringify({ stateDir: 'state', state }));
  const env = { PGPASSFILE: pg.passFile };
  return {
    dir,
    run: (args: string[], extraEnv: Record<string, string> = {}) => dysnomia(args, { cwd: dir, env: { ...env, ...extraEnv } }),
    deploy: (extra: string[] = [], extraEnv: Record<string, string> = {}) =>
      dysnomia(['deploy', '-s', path.join(models, 'services.json'), '-i', path.join(models, 'infrastructure.json'), '-d', path.join(models, 'distribution.json'), '--json', ...extra], {
        cwd: dir,
        env: { ...env, ...extraEnv },
      }),
  };
}

const noSecret = (t: Test, result: CliResult) => t.notOk(`${result.stdout}${result.stderr}`.includes(pg.password), 'the password shows nowhere');
type LockRow = { pid: number; user: string; host: string; since: string };
const lockHolder = (): LockRow | undefined => {
  const text = pg.psql("SELECT holder FROM dysnomia_lock_holders WHERE profile = 'default'");
  return text === '' ? undefined : (JSON.parse(text) as LockRow);
};
/** Waits until `check` holds while the deploy `running` goes on; a deploy that ends first fails with its output. */
async function waitFor(what: string, running: Promise<CliResult>, check: () => boolean): Promise<void> {
  let ended: CliResult | undefined;
  void running.then((result) => (ended = result));
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (ended) throw new Error(`the deploy ended (exit status ${ended.code}) before ${what}:\n${failureText(ended)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const tableExists = () => pg.psql("SELECT to_regclass('dysnomia_lock_holders') IS NOT NULL") === 't';
const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const alice = await coordinator('alice');
const bob = await coordinator('bob');

t.test('the second coordinator is refused while the first deploys, then computes its transition from the first one\'s record', async (t) => {
  await useWeb('web');
  await writeFile(hold, '');
  const first = alice.deploy();
  await waitFor('alice to hold the lock and activate', first, () => existsSync(started) && tableExists() && lockHolder() !== undefined);
  const holder = lockHolder()!;
  t.ok(processAlive(holder.pid), 'the lock names a live coordinator');

  const refused = await bob.deploy();
  t.equal(refused.code, 1, 'refused');
  t.match(refused.stderr, `profile "default" is locked in the PostgreSQL state at ${pg.user}@127.0.0.1:${pg.port}/${pg.database} by ${holder.user}@${holder.host} (pid ${holder.pid}) since ${holder.since}`);
  noSecret(t, refused);
  t.same(await readdir(marks), [], 'the refused coordinator changed nothing');

  await rm(hold);
  const done = await first;
  t.equal(done.code, 0, failureText(done));
  noSecret(t, done);
  t.same((await readdir(marks)).sort(), ['db', 'web']);
  t.equal(pg.psql("SELECT count(*) FROM dysnomia_deployments WHERE profile = 'default'"), '1', 'one generation recorded in PostgreSQL');
  t.equal(pg.psql("SELECT generation FROM dysnomia_current WHERE profile = 'default'"), '1');
  t.equal(lockHolder(), undefined, 'the lock is released');
  t.notOk(existsSync(path.join(alice.dir, 'state/deployments/default')), 'nothing recorded in the state folder');
  const recorded = parseEvents(done.stdout).find((e) => e.event === 'manifest');
  t.equal(recorded?.file, `postgres://${pg.user}@127.0.0.1:${pg.port}/${pg.database}#default/1`);

  const after = await bob.deploy();
  t.equal(after.code, 0, failureText(after));
  const events = parseEvents(after.stdout);
  t.match(events.find((e) => e.event === 'transition'), { from: 1, activate: [], deactivate: [], unchanged: 2 }, 'planned from alice\'s record');
  t.same(events.filter((e) => e.event === 'step' || e.event === 'locked' || e.event === 'manifest'), [], 'a no-op: nothing locked, run or recorded');

  const listed = await bob.run(['state', '--json']);
  t.equal(listed.code, 0, listed.stderr);
  t.same(JSON.parse(listed.stdout), { backend: 'postgres', where: `${pg.user}@127.0.0.1:${pg.port}/${pg.database}`, profiles: ['default'] });

  // Bob's store has the components (built for the no-op), his state folder no records: PostgreSQL's are the roots.
  const gc = await bob.run(['store', '--gc', '--dry-run', '--json']);
  t.equal(gc.code, 0, gc.stderr);
  t.same(JSON.parse(gc.stdout).removed, [], 'the records in PostgreSQL keep their components in this machine\'s store');
});

t.test('a coordinator killed with SIGKILL while it holds the lock does not hold up the next one', async (t) => {
  await rm(started, { force: true });
  await useWeb('web2');
  await writeFile(hold, '');
  const first = alice.deploy();
  await waitFor('alice to hold the lock and activate web2', first, () => existsSync(started) && lockHolder() !== undefined);
  const holder = lockHolder()!;
  process.kill(holder.pid, 'SIGKILL');
  const killed = await first;
  t.not(killed.code, 0, 'the first coordinator is gone');
  await rm(hold);

  const next = await bob.deploy();
  t.equal(next.code, 0, failureText(next));
  const events = parseEvents(next.stdout);
  t.notOk(events.some((e) => e.event === 'failed'), 'not refused');
  t.ok(events.some((e) => e.event === 'lock-broken' && e.target === 'here'), 'the dead coordinator\'s lock on the target is broken and said');
  t.same((await readdir(marks)).sort(), ['db', 'web2'], 'the deployment converged');
  t.equal(pg.psql("SELECT generation FROM dysnomia_current WHERE profile = 'default'"), '2');
  noSecret(t, next);
});

t.test('dysnomia state migrate moves file records over; the next deploy plans from them', async (t) => {
  const carol = await coordinator('carol', { backend: 'file' });
  const files = await carol.deploy(['--profile', 'carols']);
  t.equal(files.code, 0, failureText(files));
  t.ok(existsSync(path.join(carol.dir, 'state/deployments/carols/1.json')), 'recorded as a file first');

  const migrated = await carol.run(['state', 'migrate', '--to', 'postgres', '--url', pg.url, '--json']);
  t.equal(migrated.code, 0, migrated.stderr);
  t.same(JSON.parse(migrated.stdout), { to: `${pg.user}@127.0.0.1:${pg.port}/${pg.database}`, profiles: [{ profile: 'carols', copied: [1], current: 1 }] });
  noSecret(t, migrated);
  const again = await carol.run(['state', 'migrate', '--to', 'postgres', '--url', pg.url]);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, 'profile carols: already in');

  const conflicting = await alice.run(['state', 'migrate', '--to', 'postgres', '--url', pg.url, '-p', 'carols']);
  t.equal(conflicting.code, 0, 'alice has no file records of that profile: nothing to do');
  t.match(conflicting.stdout, 'profile carols: no deployment records');

  await writeFile(path.join(carol.dir, 'dysnomia.config.json'), JSON.stringify({ stateDir: 'state', state: { backend: 'postgres', url: pg.url } }));
  const after = await carol.deploy(['--profile', 'carols']);
  t.equal(after.code, 0, failureText(after));
  t.match(parseEvents(after.stdout).find((e) => e.event === 'transition'), { from: 1, activate: [], deactivate: [] }, 'planned from the migrated record');
});

t.test('bad state settings: a password in the URL, no password anywhere, an unknown backend', async (t) => {
  const leaky = await coordinator('leaky', { backend: 'postgres', url: `postgres://${pg.user}:${pg.password}@127.0.0.1:${pg.port}/${pg.database}` });
  const refused = await leaky.deploy();
  t.equal(refused.code, 2);
  t.match(refused.stderr, '"state.url" holds a password');
  t.match(refused.stderr, path.join(leaky.dir, 'dysnomia.config.json'));
  noSecret(t, refused);
  const onCommandLine = await alice.run(['state', 'migrate', '--to', 'postgres', '--url', `postgres://${pg.user}:${pg.password}@127.0.0.1:${pg.port}/${pg.database}`]);
  t.equal(onCommandLine.code, 2);
  noSecret(t, onCommandLine);

  const noPassword = await alice.deploy([], { PGPASSFILE: path.join(root, 'no-such-pgpass') });
  t.equal(noPassword.code, 1);
  t.match(noPassword.stderr, 'no password for this user: put it in PGPASSFILE, ~/.pgpass or PGPASSWORD');

  const odd = await coordinator('odd', { backend: 'redis' });
  const unknown = await odd.deploy();
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, '"state.backend" must be "file" or "postgres", got "redis"');
});
