import { appendFile, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { logTail } from '../src/log-tail.js';
import { isLive, parseStat, processStatus } from '../src/proc.js';
import { findProgram } from '../src/program.js';
import { DEFAULT_SETTINGS, processSettings } from '../src/settings.js';
import { stateFiles } from '../src/state-files.js';

async function scratch(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plugin-process-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('parseStat reads state, process group and start time, whatever the command name holds', async (t) => {
  // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime …
  const line = '4242 (evil) name (x) S 1 4240 4240 0 -1 4194560 10 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100\n';
  t.same(parseStat(4242, line), { pid: 4242, state: 'S', pgrp: 4240, startTime: '987654' });
  t.equal(parseStat(1, '1 (x) S'), undefined, 'a truncated line is not a status');
  const own = await processStatus(process.pid);
  t.ok(isLive(own), 'this test process is live');
  t.equal(own?.pgrp, Number((await import('node:child_process')).execFileSync('ps', ['-o', 'pgid=', '-p', String(process.pid)]).toString().trim()));
  t.equal(await processStatus(2 ** 22 + 1), undefined, 'a pid above pid_max has no status');
  t.notOk(isLive({ pid: 1, state: 'Z', pgrp: 1, startTime: '1' }), 'a zombie is not live');
});

t.test('processSettings: defaults, seconds with decimals, and a clear error for anything else', async (t) => {
  t.same(processSettings({ name: 'c', argument: 'c', properties: {} }), DEFAULT_SETTINGS);
  t.same(processSettings({ name: 'c', argument: 'c', properties: { processStopTimeout: '2.5', processStartCheck: '0', processStartTimeout: '' } }), {
    ...DEFAULT_SETTINGS,
    stopTimeoutMs: 2500,
    startCheckMs: 0,
  });
  t.throws(() => processSettings({ name: 'c', argument: 'c', file: '/etc/c', properties: { processStopTimeout: '-1' } }), {
    message: '/etc/c: processStopTimeout must be a number of seconds, got "-1"',
    exitCode: 2,
  });
  t.throws(() => processSettings({ name: 'c', argument: 'c', properties: { processStartCheck: ['1', '2'] } }), { message: /container c: processStartCheck/ });
});

t.test('stateFiles: STATEDIR/processes/CONTAINER/COMPONENT.*, and names that would leave it are refused', async (t) => {
  t.same(stateFiles('/s', 'box', 'web'), {
    dir: '/s/processes/box',
    pidFile: '/s/processes/box/web.pid',
    logFile: '/s/processes/box/web.log',
    recordFile: '/s/processes/box/web.json',
  });
  t.throws(() => stateFiles('/s', '..', 'web'), { message: /container name "\.\." cannot be used/ });
  t.throws(() => stateFiles('/s', 'box', 'a/b'), { message: /component name "a\/b" cannot be used/ });
});

t.test('findProgram: the config file wins over bin/; relative paths are the component\'s', async (t) => {
  const dir = await scratch(t);
  const program = async (file: string) => {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, '#!/bin/sh\n');
    await chmod(file, 0o755);
  };
  await program(path.join(dir, 'a/bin/server'));
  t.same(await findProgram(path.join(dir, 'a')), { program: path.join(dir, 'a/bin/server') });

  await program(path.join(dir, 'b/bin/one'));
  await program(path.join(dir, 'b/bin/two'));
  await program(path.join(dir, 'b/libexec/daemon'));
  await mkdir(path.join(dir, 'b/etc/dysnomia/process'), { recursive: true });
  await writeFile(path.join(dir, 'b/etc/dysnomia/process/daemon'), '# a daemon\nprocess=libexec/daemon\npidFile="run/daemon.pid"\n');
  t.same(await findProgram(path.join(dir, 'b')), {
    program: path.join(dir, 'b/libexec/daemon'),
    pidFile: path.join(dir, 'b/run/daemon.pid'),
    configFile: path.join(dir, 'b/etc/dysnomia/process/daemon'),
  });

  await writeFile(path.join(dir, 'b/etc/dysnomia/process/other'), 'process=/bin/true\n');
  await t.rejects(findProgram(path.join(dir, 'b')), { message: /etc\/dysnomia\/process holds 2 files \(daemon, other\)/ });

  await mkdir(path.join(dir, 'c/etc/dysnomia/process'), { recursive: true });
  await writeFile(path.join(dir, 'c/etc/dysnomia/process/c'), 'process=$out/bin/c\n');
  await t.rejects(findProgram(path.join(dir, 'c')), { message: /etc\/dysnomia\/process\/c:1:/, exitCode: 2 }, 'nothing in it is evaluated');

  await writeFile(path.join(dir, 'c/etc/dysnomia/process/c'), 'process=bin/absent\n');
  await t.rejects(findProgram(path.join(dir, 'c')), { message: `${path.join(dir, 'c/bin/absent')} (named in ${path.join(dir, 'c/etc/dysnomia/process/c')}) does not exist` });
});

t.test('logTail: only what this start wrote, at most the last 20 lines', async (t) => {
  const dir = await scratch(t);
  const log = path.join(dir, 'x.log');
  await writeFile(log, 'old run\n');
  const offset = 'old run\n'.length;
  t.equal(await logTail(log, offset), '');
  await appendFile(log, Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n');
  const tail = await logTail(log, offset);
  t.equal(tail.split('\n').length, 20);
  t.equal(tail.split('\n')[0], 'line 11');
  t.notMatch(tail, 'old run');
  t.equal(await logTail(path.join(dir, 'absent.log'), 0), '');
});
