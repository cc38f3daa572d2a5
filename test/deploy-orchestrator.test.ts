import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { dysnomia } from './helpers/cli.js';
import { dysnomiaStreaming, parseEvents, sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';

// The orchestrator over two simulated machines (sshd on 127.0.0.1): wrapper services whose
// wrappers record what they do in a folder per machine, so every assertion reads real effects.
// The first deploy builds the engine's runtime for the targets (npm install): minutes on a loaded machine.
t.setTimeout(600_000);
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-orchestrator-');
const marks1 = path.join(dir, 'machines/test1/marks');
const marks2 = path.join(dir, 'machines/test2/marks');
const journal = path.join(dir, 'journal');
await mkdir(marks1, { recursive: true });
await mkdir(marks2, { recursive: true });

const target = (host: typeof test1, state: string, marks: string) => {
  const value = sshTarget(host, knownHosts, state) as { containers?: unknown };
  value.containers = { wrapper: { marks, journal } };
  return value;
};
const infrastructure = path.join(dir, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: target(test1, state1, marks1), test2: target(test2, state2, marks2) }, null, 2));

const project = path.join(dir, 'project');
/** A wrapper service: activate makes `<marks>/<name>`, deactivate removes it; every operation appends to the journal; a `fail-<name>-v<version>` file in marks makes that version's activate fail, a `busy-<name>` file its lock. */
async function wrapperService(name: string, version = 1, sleep = 0): Promise<string> {
  const folder = path.join(project, `${name}-v${version}-s${sleep}`);
  await writeProgram(
    path.join(folder, 'bin/wrapper'),
    `#!/bin/sh
set -e
echo "$1 ${name} v${version} $(hostname)-$marks" >> "$journal"
case "$1" in
  activate)
    [ -e "$marks/fail-${name}-v${version}" ] && { echo "${name} v${version} cannot start: fail flag" >&2; exit 3; }
    sleep ${sleep}
    echo v${version} > "$marks/${name}" ;;
  deactivate) rm -f "$marks/${name}" ;;
  lock) if [ -e "$marks/busy-${name}" ]; then echo "${name} is busy" >&2; exit 3; fi ;;
esac
`,
  );
  return folder;
}

const services = path.join(project, 'services.mjs');
async function writeServices(versions: Record<string, number> = {}, sleep = 0): Promise<void> {
  const pkg = async (name: string) => JSON.stringify(await wrapperService(name, versions[name] ?? 1, name === 'db' ? sleep : 0));
  await writeFile(
    services,
    `export default () => {
  const s = {
    db: { pkg: ${await pkg('db')}, type: 'wrapper' },
    api: { pkg: ${await pkg('api')}, type: 'wrapper' },
    web: { pkg: ${await pkg('web')}, type: 'wrapper' },
    tool: { pkg: ${await pkg('tool')}, type: 'wrapper' },
  };
  s.api.dependsOn = { db: s.db };
  s.web.dependsOn = { api: s.api };
  return s;
};
`,
  );
}
await writeServices();
const distribution = (mapping: Record<string, string[]>) => {
  const file = path.join(project, `distribution-${Object.entries(mapping).map(([k, v]) => `${k}-${v.join('+')}`).join('_')}.json`);
  return writeFile(file, JSON.stringify(mapping)).then(() => file);
};
const first = await distribution({ db: ['test1'], api: ['test2'], web: ['test1', 'test2'], tool: ['test2'] });

const deploy = (args: string[], extraEnv: Record<string, string> = {}) => dysnomia(['deploy', ...args], { env: { ...env, ...extraEnv } });
const deployServices = (dist: string, args: string[] = []) => deploy(['-s', services, '-i', infrastructure, '-d', dist, '--profile', 'apps', '--json', ...args]);
const events = (stdout: string, name: string) => parseEvents(stdout).filter((e) => e.event === name);
const steps = (stdout: string, status = 'done') => events(stdout, 'step').filter((e) => e.status === status).map((e) => `${e.action} ${e.service}@${e.target}${e.undo ? ' (undo)' : ''}`);
const marks = async () => ({ test1: (await readdir(marks1)).filter((n) => !n.startsWith('fail-')).sort(), test2: (await readdir(marks2)).filter((n) => !n.startsWith('fail-')).sort() });
const journalLines = async () => (await readFile(journal, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
const currentGeneration = async () => (await readFile(path.join(env.DYSNOMIA_STATEDIR, 'deployments/apps/current'), 'utf8')).trim();

t.test('a first deployment activates every service where the distribution puts it, dependencies first', async (t) => {
  const result = await deployServices(first);
  t.equal(result.code, 0, result.stderr);
  t.same(await marks(), { test1: ['db', 'web'], test2: ['api', 'tool', 'web'] });
  const order = (await journalLines()).map((line) => line.split(' ').slice(0, 2).join(' '));
  t.ok(order.indexOf('activate db') < order.indexOf('activate api'), 'db before api (api dependsOn db)');
  t.ok(order.lastIndexOf('activate api') < order.indexOf('activate web'), 'api before web on both machines');
  t.match(events(result.stdout, 'transition'), [{ deactivate: [], unchanged: 0 }]);
  t.equal((events(result.stdout, 'transition')[0]!.activate as string[]).length, 5);
  t.equal(await currentGeneration(), '1', 'recorded as generation 1');
  const manifest = JSON.parse(await readFile(path.join(env.DYSNOMIA_STATEDIR, 'deployments/apps/1.json'), 'utf8')) as { storePaths: string[]; mappings: unknown[] };
  t.equal(manifest.mappings.length, 5);
  t.equal(manifest.storePaths.length, 4, 'one component per service, a GC root for the store');
  t.same((await readdir(path.join(state1, 'profiles'))).sort(), ['apps', 'apps-1-link'], 'the profile on the target switched');
  t.same(await readdir(path.join(state1, 'locks')), [], 'target lock released');
});

t.test('an identical redeploy touches nothing: no operation, no lock, no new generation', async (t) => {
  await rm(journal, { force: true });
  const result = await deployServices(first);
  t.equal(result.code, 0, result.stderr);
  t.same(steps(result.stdout), []);
  t.same(events(result.stdout, 'locked'), []);
  t.same(events(result.stdout, 'transferred'), []);
  t.same(await journalLines(), [], 'no wrapper ran');
  t.equal(await currentGeneration(), '1');
});

t.test('moving one service redeploys it and its dependants only', async (t) => {
  await rm(journal, { force: true });
  const moved = await distribution({ db: ['test1'], api: ['test1'], web: ['test1', 'test2'], tool: ['test2'] });
  const result = await deployServices(moved);
  t.equal(result.code, 0, result.stderr);
  const done = steps(result.stdout).filter((s) => !s.startsWith('lock') && !s.startsWith('unlock'));
  t.same(done.filter((s) => s.startsWith('deactivate')).sort(), ['deactivate api@test2', 'deactivate web@test1', 'deactivate web@test2']);
  t.same(done.filter((s) => s.startsWith('activate')).sort(), ['activate api@test1', 'activate web@test1', 'activate web@test2']);
  t.notOk(done.some((s) => s.includes('db@') || s.includes('tool@')), 'db and tool untouched');
  t.same(await marks(), { test1: ['api', 'db', 'web'], test2: ['tool', 'web'] });
  t.equal(await currentGeneration(), '2');
});

t.test('an activation failing half way rolls back to exactly the previous deployment', async (t) => {
  await writeServices({ api: 2, web: 2 });
  await writeFile(path.join(marks2, 'fail-web-v2'), '');
  t.teardown(() => rm(path.join(marks2, 'fail-web-v2'), { force: true }));
  const before = await marks();
  const result = await deployServices(await distribution({ db: ['test1'], api: ['test1'], web: ['test1', 'test2'], tool: ['test2'] }));
  t.equal(result.code, 1);
  t.match(result.stderr, /activating web on test2 \(container wrapper\) failed: .*status 3/);
  t.match(
    events(result.stdout, 'output').filter((e) => e.target === 'test2' && e.service === 'web').map((e) => e.line),
    [/web v2 cannot start: fail flag/],
    "the wrapper's own message, as an output event of the target and service",
  );
  t.notMatch(result.stderr, /fail flag/, 'said once: not repeated in the error');
  t.match(result.stderr, /rolled back to the previous deployment \(deployment generation 2\)/);
  t.same(await marks(), before, 'the same services active on both machines');
  t.equal((await readFile(path.join(marks1, 'api'), 'utf8')).trim(), 'v1', 'the old api runs again');
  t.equal((await readFile(path.join(marks1, 'web'), 'utf8')).trim(), 'v1');
  t.ok(steps(result.stdout).includes('activate api@test1 (undo)'), 'the old version reactivated as part of the rollback');
  t.equal(await currentGeneration(), '2', 'the recorded deployment did not change');
  t.same((await readdir(path.join(state1, 'profiles'))).sort(), ['apps', 'apps-1-link', 'apps-2-link'], 'no new profile generation');
  await writeServices();
});

t.test('a service refusing the lock stops the deploy with nothing changed; every service locked is unlocked again, on each target', async (t) => {
  await writeServices({ db: 2 });
  await writeFile(path.join(marks2, 'busy-tool'), '');
  t.teardown(() => rm(path.join(marks2, 'busy-tool'), { force: true }));
  await rm(journal, { force: true });
  const before = await marks();
  const result = await deployServices(await distribution({ db: ['test1'], api: ['test1'], web: ['test1', 'test2'], tool: ['test2'] }));
  t.equal(result.code, 1);
  t.match(result.stderr, /a service refused the lock, nothing changed: locking tool on test2 \(container wrapper\) failed: .*status 3/);
  t.same(events(result.stdout, 'output').filter((e) => e.service === 'tool' && e.action === 'lock').map((e) => e.line), ['tool is busy'], "the wrapper's own reason, named by its service");
  t.same(steps(result.stdout, 'failed'), ['lock tool@test2']);
  const lines = await journalLines();
  const asked = (operation: string) => lines.filter((l) => l.startsWith(`${operation} `)).map((l) => l.split(' ').slice(1).join(' ')).sort();
  t.same(lines.filter((l) => !/^(lock|unlock) /.test(l)), [], 'nothing activated or deactivated');
  t.ok(asked('lock').some((l) => l.startsWith('tool ')), 'the busy service was asked');
  for (const m of ['db', 'api', 'web']) t.ok(asked('lock').some((l) => l.startsWith(`${m} v1 `) && l.endsWith(marks1)), `${m} on test1 was asked to lock`);
  t.same(asked('unlock'), asked('lock').filter((l) => !l.startsWith('tool ')), 'every service that locked was unlocked, on both targets');
  t.same(await marks(), before);
  t.equal(await currentGeneration(), '2');
  t.same(await readdir(path.join(state1, 'locks')), [], 'the target locks were given back');
  t.same(await readdir(path.join(state2, 'locks')), []);
  await writeServices();
});

t.test('--dry-run prints the plan and changes nothing', async (t) => {
  await writeServices({ tool: 3 });
  const snapshot = async () => ({
    coordinator: await readdir(path.join(env.DYSNOMIA_STATEDIR, 'deployments/apps')),
    store1: await readdir(path.join(state1, 'store')),
    store2: await readdir(path.join(state2, 'store')),
    profiles2: await readdir(path.join(state2, 'profiles')),
    marks: await marks(),
  });
  const before = await snapshot();
  await rm(journal, { force: true });
  const dist = await distribution({ db: ['test1'], api: ['test1'], web: ['test1', 'test2'], tool: ['test2'] });
  const result = await deployServices(dist, ['--dry-run']);
  t.equal(result.code, 0, result.stderr);
  t.same(steps(result.stdout, 'planned'), ['deactivate tool@test2', 'activate tool@test2']);
  t.match(events(result.stdout, 'plan').find((e) => e.target === 'test2'), { missing: [/-tool-v3-s0$/] }, 'the new component would be sent to test2');
  t.same(await snapshot(), before);
  t.same(await journalLines(), [], 'no wrapper ran');
  const plain = await deploy(['-s', services, '-i', infrastructure, '-d', dist, '--profile', 'apps', '--dry-run']);
  t.match(plain.stdout, /test2: would deactivate tool in wrapper\ntest2: would activate tool in wrapper/);
  await writeServices();
});

t.test('a second deploy of the same profile is refused while one runs, naming the holder', async (t) => {
  await writeServices({ db: 2 }, 3);
  const dist = await distribution({ db: ['test1'], api: ['test1'], web: ['test1', 'test2'], tool: ['test2'] });
  let signalLocked: () => void = () => undefined;
  const locked = new Promise<void>((resolve) => (signalLocked = resolve));
  const running = dysnomiaStreaming(['deploy', '-s', services, '-i', infrastructure, '-d', dist, '--profile', 'apps', '--json'], env, (line) => {
    if (line.includes('"event":"locked"')) signalLocked();
  });
  await locked;
  const second = await deployServices(dist);
  t.equal(second.code, 1);
  t.match(second.stderr, new RegExp(`profile "apps" on this machine is locked by ${os.userInfo().username}@${os.hostname()} \\(pid \\d+\\) since .*another deployment is running`));
  const finished = await running;
  t.equal(finished.code, 0, finished.stderr);
  t.equal((await readFile(path.join(marks1, 'db'), 'utf8')).trim(), 'v2', 'the first deploy went through');
  await writeServices();
});

t.test("a deployment from another coordinator meets the target's lock, naming its holder", async (t) => {
  // The holder is this test process: alive, so the lock is not stale.
  const holder = { user: 'ops', host: os.hostname(), pid: process.pid, since: '2026-11-25T10:00:00.000Z' };
  await mkdir(path.join(state2, 'locks'), { recursive: true });
  await writeFile(path.join(state2, 'locks/profile-apps.json'), JSON.stringify(holder));
  t.teardown(() => rm(path.join(state2, 'locks/profile-apps.json'), { force: true }));
  await writeServices({ tool: 4 });
  const before = await marks();
  const dist = await distribution({ db: ['test1'], api: ['test1'], web: ['test1', 'test2'], tool: ['test2'] });
  const refused = await deployServices(dist, ['--break-stale-lock']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, `profile "apps" on target "test2" is locked by ops@${os.hostname()} (pid ${process.pid}) since 2026-11-25T10:00:00.000Z; another deployment is running`);
  t.same(await marks(), before, 'nothing deactivated or activated');
  t.same(await readdir(path.join(state1, 'locks')), [], "test1's lock, taken first, was given back");
  await writeServices();
});

t.test('a lock whose holder is provably gone is broken without a flag, and said; one from another machine only with --break-stale-lock', async (t) => {
  const lockFile = path.join(env.DYSNOMIA_STATEDIR, 'locks/profile-apps.json');
  const dist = await distribution({ db: ['test1'], api: ['test1'], web: ['test1', 'test2'], tool: ['test2'] });
  await writeFile(lockFile, JSON.stringify({ user: os.userInfo().username, host: os.hostname(), pid: 2 ** 22 + 12345, since: '2026-01-01T00:00:00.000Z' }));
  const gone = await deployServices(dist);
  t.equal(gone.code, 0, gone.stderr);
  t.match(events(gone.stdout, 'lock-broken'), [{ target: 'coordinator', profile: 'apps', holder: /pid 4206649\) since 2026-01-01T00:00:00.000Z/ }]);
  await t.rejects(readFile(lockFile), 'released after the deploy');

  await writeFile(lockFile, JSON.stringify({ user: 'someone', host: 'another-machine.example', pid: 4242, since: '2026-01-02T00:00:00.000Z' }));
  const refused = await deployServices(dist);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /is locked by someone@another-machine\.example \(pid 4242\) since 2026-01-02T00:00:00.000Z; if you know its holder is gone, pass --break-stale-lock to break it/);
  const broken = await deployServices(dist, ['--break-stale-lock']);
  t.equal(broken.code, 0, broken.stderr);
  await t.rejects(readFile(lockFile), 'released after the deploy');
});

t.test('--list-generations, --rollback and --switch-to-generation work on the recorded deployments', async (t) => {
  const listed = await deploy(['--profile', 'apps', '--list-generations', '--json']);
  t.equal(listed.code, 0, listed.stderr);
  const generations = events(listed.stdout, 'deployments')[0]!.generations as Array<{ generation: number; current: boolean }>;
  t.ok(generations.length >= 3);
  const current = generations.find((g) => g.current)!.generation;
  const rolled = await deploy(['--profile', 'apps', '--rollback', '--json']);
  t.equal(rolled.code, 0, rolled.stderr);
  t.equal(Number(await currentGeneration()), generations.filter((g) => g.generation < current).at(-1)!.generation);
  const back = await deploy(['--profile', 'apps', `--switch-to-generation=1`, '--json']);
  t.equal(back.code, 0, back.stderr);
  t.equal(await currentGeneration(), '1');
  t.same(await marks(), { test1: ['db', 'web'], test2: ['api', 'tool', 'web'] }, 'generation 1 placement again');
});

t.test('--undeploy leaves nothing activated and empty profiles', async (t) => {
  const result = await deploy(['--profile', 'apps', '--undeploy', '--json']);
  t.equal(result.code, 0, result.stderr);
  t.same(await marks(), { test1: [], test2: [] });
  t.same(events(result.stdout, 'step').filter((e) => e.action === 'activate'), []);
  t.same(await readdir(path.join(state1, 'profiles/apps/')).catch(() => []), [], "test1's profile is empty");
  const again = await deploy(['--profile', 'apps', '--undeploy', '--json']);
  t.equal(again.code, 0, again.stderr);
  t.same(steps(again.stdout), [], 'undeploying twice does nothing');
});
