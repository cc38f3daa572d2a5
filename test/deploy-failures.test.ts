import { execFile, spawn } from 'node:child_process';
import { access, mkdir, readdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { BIN_DIR, NO_REGISTRY_ENV, REPO_ROOT, tempDir } from './helpers/cli.js';
import { packageFolder, parseEvents, sshRun, sshTarget, writeProgram } from './helpers/deploy-fixtures.js';
import { startSshd } from './helpers/sshd.js';

const run = promisify(execFile);

interface BoundedResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** The CLI through `env -i`, killed (and reported as timed out) when it runs longer than `limitMs`: these failures used to hang. */
function dysnomiaWithin(limitMs: number, args: string[], env: Record<string, string>): Promise<BoundedResult> {
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...NO_REGISTRY_ENV, ...env };
  const started = Date.now();
  const child = spawn('/usr/bin/env', ['-i', ...Object.entries(base).map(([k, v]) => `${k}=${v}`), process.execPath, path.join(BIN_DIR, 'dysnomia.js'), ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, limitMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started, timedOut });
    });
  });
}

// The engine bundle for the targets is rebuilt whenever the engine's files change (other work in the checkout): allow for it.
t.setTimeout(300_000);

const exists = (file: string) => access(file).then(() => true, () => false);

// One coordinator store for the file: the engine bundle for the targets is built once.
const dir = await tempDir(t, 'dysnomia-deploy-failures-');
const env = { DYSNOMIA_STATEDIR: path.join(dir, 'coordinator') };
const knownHosts = path.join(dir, 'known_hosts');
const hostA = await startSshd(t, { knownHosts });
const hostB = await startSshd(t, { knownHosts, clientKey: hostA.clientKey });
const project = path.join(dir, 'project');
await packageFolder(path.join(project, 'pkgs/hello'), 'hello', 'hello one');
const helloModel = (targets: string[], file: string) => writeFile(file, JSON.stringify(Object.fromEntries(targets.map((name) => [name, ['./pkgs/hello']]))));

/** A node for a target that runs the real one after a shell prelude (limits, environment, noise). */
async function nodeWrapper(name: string, prelude: string): Promise<string> {
  const file = path.join(dir, 'wrappers', name);
  await writeProgram(file, `#!/bin/sh\n${prelude}\nexec ${process.execPath} "$@"\n`);
  return file;
}

async function infrastructureFile(name: string, targets: Record<string, Record<string, unknown>>): Promise<string> {
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(targets, null, 2));
  return file;
}

function withProperties(target: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  return { properties: { ...(target.properties as Record<string, unknown>), ...extra } };
}

const noStack = /^\s+at /m;

t.test('a store import that fails mid-stream fails the deploy at once with the target\'s own message, leaving nothing behind', async (t) => {
  const state = path.join(dir, 'machines/limited/state');
  // A file size limit on the target (1 KiB blocks): the engine fits, the 48 MiB blob does not (EFBIG mid-stream, also for root).
  const limited = await nodeWrapper('limited', 'ulimit -f 16384');
  const infra = await infrastructureFile('infra-limited', { limited: withProperties(sshTarget(hostA, knownHosts, state), { nodePath: limited }) });
  const model = path.join(project, 'limited.json');
  await helloModel(['limited'], model);
  const first = await dysnomiaWithin(90_000, ['deploy', '-i', infra, '-P', model, '--json'], env);
  t.equal(first.code, 0, first.stderr);

  const big = path.join(project, 'pkgs/big');
  await mkdir(path.join(big, 'share'), { recursive: true });
  await run('dd', ['if=/dev/urandom', `of=${path.join(big, 'share/blob')}`, 'bs=1M', 'count=48', 'status=none']);
  await writeFile(model, JSON.stringify({ limited: ['./pkgs/hello', './pkgs/big'] }));
  const failed = await dysnomiaWithin(60_000, ['deploy', '-i', infra, '-P', model], env);
  t.notOk(failed.timedOut, `the deploy ends by itself (took ${failed.ms} ms)`);
  t.equal(failed.code, 1, failed.stderr);
  t.match(failed.stderr, /dysnomia: error: target "limited": store --import failed: .*(File too large|EFBIG)/s, "the target's own error");
  t.notMatch(failed.stderr, noStack);
  t.match(failed.stdout, /^limited: FAILED$/m, 'the plain view names the target; the error itself is said once, on stderr');
  t.notMatch(failed.stdout, /File too large|EFBIG/);
  const store = await readdir(path.join(state, 'store'));
  t.notOk(store.some((name) => name.endsWith('-big')), 'no big entry on the target');
  // The target's import stops at the failed write and removes its temporary folder itself.
  t.same(store.filter((name) => name.startsWith('.tmp-')), [], 'no temporary folder left in the target store');
  t.notMatch(failed.stderr, /Unhandled|node:internal/, 'the import failed cleanly, it did not crash');
  t.same((await readdir(path.join(state, 'profiles'))).sort(), ['default', 'default-1-link'], 'profile as it was');
  t.equal(await sshRun(hostA, knownHosts, `${state}/profiles/default/bin/hello`), 'hello one\n');
  await rm(big, { recursive: true, force: true });
});

t.test('a bootstrap that cannot write into the target\'s store says why, with no crash', async (t) => {
  const machine = path.join(dir, 'machines/nostore');
  const state = path.join(machine, 'state');
  // The state folder is a file: the store cannot be made in it.
  await mkdir(machine, { recursive: true });
  await writeFile(state, 'not a folder\n');
  const infra = await infrastructureFile('infra-nostore', { nostore: sshTarget(hostA, knownHosts, state) });
  const model = path.join(project, 'nostore.json');
  await helloModel(['nostore'], model);
  const result = await dysnomiaWithin(90_000, ['deploy', '-i', infra, '-P', model], env);
  t.notOk(result.timedOut);
  t.equal(result.code, 1, result.stderr);
  t.match(result.stderr, `dysnomia: error: target "nostore": installing the engine failed (status 1: bootstrap: cannot make a folder in ${state}/store:`);
  t.notMatch(result.stderr, /internal error|unhandled/i);
  t.notMatch(result.stderr, noStack);
  t.equal(await readFile(state, 'utf8'), 'not a folder\n', 'nothing changed on the target');
});

t.test('a known_hosts that cannot be written with --accept-new-host-keys: exit 1, clear message, the process ends', async (t) => {
  const fresh = await startSshd(t, { clientKey: hostA.clientKey });
  const blocker = path.join(dir, 'blocker');
  await writeFile(blocker, 'a file where a folder should be\n');
  const unwritable = path.join(blocker, 'known_hosts');
  const state = path.join(dir, 'machines/fresh/state');
  const infra = await infrastructureFile('infra-fresh', { fresh: sshTarget(fresh, unwritable, state) });
  const model = path.join(project, 'fresh.json');
  await helloModel(['fresh'], model);
  const result = await dysnomiaWithin(45_000, ['deploy', '-i', infra, '-P', model, '--accept-new-host-keys'], env);
  t.notOk(result.timedOut, `the process exits (took ${result.ms} ms)`);
  t.equal(result.code, 1, result.stderr);
  t.match(result.stderr, `dysnomia: error: target "fresh": cannot record the new host key of 127.0.0.1:${fresh.port} in ${unwritable}:`);
  t.notMatch(result.stderr, noStack);
  t.notOk(await exists(state), 'nothing done on the target');
});

t.test('a profile switch failing on one target switches the others back', async (t) => {
  const stateA = path.join(dir, 'machines/a/state');
  const stateB = path.join(dir, 'machines/b/state');
  const infra = await infrastructureFile('infra-ab', { a: sshTarget(hostA, knownHosts, stateA), b: sshTarget(hostB, knownHosts, stateB) });
  const model = path.join(project, 'ab.json');
  await helloModel(['a', 'b'], model);
  const first = await dysnomiaWithin(90_000, ['deploy', '-i', infra, '-P', model, '--json'], env);
  t.equal(first.code, 0, first.stderr);
  t.same(parseEvents(first.stdout).filter((e) => e.event === 'profile').map((e) => [e.target, e.generation]).sort(), [['a', 1], ['b', 1]]);

  // b's profiles folder becomes a file: b gets everything sent, then cannot switch. One at a time, so a switches first.
  await rename(path.join(stateB, 'profiles'), path.join(stateB, 'profiles.away'));
  await writeFile(path.join(stateB, 'profiles'), 'not a folder\n');
  await packageFolder(path.join(project, 'pkgs/hello'), 'hello', 'hello two');
  const failed = await dysnomiaWithin(90_000, ['deploy', '-i', infra, '-P', model, '--json', '--max-concurrent-transfers', '1'], env);
  t.equal(failed.code, 1, failed.stderr);
  const events = parseEvents(failed.stdout);
  t.match(events.filter((e) => e.event === 'profile'), [{ target: 'a', generation: 2, changed: true }], 'a switched first');
  t.match(events.filter((e) => e.event === 'failed'), [{ target: 'b', error: /^target "b": / }]);
  t.match(events.filter((e) => e.event === 'rolled-back'), [{ target: 'a', profile: 'default', generation: 1, reason: 'b failed' }]);
  t.match(events.at(-1), { event: 'done', ok: false, failed: ['b'] });
  t.equal(await readlink(path.join(stateA, 'profiles/default')), 'default-1-link', 'a is back at generation 1');
  t.same((await readdir(path.join(stateA, 'profiles'))).sort(), ['default', 'default-1-link'], "a's generation 2 is gone");
  t.equal(await sshRun(hostA, knownHosts, `${stateA}/profiles/default/bin/hello`), 'hello one\n');

  const plain = await dysnomiaWithin(90_000, ['deploy', '-i', infra, '-P', model, '--max-concurrent-transfers', '1', '--profile', 'fresh'], env);
  t.equal(plain.code, 1);
  t.match(plain.stdout, /^a: rolled back: profile fresh removed again \(it was new; b failed\)$/m, 'said in the plain output');
  t.match(plain.stderr, /dysnomia: error: target "b": /);
  t.notOk(await exists(path.join(stateA, 'profiles/fresh')), "a's new profile is removed");
  t.notOk(await exists(path.join(stateA, 'profiles/fresh-1-link')));

  await rm(path.join(stateB, 'profiles'));
  await rename(path.join(stateB, 'profiles.away'), path.join(stateB, 'profiles'));
  const again = await dysnomiaWithin(90_000, ['deploy', '-i', infra, '-P', model, '--json'], env);
  t.equal(again.code, 0, again.stderr);
  t.equal(await sshRun(hostB, knownHosts, `${stateB}/profiles/default/bin/hello`), 'hello two\n', 'a later deploy goes through');
  t.equal(await sshRun(hostA, knownHosts, `${stateA}/profiles/default/bin/hello`), 'hello two\n');
});

t.test('a profile name starting with "-" reaches the target as a name', async (t) => {
  const state = path.join(dir, 'machines/dash/state');
  const infra = await infrastructureFile('infra-dash', { dash: sshTarget(hostA, knownHosts, state) });
  const model = path.join(project, 'dash.json');
  await helloModel(['dash'], model);
  const result = await dysnomiaWithin(90_000, ['deploy', '-i', infra, '-P', model, '--profile=-dash', '--json'], env);
  t.equal(result.code, 0, result.stderr);
  t.match(parseEvents(result.stdout).filter((e) => e.event === 'profile'), [{ target: 'dash', profile: '-dash', generation: 1, changed: true }]);
  t.equal(await readlink(path.join(state, 'profiles/-dash')), '-dash-1-link');
  const listed = await dysnomiaWithin(60_000, ['deploy', '-i', infra, '--profile=-dash', '--list-generations', '--json'], env);
  t.equal(listed.code, 0, listed.stderr);
  t.match(parseEvents(listed.stdout).filter((e) => e.event === 'generations'), [{ target: 'dash', profile: '-dash', generations: [{ generation: 1, current: true }] }]);
});

t.test('a dry run and a listing write nothing on the target; a noisy shell gives a readable probe error', async (t) => {
  const state = path.join(dir, 'machines/dry/state');
  const infra = await infrastructureFile('infra-dry', { dry: sshTarget(hostA, knownHosts, state) });
  const model = path.join(project, 'dry.json');
  await helloModel(['dry'], model);
  const manifest = path.join(state, 'deployments/dysnomia-runtime.json');
  const deployed = await dysnomiaWithin(90_000, ['deploy', '-i', infra, '-P', model], env);
  t.equal(deployed.code, 0, deployed.stderr);
  t.ok(await exists(manifest), 'a deploy records the engine');
  await rm(path.join(state, 'deployments'), { recursive: true });

  const dry = await dysnomiaWithin(60_000, ['deploy', '-i', infra, '-P', model, '--dry-run', '--json'], env);
  t.equal(dry.code, 0, dry.stderr);
  t.match(parseEvents(dry.stdout).filter((e) => e.event === 'plan'), [{ target: 'dry', missing: [] }]);
  const listed = await dysnomiaWithin(60_000, ['deploy', '-i', infra, '--list-generations', '--json'], env);
  t.equal(listed.code, 0, listed.stderr);
  t.notOk(await exists(path.join(state, 'deployments')), 'neither wrote the deployments folder');
  const fresh = path.join(dir, 'machines/dry-fresh/state');
  const freshInfra = await infrastructureFile('infra-dry-fresh', { dry: sshTarget(hostA, knownHosts, fresh) });
  const freshDry = await dysnomiaWithin(60_000, ['deploy', '-i', freshInfra, '-P', model, '--dry-run'], env);
  t.equal(freshDry.code, 0, freshDry.stderr);
  t.notOk(await exists(fresh), 'a dry run against a new target creates nothing there');

  const noisy = await nodeWrapper('noisy', 'echo "Welcome to the machine"');
  const noisyInfra = await infrastructureFile('infra-noisy', { noisy: withProperties(sshTarget(hostA, knownHosts, state), { nodePath: noisy }) });
  await helloModel(['noisy'], path.join(project, 'noisy.json'));
  const again = await dysnomiaWithin(60_000, ['deploy', '-i', noisyInfra, '-P', path.join(project, 'noisy.json')], env);
  t.equal(again.code, 1, again.stderr);
  t.match(again.stderr, /target "noisy": the probe's answer is not JSON \(does a shell startup file print something\?\): "Welcome to the machine\\n\{/);
  t.notMatch(again.stderr, /SyntaxError|internal error/);
  t.notMatch(again.stderr, noStack);
});

t.test('a target that lets nobody in is named within --connect-timeout', async (t) => {
  const frozen = await startSshd(t, { knownHosts, clientKey: hostA.clientKey });
  // Stopped, its port still accepts connections (the kernel does that) but no SSH banner ever comes.
  process.kill(frozen.pid, 'SIGSTOP');
  t.teardown(() => process.kill(frozen.pid, 'SIGCONT'));
  const infra = await infrastructureFile('infra-frozen', { frozen: sshTarget(frozen, knownHosts, path.join(dir, 'machines/frozen/state')) });
  const model = path.join(project, 'frozen.json');
  await helloModel(['frozen'], model);
  const result = await dysnomiaWithin(60_000, ['deploy', '-i', infra, '-P', model, '--connect-timeout', '2'], env);
  t.notOk(result.timedOut, `the deploy ends by itself (took ${result.ms} ms)`);
  t.equal(result.code, 1, result.stderr);
  t.match(result.stderr, `dysnomia: error: target "frozen": no answer within 2 s while connecting to 127.0.0.1:${frozen.port} (--connect-timeout)`);
  t.notMatch(result.stderr, noStack);
  const bad = await dysnomiaWithin(30_000, ['deploy', '-i', infra, '-P', model, '--connect-timeout', 'soon'], env);
  t.equal(bad.code, 2);
  t.match(bad.stderr, "--connect-timeout takes a number of seconds from 0 to 86400, not 'soon'");
});

t.test('a target nobody answers for is told apart from bad input: its own error code, exit status 1', async (t) => {
  const gone = await startSshd(t, { knownHosts, clientKey: hostA.clientKey });
  await gone.stop();
  const infra = await infrastructureFile('infra-gone', { gone: sshTarget(gone, knownHosts, path.join(dir, 'machines/gone/state')) });
  const model = path.join(project, 'gone.json');
  await helloModel(['gone'], model);
  const result = await dysnomiaWithin(60_000, ['deploy', '-i', infra, '-P', model, '--json'], env);
  t.equal(result.code, 1, result.stderr);
  t.match(parseEvents(result.stdout).find((e) => e.event === 'failed'), { target: 'gone', code: 'ERR_DYSNOMIA_UNREACHABLE', error: /cannot connect to 127\.0\.0\.1:\d+/ });
  t.notMatch(result.stderr, noStack);

  const badModel = await infrastructureFile('infra-bad', { gone: { ...sshTarget(gone, knownHosts, path.join(dir, 'machines/gone/state')), clientInterface: 'carrier-pigeon' } });
  const refused = await dysnomiaWithin(30_000, ['deploy', '-i', badModel, '-P', model, '--json'], env);
  t.equal(refused.code, 2, 'bad input is exit status 2');
  t.match(refused.stderr, 'carrier-pigeon');
});

t.test('an operation that does not end is given up after --command-timeout, naming target and service, and rolled back', async (t) => {
  const state = path.join(dir, 'machines/slow/state');
  const infra = await infrastructureFile('infra-slow', { slow: sshTarget(hostB, knownHosts, state) });
  const marker = `dysnomia-stuck-${process.pid}-${Date.now()}`;
  const done = path.join(dir, 'slow-first-activated');
  await writeProgram(path.join(project, 'first/bin/wrapper'), `#!/bin/sh\ncase "$1" in activate) touch ${done} ;; deactivate) rm -f ${done} ;; esac\nexit 0\n`);
  await writeProgram(
    path.join(project, 'stuck/bin/wrapper'),
    `#!/bin/sh\ncase "$1" in activate) exec ${process.execPath} -e 'setTimeout(() => {}, 300000)' ${marker} ;; esac\nexit 0\n`,
  );
  t.teardown(() => run('pkill', ['-f', marker]).catch(() => undefined));
  const services = path.join(project, 'slow-services.json');
  await writeFile(services, JSON.stringify({ first: { pkg: './first', type: 'wrapper' }, stuck: { pkg: './stuck', type: 'wrapper', dependsOn: { first: 'first' } } }));
  const distribution = path.join(project, 'slow-distribution.json');
  await writeFile(distribution, JSON.stringify({ first: ['slow'], stuck: ['slow'] }));
  // The target gets its runtime first, under the default time limits: only the stuck activation is to meet the short one.
  const warm = await dysnomiaWithin(120_000, ['capture-infra', '-i', infra], env);
  t.equal(warm.code, 0, warm.stderr);
  const result = await dysnomiaWithin(90_000, ['deploy', '-s', services, '-i', infra, '-d', distribution, '--profile', 'slow', '--command-timeout', '8'], env);
  t.notOk(result.timedOut, `the deploy ends by itself (took ${result.ms} ms)`);
  t.equal(result.code, 1, result.stderr);
  t.match(result.stderr, /activating stuck on slow \(container wrapper\) failed: target "slow": no answer within 8 s to activate \S+-stuck in wrapper \(--command-timeout\)\nrolled back: there was no previous deployment, and what this one activated is deactivated again\n/);
  t.notOk(await exists(done), 'the service activated before it was deactivated again');
  t.notMatch(result.stderr, noStack);
});
