import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { BIN_DIR, dysnomia, tempDir } from './helpers/cli.js';
import { writeExecutable, writeFileIn } from './helpers/fixtures.js';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(50)) {
    const value = await probe();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test('SIGTERM to dysnomia stops the running module and everything it started', async (t) => {
  const dir = await tempDir(t);
  await writeExecutable(
    path.join(dir, 'modules/slow'),
    `#!/bin/bash\necho $$ > "$pids.module"\nsleep 60 &\necho $! > "$pids.child"\nwait\n`,
  );
  await writeFileIn(path.join(dir, 'box'), `type=slow\npids=${path.join(dir, 'pid')}\n`);
  const cli = spawn('/usr/bin/env', ['-i', `PATH=${process.env.PATH}`, `DYSNOMIA_MODULES_PATH=${path.join(dir, 'modules')}`, `DYSNOMIA_STATEDIR=${path.join(dir, 'state')}`,
    process.execPath, path.join(BIN_DIR, 'dysnomia.js'), 'activate', '-c', dir, '-C', path.join(dir, 'box')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  cli.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => cli.once('close', (code) => resolve(code)));

  const readPid = (suffix: string) => async () => Number((await readFile(path.join(dir, `pid.${suffix}`), 'utf8').catch(() => '')).trim()) || undefined;
  const modulePid = await waitFor(readPid('module'), 'the module to start');
  const childPid = await waitFor(readPid('child'), 'the module to start its child');
  t.ok(isAlive(modulePid) && isAlive(childPid), 'module and its child run');

  cli.kill('SIGTERM');
  t.equal(await Promise.race([exited, sleep(15_000, 'still running after 15 s', { ref: false })]), 1, 'the operation failed with status 1');
  t.match(stderr, 'interrupted (SIGTERM): stopping the running module');
  t.match(stderr, /module ".*slow" failed in activate: .* was cancelled/);
  await waitFor(async () => (!isAlive(modulePid) && !isAlive(childPid) ? true : undefined), 'the module and its child to be gone');
  t.pass('the module and the process it started are gone');
});

t.test('a module that leaves a daemon running (holding its output) does not hold up the operation', async (t) => {
  const dir = await tempDir(t);
  await writeExecutable(path.join(dir, 'modules/daemonizing'), `#!/bin/bash\nsleep 30 &\necho $! > "$pids.daemon"\necho started\n`);
  await writeFileIn(path.join(dir, 'box'), `type=daemonizing\npids=${path.join(dir, 'pid')}\n`);
  const started = Date.now();
  const result = await dysnomia(['activate', '-c', dir, '-C', path.join(dir, 'box')], {
    env: { DYSNOMIA_MODULES_PATH: path.join(dir, 'modules'), DYSNOMIA_STATEDIR: path.join(dir, 'state') },
  });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, 'started\n', 'output written before the module exited is kept');
  t.ok(Date.now() - started < 10_000, 'returns when the module exits, not when the daemon does');
  const daemon = Number(await readFile(path.join(dir, 'pid.daemon'), 'utf8'));
  t.ok(isAlive(daemon), 'the daemon keeps running after a successful activation');
  process.kill(daemon, 'SIGKILL');
});
