import { access, mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { BASH_OWN_VARIABLES, parseEnv, parseNulList, writeExecutable, writeFileIn } from './helpers/fixtures.js';

const OPERATIONS = ['activate', 'deactivate', 'lock', 'unlock', 'snapshot', 'restore', 'collect-garbage'] as const;
const exists = (file: string) => access(file).then(() => true, () => false);

/**
 * A wrapper in the style of Dysnomia's examples: it records each call
 * (arguments, environment, working folder) under $recordDir, keeps its own
 * state in $dataDir (activate/deactivate are idempotent), refuses the lock
 * when $refuseLock is "yes", and fails an operation named by $failOn.
 */
const WRAPPER = `#!/bin/bash
set -e
mkdir -p "$recordDir"
printf '%s\\0' "$@" > "$recordDir/$1.args"
env -0 > "$recordDir/$1.env"
echo "$1" >> "$recordDir/calls"
if [ "$1" = "$failOn" ]; then echo "wrapper: $1 went wrong" >&2; exit 4; fi
case "$1" in
  activate)
    mkdir -p "$dataDir"
    [ -e "$dataDir/active" ] || echo "activated by $2" > "$dataDir/active"
    ;;
  deactivate)
    rm -f "$dataDir/active"
    ;;
  lock)
    if [ "$refuseLock" = yes ]; then echo "wrapper: busy, a transaction is running" >&2; exit 1; fi
    touch "$dataDir/locked"
    ;;
  unlock)
    rm -f "$dataDir/locked"
    ;;
esac
echo "wrapper: $1 done"
`;

async function setup(t: { teardown(fn: () => unknown): void }, extra = '') {
  const dir = await tempDir(t, 'dysnomia-wrapper-');
  const recordDir = path.join(dir, 'record');
  const dataDir = path.join(dir, 'data');
  const container = path.join(dir, 'containers/app-server');
  await writeFileIn(container, `type=wrapper\nrecordDir=${recordDir}\ndataDir=${dataDir}\nlisten='127.0.0.1 8080'\n${extra}`);
  const component = path.join(dir, 'webapp');
  await writeExecutable(path.join(component, 'bin/wrapper'), WRAPPER);
  const state = path.join(dir, 'state');
  const run = (operation: string, options: { component?: string; container?: string } = {}) =>
    dysnomia(['--operation', operation, '--component', options.component ?? component, '--container', options.container ?? container], {
      env: { DYSNOMIA_STATEDIR: state },
      cwd: dir,
    });
  return { dir, recordDir, dataDir, container, component, state, run };
}

t.test('bin/wrapper OP CONTAINER runs for every operation with the container properties as its environment', async (t) => {
  const { recordDir, dataDir, component, state, run } = await setup(t);
  for (const operation of OPERATIONS) {
    const result = await run(operation);
    t.equal(result.code, 0, `${operation}: ${result.stderr}`);
    t.equal(result.stdout, `wrapper: ${operation} done\n`, `${operation}: the wrapper's output reaches the user`);
    t.same(parseNulList(await readFile(path.join(recordDir, `${operation}.args`), 'utf8')), [operation, 'app-server'], `${operation}: bin/wrapper ${operation} app-server`);
    const env = parseEnv(await readFile(path.join(recordDir, `${operation}.env`), 'utf8'));
    t.equal(env.PWD, component, `${operation}: it runs in the component`);
    for (const own of BASH_OWN_VARIABLES) delete env[own];
    t.same(
      env,
      { recordDir, dataDir, listen: '127.0.0.1 8080', PATH: process.env.PATH, HOME: process.env.HOME, DYSNOMIA_STATEDIR: state },
      `${operation}: exactly the container's properties (type left out), PATH, HOME and DYSNOMIA_STATEDIR`,
    );
  }
  t.same((await readFile(path.join(recordDir, 'calls'), 'utf8')).trim().split('\n'), [...OPERATIONS], 'each operation called the wrapper once');
});

t.test('activate twice and deactivate twice succeed and leave the right state', async (t) => {
  const { recordDir, dataDir, state, run } = await setup(t);
  for (const round of [1, 2]) {
    const result = await run('activate');
    t.equal(result.code, 0, `activate ${round}: ${result.stderr}`);
    t.equal(await readFile(path.join(dataDir, 'active'), 'utf8'), 'activated by app-server\n', `after activate ${round}: the wrapper's state says active`);
    t.ok(await exists(path.join(state, 'activated/app-server/webapp')), `after activate ${round}: the engine's activated marker is there`);
  }
  for (const round of [1, 2]) {
    const result = await run('deactivate');
    t.equal(result.code, 0, `deactivate ${round}: ${result.stderr}`);
    t.notOk(await exists(path.join(dataDir, 'active')), `after deactivate ${round}: the wrapper's state is gone`);
    t.same(await readdir(path.join(state, 'activated/app-server')), [], `after deactivate ${round}: no activated marker`);
  }
  t.notOk(await exists(path.join(state, 'garbage')), 'wrapper is not stateful: no garbage markers');
  t.same((await readFile(path.join(recordDir, 'calls'), 'utf8')).trim().split('\n'), ['activate', 'activate', 'deactivate', 'deactivate'], 'the wrapper is asked every time: it decides what is idempotent');
});

t.test('a wrapper that refuses the lock makes the lock fail with status 1', async (t) => {
  const { dataDir, run } = await setup(t, 'refuseLock=yes\n');
  await mkdir(dataDir, { recursive: true });
  const result = await run('lock');
  t.equal(result.code, 1);
  t.match(result.stderr, 'dysnomia: error: plugin "@dysnomia/plugin-wrapper" failed in lock: webapp refused the lock (its bin/wrapper lock failed)');
  t.match(result.stderr, 'exited with status 1');
  t.match(result.stderr, 'wrapper: busy, a transaction is running', "the wrapper's own reason reaches the user");
  t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
  t.notOk(await exists(path.join(dataDir, 'locked')));

  const { dataDir: acceptingData, run: runAccepting } = await setup(t);
  await mkdir(acceptingData, { recursive: true });
  t.equal((await runAccepting('lock')).code, 0, 'a wrapper that accepts the lock: status 0');
  t.ok(await exists(path.join(acceptingData, 'locked')));
  t.equal((await runAccepting('unlock')).code, 0);
  t.notOk(await exists(path.join(acceptingData, 'locked')));
});

t.test('a wrapper failing another operation fails it with status 1, naming plugin and operation', async (t) => {
  const { run } = await setup(t, 'failOn=snapshot\n');
  const result = await run('snapshot');
  t.equal(result.code, 1);
  t.match(result.stderr, 'dysnomia: error: plugin "@dysnomia/plugin-wrapper" failed in snapshot:');
  t.match(result.stderr, 'bin/wrapper snapshot app-server exited with status 4');
  t.match(result.stderr, 'wrapper: snapshot went wrong');
  t.notMatch(result.stderr, 'refused the lock');
});

t.test('a component without an executable bin/wrapper gives a clear error', async (t) => {
  const { dir, run } = await setup(t);
  const bare = path.join(dir, 'bare');
  await writeFileIn(path.join(bare, 'README'), 'no wrapper here\n');
  const missing = await run('activate', { component: bare });
  t.equal(missing.code, 2, 'bad input: nothing was run');
  t.match(missing.stderr, `dysnomia: error: plugin "@dysnomia/plugin-wrapper" failed in activate: component bare (${bare}) has no executable bin/wrapper: a component of type wrapper must ship one`);

  const notExecutable = path.join(dir, 'plain');
  await writeFileIn(path.join(notExecutable, 'bin/wrapper'), '#!/bin/sh\n');
  const plain = await run('lock', { component: notExecutable });
  t.equal(plain.code, 2);
  t.match(plain.stderr, `component plain (${notExecutable}) has no executable bin/wrapper`);
});

t.test('a wrapper that starts a server in the background: activate returns, the server keeps running', async (t) => {
  const { dir, component, run } = await setup(t);
  const pidFile = path.join(dir, 'server.pid');
  // The server inherits the wrapper's stdout and stderr, as `mysqld_safe &` would.
  await writeExecutable(
    path.join(component, 'bin/wrapper'),
    `#!/bin/bash\ncase "$1" in\n  activate) sleep 1000 & echo $! > ${pidFile} ;;\n  deactivate) kill "$(cat ${pidFile})"; rm ${pidFile} ;;\nesac\n`,
  );
  const started = Date.now();
  const result = await run('activate');
  t.equal(result.code, 0, result.stderr);
  t.ok(Date.now() - started < 10_000, 'activate did not wait for the server');
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // stopped by the test
    }
  });
  t.ok(await exists(`/proc/${pid}`), 'the server still runs after dysnomia exited');
  t.equal((await run('deactivate')).code, 0);
  t.notOk(await exists(pidFile));
});
