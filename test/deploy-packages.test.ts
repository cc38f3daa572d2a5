import { readFile, readdir, rm, writeFile, stat, access } from 'node:fs/promises';
import os from 'node:os';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { dysnomia, REPO_ROOT } from './helpers/cli.js';
import { dysnomiaStreaming, npmTarball, packageFolder, parseEvents, sshRun, sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';
import { startSshd } from './helpers/sshd.js';
import { waitFor, writeFileIn } from './helpers/fixtures.js';
import { ENTRY_STAMP } from '../packages/engine/dist/store/store.js';
import { quickCheckKey } from '../packages/engine/dist/store/quick-check.js';

const run = promisify(execFile);
// Two sshd machines and many deploys: 45-50 s when four test files run at once, too close to tap's default 120 s per file for a slower machine.
t.setTimeout(600_000);

// One coordinator store for the whole file: the engine bundle for the targets is built into it once.
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-deploy-');

const infrastructure = path.join(dir, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test2: sshTarget(test2, knownHosts, state2) }, null, 2));

// The four kinds of package: a folder, a tarball, npm (a local tarball), a build function.
const project = path.join(dir, 'project');
await packageFolder(path.join(project, 'pkgs/hello'), 'hello', 'hello from a folder');
await packageFolder(path.join(project, 'tarball-src/greet'), 'greet', 'greetings from a tarball');
await run('tar', ['-czf', path.join(project, 'greet.tar.gz'), '-C', path.join(project, 'tarball-src'), 'greet']);
await npmTarball(project, 'moo', 'moo from npm');
const componentModule = path.join(REPO_ROOT, 'packages/engine/dist/index.js');
const packagesModel = path.join(project, 'packages.mjs');
await writeFile(
  packagesModel,
  `import { component } from ${JSON.stringify(componentModule)};
import { chmod, mkdir, writeFile } from 'node:fs/promises';
const built = component({
  name: 'built',
  inputs: { word: 'built by a function' },
  async build(out, { word }) {
    await mkdir(out + '/bin');
    await writeFile(out + '/bin/built', '#!/bin/sh\\necho "' + word + '"\\n');
    await chmod(out + '/bin/built', 0o755);
  },
});
export default ({ infrastructure }) => Object.fromEntries(Object.keys(infrastructure).map((name) => [name, ['./pkgs/hello', './greet.tar.gz', 'npm:./moo-1.0.0.tgz', built]]));
`,
);
const programs = { hello: 'hello from a folder', greet: 'greetings from a tarball', moo: 'moo from npm', built: 'built by a function' };

const deploy = (args: string[]) => dysnomia(['deploy', '-i', infrastructure, ...args], { env });
const events = (stdout: string, name: string, target?: string) => parseEvents(stdout).filter((e) => e.event === name && (target === undefined || e.target === target));

t.test('four kinds of package reach two targets and run there from the profile', async (t) => {
  const result = await deploy(['-P', packagesModel, '--json']);
  t.equal(result.code, 0, result.stderr);
  for (const line of result.stdout.split('\n').filter(Boolean)) t.match(JSON.parse(line), { v: 1 }, 'only versioned events on stdout');
  for (const target of ['test1', 'test2']) {
    t.match(events(result.stdout, 'bootstrap', target), [{ phase: 'start' }, { phase: 'done' }], `${target}: the engine installed itself`);
    t.match(events(result.stdout, 'transferred', target), [{ entries: 4 }], `${target}: the four packages (the profile generation is made there)`);
    t.match(events(result.stdout, 'profile', target), [{ profile: 'default', generation: 1, changed: true }]);
  }
  for (const [host, stateDir] of [[test1, state1], [test2, state2]] as const) {
    for (const [program, output] of Object.entries(programs)) {
      t.equal(await sshRun(host, knownHosts, `${stateDir}/profiles/default/bin/${program}`), `${output}\n`, `${program} runs over SSH`);
    }
  }
  const { stdout } = await run(path.join(state2, 'profiles/default/bin/moo'));
  t.equal(stdout, 'moo from npm\n', 'and directly from the target state folder');
  const verify = await run(process.execPath, [path.join(REPO_ROOT, 'packages/engine/bin/dysnomia.js'), 'store', '--verify', '--json'], { env: { ...process.env, DYSNOMIA_STATEDIR: state1 } });
  t.match(JSON.parse(verify.stdout), { failed: [] }, "every entry in the target's store (the engine too) verifies");
});

t.test('a second identical deploy sends nothing and makes no generation', async (t) => {
  const started = Date.now();
  const result = await deploy(['-P', packagesModel, '--json']);
  t.equal(result.code, 0, result.stderr);
  t.same(events(result.stdout, 'transferred'), [], 'no component sent');
  t.same(events(result.stdout, 'bootstrap'), [], 'the engine is there already');
  t.match(events(result.stdout, 'plan'), [{ missing: [] }, { missing: [] }]);
  t.match(events(result.stdout, 'profile'), [{ generation: 1, changed: false }, { generation: 1, changed: false }]);
  t.same((await readdir(path.join(state1, 'profiles'))).sort(), ['default', 'default-1-link']);
  t.comment(`no-op redeploy took ${Date.now() - started} ms`);
});

t.test('a no-op redeploy asks the targets over SFTP: no shell, no command runs there', async (t) => {
  const before = (await test1.log()).length;
  const result = await deploy(['-P', packagesModel, '--json']);
  t.equal(result.code, 0, result.stderr);
  t.match(events(result.stdout, 'profile'), [{ generation: 1, changed: false }, { generation: 1, changed: false }]);
  const log = (await test1.log()).slice(before);
  t.match(log, /Starting session: subsystem 'sftp'/, 'the probe went over SFTP');
  t.notMatch(log, /Starting session: command/, 'no command was run on the target');
});

t.test('a target without SFTP is probed with Node instead, and a change there still deploys', async (t) => {
  const bare = await startSshd(t, { knownHosts, clientKey: test1.clientKey, withoutSftp: true });
  const state3 = path.join(dir, 'machines/bare/state');
  const withBare = path.join(dir, 'infrastructure-bare.json');
  await writeFile(withBare, JSON.stringify({ bare: sshTarget(bare, knownHosts, state3) }));
  const model = path.join(project, 'packages-bare.json');
  await writeFile(model, JSON.stringify({ bare: ['./pkgs/hello'] }));
  const deployBare = () => dysnomia(['deploy', '-i', withBare, '-P', model, '--json'], { env });
  const first = await deployBare();
  t.equal(first.code, 0, first.stderr);
  const again = await deployBare();
  t.equal(again.code, 0, again.stderr);
  t.match(events(again.stdout, 'profile', 'bare'), [{ generation: 1, changed: false }], 'the redeploy found the profile current');
  t.match(await bare.log(), /subsystem request for sftp by user \S+ failed, subsystem not found/, 'SFTP was asked for and not available');
  t.equal(await sshRun(bare, knownHosts, `${state3}/profiles/default/bin/hello`), 'hello from a folder\n');
});

t.test('a new generation, then rollback brings back the previous programs', async (t) => {
  await packageFolder(path.join(project, 'pkgs/hello'), 'hello', 'hello, version two');
  const dry = await deploy(['-P', packagesModel, '--dry-run']);
  t.equal(dry.code, 0, dry.stderr);
  t.match(dry.stdout, /^test1: profile default: changes hello \(3 unchanged\)$/m, 'a dry run names the changed package');
  t.match(dry.stdout, /^test2: profile default: changes hello \(3 unchanged\)$/m);
  const second = await deploy(['-P', packagesModel, '--json']);
  t.equal(second.code, 0, second.stderr);
  t.match(events(second.stdout, 'transferred'), [{ entries: 1 }, { entries: 1 }], 'only the changed package');
  t.match(events(second.stdout, 'profile', 'test1'), [{ generation: 2, changed: true }]);
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/default/bin/hello`), 'hello, version two\n');

  const listed = await deploy(['-P', packagesModel, '--list-generations', '--json']);
  t.equal(listed.code, 0, listed.stderr);
  t.match(events(listed.stdout, 'generations', 'test1'), [{ generations: [{ generation: 1, current: false }, { generation: 2, current: true }] }]);

  const rollback = await deploy(['-P', packagesModel, '--rollback']);
  t.equal(rollback.code, 0, rollback.stderr);
  t.match(rollback.stdout, /^test1: done: profile default at target generation 1$/m, 'plain lines when stdout is not a terminal');
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/default/bin/hello`), 'hello from a folder\n');
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/default/bin/hello`), 'hello from a folder\n');

  const forward = await deploy(['--switch-to-generation=2', '--json']);
  t.equal(forward.code, 0, forward.stderr);
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/default/bin/hello`), 'hello, version two\n');
  const deleted = await deploy(['--delete-generations', 'old', '--json']);
  t.match(events(deleted.stdout, 'deleted', 'test1'), [{ generations: [1] }]);
});

t.test('two profiles on one target are independent', async (t) => {
  const tools = path.join(project, 'tools.json');
  await packageFolder(path.join(project, 'pkgs/tool'), 'tool', 'a tool');
  await writeFile(tools, JSON.stringify({ test1: ['./pkgs/tool'] }));
  const result = await deploy(['-P', tools, '--profile', 'tools', '--json']);
  t.equal(result.code, 0, result.stderr);
  t.match(events(result.stdout, 'profile'), [{ target: 'test1', profile: 'tools', generation: 1, changed: true }]);
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/tools/bin/tool`), 'a tool\n');
  await t.rejects(access(path.join(state1, 'profiles/tools/bin/hello')), 'the tools profile has only its package');
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/default/bin/hello`), 'hello, version two\n', 'default untouched');
  await t.rejects(access(path.join(state1, 'profiles/default/bin/tool')));
});

t.test('an unknown host key is refused and nothing changes on any target', async (t) => {
  const stranger = await startSshd(t, { clientKey: test1.clientKey });
  const state3 = path.join(dir, 'machines/test3/state');
  const infra = path.join(dir, 'infrastructure-3.json');
  await writeFile(infra, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test3: sshTarget(stranger, knownHosts, state3) }));
  const model = path.join(project, 'three.json');
  await packageFolder(path.join(project, 'pkgs/new'), 'new', 'new');
  await writeFile(model, JSON.stringify({ test1: ['./pkgs/new'], test3: ['./pkgs/new'] }));
  const before = await readFile(knownHosts, 'utf8');
  const generationsBefore = await readdir(path.join(state1, 'profiles'));
  const result = await dysnomia(['deploy', '-i', infra, '-P', model], { env });
  t.equal(result.code, 1);
  t.match(result.stderr, new RegExp(`dysnomia: error: target "test3": the host key of 127\\.0\\.0\\.1:${stranger.port} is not known`));
  t.match(result.stderr, '--accept-new-host-keys');
  t.match(result.stdout, /test1: skipped: another target failed: profile not switched/);
  await t.rejects(stat(state3), 'nothing was written on the unknown host');
  t.same(await readdir(path.join(state1, 'profiles')), generationsBefore, 'no target switched its profile');
  t.equal(await readFile(knownHosts, 'utf8'), before);
});

t.test('a connection cut in the middle of a transfer, then a new deploy, ends correct', async (t) => {
  const big = path.join(project, 'pkgs/big');
  await writeProgram(path.join(big, 'bin/big'), '#!/bin/sh\nwc -c < "$(dirname "$0")/../share/big/blob"\n');
  await run('mkdir', ['-p', path.join(big, 'share/big')]);
  await run('dd', ['if=/dev/urandom', `of=${path.join(big, 'share/big/blob')}`, 'bs=1M', 'count=96', 'status=none']);
  const model = path.join(project, 'big.json');
  await writeFile(model, JSON.stringify({ test2: ['./pkgs/hello', './pkgs/big'] }));

  let killed = 0;
  const cut = await dysnomiaStreaming(['deploy', '-i', infrastructure, '-P', model, '--json', '--max-concurrent-transfers', '1'], env, (line) => {
    const event = JSON.parse(line) as { event: string; bytesSent?: number };
    if (event.event === 'progress' && killed === 0 && (event.bytesSent ?? 0) > 4 * 1024 * 1024) {
      killed = -1;
      void test2.killSessions().then((n) => (killed = n));
    }
  });
  t.equal(cut.code, 1, 'the cut deploy fails');
  t.ok(killed > 0, 'the sshd session was killed mid-transfer');
  t.match(parseEvents(cut.stdout).find((e) => e.event === 'failed'), { target: 'test2', error: /target "test2"/ });
  const storeNames = await readdir(path.join(state2, 'store'));
  t.notOk(storeNames.some((name) => name.endsWith('-big')), 'no partial component in the store');
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/default/bin/hello`), 'hello, version two\n', 'the profile is as it was');

  const again = await dysnomia(['deploy', '-i', infrastructure, '-P', model, '--json'], { env });
  t.equal(again.code, 0, again.stderr);
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/default/bin/big`), `${96 * 1024 * 1024}\n`);
  const verify = await run(process.execPath, [path.join(REPO_ROOT, 'packages/engine/bin/dysnomia.js'), 'store', '--verify', '--json'], { env: { ...process.env, DYSNOMIA_STATEDIR: state2 } });
  t.match(JSON.parse(verify.stdout), { failed: [] }, 'every entry verifies');
});

t.test('a byte changed on the way is refused: the target keeps nothing of it, and the right bytes then deploy', async (t) => {
  // Large enough to go through the transfer's worker thread and its own connection.
  const bulky = path.join(project, 'pkgs/bulky');
  await writeProgram(path.join(bulky, 'bin/bulky'), '#!/bin/sh\nwc -c < "$(dirname "$0")/../share/bulky/blob"\n');
  await run('mkdir', ['-p', path.join(bulky, 'share/bulky')]);
  await run('dd', ['if=/dev/urandom', `of=${path.join(bulky, 'share/bulky/blob')}`, 'bs=1M', 'count=10', 'status=none']);
  const model = path.join(project, 'bulky.json');
  await writeFile(model, JSON.stringify({ test1: ['./pkgs/bulky'] }));
  const args = ['-P', model, '--profile', 'bulky', '--json'];
  const dry = await deploy([...args, '--dry-run']);
  t.equal(dry.code, 0, dry.stderr);
  const entry = (events(dry.stdout, 'built')[0] as unknown as { entry: string }).entry;

  // The coordinator's copy is damaged after it was stored: what goes out no longer hashes to the entry's name.
  const blob = path.join(env.DYSNOMIA_STATEDIR, 'store', entry, 'share/bulky/blob');
  const flip = async () => {
    await run('chmod', ['u+w', blob]);
    const bytes = await readFile(blob);
    bytes[5 * 1024 * 1024] = 0xff ^ bytes[5 * 1024 * 1024]!;
    await writeFile(blob, bytes);
    await run('chmod', ['a-w', blob]);
  };
  await flip();
  // Stamped as it is now, the damage is one the coordinator cannot see (its quick check would otherwise rebuild the entry): only the target's verification stands in the way.
  await writeFile(path.join(env.DYSNOMIA_STATEDIR, 'store/.stamps', entry), quickCheckKey(path.join(env.DYSNOMIA_STATEDIR, 'store', entry), ENTRY_STAMP)!);
  const bad = await deploy(args);
  t.equal(bad.code, 1, 'the deploy fails');
  t.match(events(bad.stdout, 'failed')[0], { target: 'test1', error: /bulky: the contents do not match the hash in the name/ });
  const storeNames = await readdir(path.join(state1, 'store'));
  t.notOk(storeNames.includes(entry), 'the damaged entry is not in the target\'s store');
  t.notOk(storeNames.some((name) => name.startsWith('.tmp-')), 'and no work folder is left');
  await t.rejects(access(path.join(state1, 'profiles/bulky')), 'no profile was made');

  await flip();
  const good = await deploy(args);
  t.equal(good.code, 0, good.stderr);
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/bulky/bin/bulky`), `${10 * 1024 * 1024}\n`);
});

t.test('bad input: exit status 2 naming the file or the argument', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['deploy', '-s', 'services.js', '-i', infrastructure, '-d', 'd.js'], /d\.js: no such file/],
    [['deploy', '--undeploy', '-i', infrastructure, '-P', packagesModel], /--undeploy goes alone \(with --profile\), not with -P/],
    [['deploy', '-s', 'services.js', '-d', 'd.js'], /-s SERVICES and -d DISTRIBUTION need -i INFRASTRUCTURE/],
    [['deploy', '-i', infrastructure], /no packages model: pass -P PACKAGES/],
    [['deploy', '-P', packagesModel], /no infrastructure model: pass -i INFRASTRUCTURE/],
    [['deploy', '-i', infrastructure, '-P', packagesModel, '--max-concurrent-transfers', '0'], /--max-concurrent-transfers takes a whole number from 1 to 1000, not '0'/],
    [['deploy', '-i', infrastructure, '--switch-to-generation', 'x'], /--switch-to-generation takes a generation number/],
    [['deploy', '-i', path.join(dir, 'nope.json'), '-P', packagesModel], /nope\.json: no such file/],
  ];
  for (const [args, message] of cases) {
    const result = await dysnomia(args, { env });
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, message);
    t.notMatch(result.stderr, /^\s+at /m);
  }
  const badModel = path.join(project, 'bad.yaml');
  await writeFile(badModel, 'test1:\n  - ./pkgs/hello\ntest9:\n  - ./pkgs/hello\n');
  const bad = await dysnomia(['deploy', '-i', infrastructure, '-P', badModel], { env });
  t.equal(bad.code, 2);
  t.match(bad.stderr, `${badModel}:3: target "test9" is not in the infrastructure model`);

  // A package that cannot be built fails while connections to the targets are already opening: they are closed and the command ends.
  const missingModel = path.join(project, 'missing.json');
  await writeFile(missingModel, JSON.stringify({ test1: ['./pkgs/no-such-package'], test2: ['./pkgs/hello'] }));
  const started = Date.now();
  const missing = await dysnomia(['deploy', '-i', infrastructure, '-P', missingModel], { env });
  t.equal(missing.code, 2, missing.stderr);
  t.match(missing.stderr, 'no-such-package');
  t.notMatch(missing.stderr, /^\s+at /m);
  t.ok(Date.now() - started < 30_000, 'the command ends without waiting on the opened connections');
});

t.test('-P deploys lock like the others; a store collection on a target is refused during a deployment, and a deployment waits for a collection', async (t) => {
  const live = { user: os.userInfo().username, host: os.hostname(), pid: process.pid, since: '2026-12-01T00:00:00.000Z' };
  const before = await sshRun(test1, knownHosts, `${state1}/profiles/default/bin/hello`);
  await packageFolder(path.join(project, 'pkgs/hello'), 'hello', 'hello, locked out');
  const coordinatorLock = path.join(env.DYSNOMIA_STATEDIR, 'locks/profile-default.json');
  await writeFileIn(coordinatorLock, JSON.stringify(live));
  const refused = await deploy(['-P', packagesModel]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, `profile "default" on this machine is locked by ${live.user}@${live.host} (pid ${process.pid}) since 2026-12-01T00:00:00.000Z; another deployment is running`);
  await rm(coordinatorLock);

  const targetLock = path.join(state2, 'locks/profile-default.json');
  await writeFileIn(targetLock, JSON.stringify(live));
  const refusedThere = await deploy(['-P', packagesModel]);
  t.equal(refusedThere.code, 1);
  t.match(refusedThere.stderr, 'profile "default" on target "test2" is locked by');
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/default/bin/hello`), before, 'nothing changed on test1 either');

  // test2 collects its store while "a deployment" holds its profile: refused, nothing removed.
  const collect = await dysnomia(['store', '--gc'], { env: { DYSNOMIA_STATEDIR: state2 } });
  t.equal(collect.code, 1);
  t.match(collect.stderr, /a deployment is running \(profile "default" by .*\): the store is not collected now/);
  await rm(targetLock);

  // And while test2 collects its store, a deployment there waits for the collection (its store hold is written, then it waits), then goes on.
  const gcLock = path.join(state2, 'locks/store-gc.json');
  const before2 = await sshRun(test2, knownHosts, `${state2}/profiles/default/bin/hello`);
  await writeFileIn(gcLock, JSON.stringify(live));
  const duringGc = deploy(['-P', packagesModel]);
  const holds = path.join(state2, 'store-holds');
  await waitFor(async () => (await readdir(holds).catch(() => [] as string[])).some((name) => name.endsWith('.json')), 'the deployment to hold its entries on test2');
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/default/bin/hello`), before2, 'not switched while the collection runs');
  await rm(gcLock);
  const afterGc = await duringGc;
  t.equal(afterGc.code, 0, afterGc.stderr);
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/default/bin/hello`), 'hello, locked out\n');
  t.same(await readdir(holds), [], 'the hold is given back when the deployment ends');

  const finally_ = await deploy(['-P', packagesModel, '--json']);
  t.equal(finally_.code, 0, finally_.stderr);
  t.same(await readdir(path.join(state2, 'locks')), [], 'the locks are given back');
});
