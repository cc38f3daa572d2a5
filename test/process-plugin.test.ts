import { spawn } from 'node:child_process';
import { access, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { parseEnv, writeExecutable, writeFileIn } from './helpers/fixtures.js';

/** What the helpers need from a tap test. */
interface Test {
  teardown(fn: () => unknown): void;
}

/** A live process (not a zombie waiting to be reaped): what "running" means in /proc. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Live processes whose process group is `pgid`. */
async function groupMembers(pgid: number): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const members: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = await readFile(`/proc/${entry}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && !/^[ZX]/.test(fields[0] ?? '')) members.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

async function waitFor(condition: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

const readPid = async (file: string) => Number((await readFile(file, 'utf8')).trim());
const exists = (file: string) => access(file).then(() => true, () => false);

/** Kills, when the test ends, every process group a test's programs may have left behind. */
function cleanUpGroups(t: Test, groups: Set<number>): void {
  t.teardown(() => {
    for (const group of groups) {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** A scratch setup: a state folder, a container file `box` of type process, components under `dir`. */
async function setup(t: Test, properties: Record<string, string> = {}) {
  const dir = await tempDir(t, 'dysnomia-process-');
  const state = path.join(dir, 'state');
  const container = path.join(dir, 'box');
  const lines = Object.entries({ type: 'process', processStartCheck: '0.3', ...properties }).map(([key, value]) => `${key}='${value}'`);
  await writeFileIn(container, `${lines.join('\n')}\n`);
  const groups = new Set<number>();
  cleanUpGroups(t, groups);
  const run = (operation: string, component: string) => dysnomia(['--operation', operation, '--component', component, '--container', container], { env: { DYSNOMIA_STATEDIR: state }, cwd: dir });
  const files = (component: string) => {
    const base = path.join(state, 'processes/box', path.basename(component));
    return { pidFile: `${base}.pid`, logFile: `${base}.log`, recordFile: `${base}.json` };
  };
  return { dir, state, container, groups, run, files };
}

/** A program that stays in the foreground: records its environment, starts a child, waits. */
const FOREGROUND_SERVER = `#!/bin/bash
env -0 > "$recordTo"
echo "server up, greeting: $greeting"
echo "a warning on stderr" >&2
sleep 1000 &
wait
`;

t.test('a foreground program: the plugin daemonizes it, keeps its pid file and log, stops it and its children', async (t) => {
  const { dir, state, container, groups, run, files } = await setup(t);
  await writeFileIn(container, `type=process\nprocessStartCheck=0.3\ngreeting='hello  there'\nrecordTo=${dir}/env.record\n`);
  const component = path.join(dir, 'server');
  await writeExecutable(path.join(component, 'bin/server'), FOREGROUND_SERVER);
  const { pidFile, logFile, recordFile } = files(component);

  const first = await run('activate', component);
  t.equal(first.code, 0, first.stderr);
  const pid = await readPid(pidFile);
  groups.add(pid);
  t.ok(await isRunning(pid), `the program runs (pid ${pid}, /proc/${pid})`);
  t.equal(await readFile(`/proc/${pid}/cmdline`, 'utf8'), `/bin/bash\0${component}/bin/server\0`, 'the pid file names the program itself');
  const statFields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  t.equal(Number(statFields[2]), pid, 'it leads its own process group');
  t.equal(Number(statFields[3]), pid, 'and its own session');
  t.equal(await readlink(`/proc/${pid}/fd/0`), '/dev/null', 'stdin is /dev/null');
  t.equal(await readlink(`/proc/${pid}/fd/1`), logFile, 'stdout goes to the log');
  t.equal(await readlink(`/proc/${pid}/fd/2`), logFile, 'stderr goes to the log');
  t.ok(await waitFor(async () => (await groupMembers(pid)).length === 2), 'its child (sleep) runs in its group');
  t.ok(await waitFor(async () => /greeting: hello {2}there/.test(await readFile(logFile, 'utf8'))), 'its output is in the log');
  t.match(await readFile(logFile, 'utf8'), 'a warning on stderr');
  t.equal((await stat(logFile)).mode & 0o777, 0o600, 'the log is private to its owner');
  t.ok(await exists(path.join(state, 'activated/box/server')), 'the engine marked it activated');

  const programEnv = parseEnv(await readFile(path.join(dir, 'env.record'), 'utf8'));
  for (const own of ['PWD', 'SHLVL', '_']) delete programEnv[own];
  t.same(
    programEnv,
    { greeting: 'hello  there', recordTo: `${dir}/env.record`, processStartCheck: '0.3', PATH: process.env.PATH, HOME: process.env.HOME, DYSNOMIA_STATEDIR: state },
    'the container properties are its environment, as executable modules get them',
  );

  const second = await run('activate', component);
  t.equal(second.code, 0, second.stderr);
  t.match(second.stderr, `already running (pid ${pid})`);
  t.equal(await readPid(pidFile), pid, 'activate again starts nothing new');
  t.same(await groupMembers(pid).then((m) => m.length), 2);

  const captured = await run('capture', component);
  t.equal(captured.code, 0, captured.stderr);
  t.same(JSON.parse(captured.stdout), {
    component: 'server',
    container: 'box',
    program: `${component}/bin/server`,
    pidFile,
    logFile,
    pid,
    alive: true,
  }, 'capture reports the pid and that it is alive');

  const stopped = await run('deactivate', component);
  t.equal(stopped.code, 0, stopped.stderr);
  t.notOk(await isRunning(pid), 'the program is gone when deactivate returns');
  t.same(await groupMembers(pid), [], 'and so are its children');
  t.notOk(await exists(pidFile), 'its pid file is removed');
  t.notOk(await exists(recordFile));
  t.ok(await exists(logFile), 'its log is kept');
  t.notOk(await exists(path.join(state, 'activated/box/server')), 'the activated marker is gone');

  const again = await run('deactivate', component);
  t.equal(again.code, 0, again.stderr);

  const after = await run('capture', component);
  t.match(JSON.parse(after.stdout), { pid: null, alive: false }, 'capture after deactivate: nothing runs');

  const restarted = await run('activate', component);
  t.equal(restarted.code, 0, restarted.stderr);
  const newPid = await readPid(pidFile);
  groups.add(newPid);
  t.not(newPid, pid, 'activate after deactivate starts it again');
  t.ok(await isRunning(newPid));
  t.equal((await readFile(logFile, 'utf8')).match(/server up/g)?.length, 2, 'the log is appended to, not truncated');
  t.equal((await run('deactivate', component)).code, 0);
  t.notOk(await isRunning(newPid));
});

t.test('a program that daemonizes itself (pidFile= in etc/dysnomia/process)', async (t) => {
  const { dir, groups, run, files } = await setup(t);
  const component = path.join(dir, 'loop');
  const daemonPidFile = path.join(dir, 'run/loop.pid');
  // The launcher forks a daemon into its own session, which writes the pid file; the launcher exits at once.
  await writeExecutable(
    path.join(component, 'libexec/start-loop'),
    `#!/bin/bash
mkdir -p "${path.dirname(daemonPidFile)}"
echo "launching the loop daemon"
setsid bash -c 'echo $$ > "$1"; exec sleep 1000' loop-daemon "${daemonPidFile}" < /dev/null > /dev/null 2>&1 &
`,
  );
  await writeFileIn(path.join(component, 'etc/dysnomia/process/loop'), `process=${component}/libexec/start-loop\npidFile=${daemonPidFile}\n`);
  await writeExecutable(path.join(component, 'bin/not-this-one'), '#!/bin/sh\nexit 1\n');

  const first = await run('activate', component);
  t.equal(first.code, 0, first.stderr);
  const pid = await readPid(daemonPidFile);
  groups.add(pid);
  t.ok(await isRunning(pid), `the daemon runs (pid ${pid})`);
  t.equal(await readFile(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\x001000\x00');
  t.notOk(await exists(files(component).pidFile), 'the plugin writes no pid file of its own for a self-daemonizing program');
  t.match(await readFile(files(component).logFile, 'utf8'), 'launching the loop daemon', "the launcher's output is in the log");

  const second = await run('activate', component);
  t.equal(second.code, 0, second.stderr);
  t.equal(await readPid(daemonPidFile), pid, 'activate again starts no second daemon');

  const captured = await run('capture', component);
  t.match(JSON.parse(captured.stdout), { pid, alive: true, pidFile: daemonPidFile, program: `${component}/libexec/start-loop` });

  const stopped = await run('deactivate', component);
  t.equal(stopped.code, 0, stopped.stderr);
  t.notOk(await isRunning(pid), 'the daemon is gone');
  t.notOk(await exists(daemonPidFile), 'its stale pid file is removed');
  t.equal((await run('deactivate', component)).code, 0, 'deactivate again succeeds');
});

t.test('a program that ignores SIGTERM is killed after processStopTimeout', async (t) => {
  const { dir, groups, run, files } = await setup(t, { processStopTimeout: '1' });
  const component = path.join(dir, 'stubborn');
  await writeExecutable(path.join(component, 'bin/stubborn'), "#!/bin/bash\ntrap 'echo got TERM, staying' TERM\nwhile :; do sleep 0.2; done\n");
  t.equal((await run('activate', component)).code, 0);
  const pid = await readPid(files(component).pidFile);
  groups.add(pid);
  t.ok(await isRunning(pid));

  const started = Date.now();
  const stopped = await run('deactivate', component);
  const took = Date.now() - started;
  t.equal(stopped.code, 0, stopped.stderr);
  t.match(stopped.stderr, 'ignored SIGTERM for 1s (processStopTimeout); killed it');
  t.ok(took >= 1000, `it was given the timeout first (${took} ms)`);
  t.ok(took < 8000, `then killed without waiting for the default (${took} ms)`);
  t.notOk(await isRunning(pid), 'it is gone');
  t.same(await groupMembers(pid), []);
  t.match(await readFile(files(component).logFile, 'utf8'), 'got TERM, staying', 'it did get SIGTERM first');
});

t.test('stale pid files: a dead pid or another program is not "running"', async (t) => {
  const { dir, groups, run, files } = await setup(t);
  const component = path.join(dir, 'worker');
  await writeExecutable(path.join(component, 'bin/worker'), '#!/bin/bash\nexec sleep 1000\n');
  const { pidFile, recordFile } = files(component);

  // Someone else's process, which the plugin must never stop.
  const bystander = spawn('sleep', ['1000'], { stdio: 'ignore' });
  t.teardown(() => bystander.kill('SIGKILL'));
  const bystanderPid = bystander.pid as number;

  t.test('a pid file naming another program', async (t) => {
    await writeFileIn(pidFile, `${bystanderPid}\n`);
    const deactivated = await run('deactivate', component);
    t.equal(deactivated.code, 0, deactivated.stderr);
    t.ok(await isRunning(bystanderPid), 'deactivate leaves the other program alone');
    t.notOk(await exists(pidFile), 'and drops the stale pid file');

    await writeFileIn(pidFile, `${bystanderPid}\n`);
    const activated = await run('activate', component);
    t.equal(activated.code, 0, activated.stderr);
    t.match(activated.stderr, `ignoring stale pid file ${pidFile} (process ${bystanderPid} is not`);
    const pid = await readPid(pidFile);
    groups.add(pid);
    t.not(pid, bystanderPid, 'activate started the program');
    t.ok(await isRunning(pid));
    t.equal((await run('deactivate', component)).code, 0);
    t.notOk(await isRunning(pid));
    t.ok(await isRunning(bystanderPid), 'the other program still runs');
  });

  t.test('a pid file naming a process that has exited', async (t) => {
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    await writeFileIn(pidFile, `${gone.pid}\n`);
    const activated = await run('activate', component);
    t.equal(activated.code, 0, activated.stderr);
    const pid = await readPid(pidFile);
    groups.add(pid);
    t.not(pid, gone.pid);
    t.ok(await isRunning(pid));
    t.equal((await run('deactivate', component)).code, 0);
  });

  t.test('the program died and its pid now belongs to another program (the record does not match)', async (t) => {
    t.equal((await run('activate', component)).code, 0);
    const pid = await readPid(pidFile);
    groups.add(pid);
    process.kill(-pid, 'SIGKILL');
    t.ok(await waitFor(async () => !(await isRunning(pid))));
    await writeFile(pidFile, `${bystanderPid}\n`);
    const record = JSON.parse(await readFile(recordFile, 'utf8')) as { pid: number };
    await writeFile(recordFile, JSON.stringify({ ...record, pid: bystanderPid }));
    const captured = await run('capture', component);
    t.match(JSON.parse(captured.stdout), { pid: bystanderPid, alive: false }, 'capture: that pid is not our program');
    const activated = await run('activate', component);
    t.equal(activated.code, 0, activated.stderr);
    const restarted = await readPid(pidFile);
    groups.add(restarted);
    t.not(restarted, bystanderPid);
    t.ok(await isRunning(restarted), 'a crashed program is started again by activate');
    t.equal((await run('deactivate', component)).code, 0);
    t.ok(await isRunning(bystanderPid), 'the other program still runs');
  });
});

t.test('a program that fails at start makes activate fail with its log', async (t) => {
  const { dir, run, files } = await setup(t);

  t.test('a foreground program that exits at once', async (t) => {
    const component = path.join(dir, 'broken');
    await writeExecutable(path.join(component, 'bin/broken'), '#!/bin/bash\necho "reading /etc/broken.conf"\necho "fatal: no such file: /etc/broken.conf" >&2\nexit 3\n');
    const result = await run('activate', component);
    t.equal(result.code, 1);
    t.match(result.stderr, 'dysnomia: error: plugin "@dysnomia/plugin-process" failed in activate:');
    t.match(result.stderr, `${component}/bin/broken exited with status 3 right after it was started`);
    t.match(result.stderr, 'fatal: no such file: /etc/broken.conf', 'the log tail is in the message');
    t.match(result.stderr, 'reading /etc/broken.conf');
    t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
    t.notOk(await exists(files(component).pidFile), 'no pid file is left behind');
    const captured = await run('capture', component);
    t.match(JSON.parse(captured.stdout), { pid: null, alive: false });
  });

  t.test('a program that exits with status 0 at once is not running either', async (t) => {
    const component = path.join(dir, 'oneshot');
    await writeExecutable(path.join(component, 'bin/oneshot'), '#!/bin/sh\necho done\n');
    const result = await run('activate', component);
    t.equal(result.code, 1);
    t.match(result.stderr, 'exited with status 0 right after it was started');
  });

  t.test('a self-daemonizing launcher that fails', async (t) => {
    const component = path.join(dir, 'badlaunch');
    await writeExecutable(path.join(component, 'bin/launch'), '#!/bin/sh\necho "port 80: permission denied" >&2\nexit 1\n');
    await writeFileIn(path.join(component, 'etc/dysnomia/process/badlaunch'), `process=bin/launch\npidFile=${dir}/badlaunch.pid\n`);
    const result = await run('activate', component);
    t.equal(result.code, 1);
    t.match(result.stderr, `${component}/bin/launch exited with status 1`);
    t.match(result.stderr, 'port 80: permission denied');
  });

  t.test('a daemon that dies right after writing its pid file', async (t) => {
    const component = path.join(dir, 'shortlived');
    const daemonPid = `${dir}/shortlived.pid`;
    await writeExecutable(
      path.join(component, 'bin/launch'),
      `#!/bin/bash\nsetsid bash -c 'echo $$ > "$1"; echo "daemon: out of memory" >&2; sleep 0.1; exit 7' d "${daemonPid}" &\n`,
    );
    await writeFileIn(path.join(component, 'etc/dysnomia/process/shortlived'), `process=${component}/bin/launch\npidFile=${daemonPid}\n`);
    const result = await run('activate', component);
    t.equal(result.code, 1);
    t.match(result.stderr, 'stopped right after it was started');
    t.match(result.stderr, 'daemon: out of memory');
    t.notOk(await exists(daemonPid));
  });

  t.test('a program with pidFile= that stays in the foreground is stopped and reported', async (t) => {
    const { dir: dir3, run: run3 } = await setup(t, { processStartTimeout: '0.5' });
    const component = path.join(dir3, 'hangs');
    await writeExecutable(path.join(component, 'bin/launch'), '#!/bin/bash\necho "hanging around"\necho $$ > "$0.launcher"\nexec sleep 1000\n');
    await writeFileIn(path.join(component, 'etc/dysnomia/process/hangs'), `process=bin/launch\npidFile=${dir3}/hangs.pid\n`);
    const result = await run3('activate', component);
    t.equal(result.code, 1);
    t.match(result.stderr, 'did not exit within 0.5s (processStartTimeout); a program with pidFile= must start its daemon in the background and exit');
    t.match(result.stderr, 'hanging around');
    const launcher = Number((await readFile(path.join(component, 'bin/launch.launcher'), 'utf8')).trim());
    t.ok(await waitFor(async () => !(await isRunning(launcher))), 'the launcher was killed');
  });

  t.test('a self-daemonizing program that never writes its pid file', async (t) => {
    const { dir: dir2, run: run2 } = await setup(t, { processStartTimeout: '0.5' });
    const component = path.join(dir2, 'nopid');
    await writeExecutable(path.join(component, 'bin/launch'), '#!/bin/sh\necho started\n');
    await writeFileIn(path.join(component, 'etc/dysnomia/process/nopid'), `process=bin/launch\npidFile=${dir2}/nopid.pid\n`);
    const result = await run2('activate', component);
    t.equal(result.code, 1);
    t.match(result.stderr, `no pid file was written (${dir2}/nopid.pid)`);
  });
});

t.test('bad components and container properties are input errors (exit 2) that say what is wrong', async (t) => {
  const { dir, container, run } = await setup(t);

  const two = path.join(dir, 'two');
  await writeExecutable(path.join(two, 'bin/a'), '#!/bin/sh\n');
  await writeExecutable(path.join(two, 'bin/b'), '#!/bin/sh\n');
  const twoResult = await run('activate', two);
  t.equal(twoResult.code, 2);
  t.match(twoResult.stderr, `component ${two}: bin/ holds 2 files (a, b); name the one to start with process= in etc/dysnomia/process/<name>`);

  const none = path.join(dir, 'none');
  await writeFileIn(path.join(none, 'README'), 'nothing to run\n');
  const noneResult = await run('activate', none);
  t.equal(noneResult.code, 2);
  t.match(noneResult.stderr, 'nothing to start');

  const notExecutable = path.join(dir, 'plain');
  await writeFileIn(path.join(notExecutable, 'bin/plain'), '#!/bin/sh\n');
  const plainResult = await run('activate', notExecutable);
  t.equal(plainResult.code, 2);
  t.match(plainResult.stderr, `${notExecutable}/bin/plain is not executable`);

  const missing = path.join(dir, 'missing');
  await writeFileIn(path.join(missing, 'etc/dysnomia/process/missing'), 'pidFile=/tmp/x.pid\n');
  const missingResult = await run('activate', missing);
  t.equal(missingResult.code, 2);
  t.match(missingResult.stderr, `${missing}/etc/dysnomia/process/missing: no process= line`);

  await writeFileIn(container, "type=process\nprocessStopTimeout='ten seconds'\n");
  const badTimeout = await run('activate', notExecutable);
  t.equal(badTimeout.code, 2);
  t.match(badTimeout.stderr, `${container}: processStopTimeout must be a number of seconds, got "ten seconds"`);
});
