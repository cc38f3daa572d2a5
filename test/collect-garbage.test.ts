import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia } from './helpers/cli.js';
import { parseEvents, sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';
import { waitFor } from './helpers/fixtures.js';
import { freePort } from './helpers/ports.js';

// `dysnomia collect-garbage -i` over two simulated machines (sshd on 127.0.0.1): what goes from
// each target's store and what stays, and a collection while a deployment is held between its
// transfer and its profile switch. The first deploy builds the runtime: minutes on a loaded machine.
t.setTimeout(900_000);
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-collect-garbage-');
const marks1 = path.join(dir, 'machines/test1/marks');
const marks2 = path.join(dir, 'machines/test2/marks');
await mkdir(marks1, { recursive: true });
await mkdir(marks2, { recursive: true });
const target = (host: typeof test1, state: string, marks: string) => ({ ...sshTarget(host, knownHosts, state), containers: { wrapper: { marks } } });
const infrastructure = path.join(dir, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: target(test1, state1, marks1), test2: target(test2, state2, marks2) }, null, 2));

const project = path.join(dir, 'project');
/** A wrapper service whose activation writes its version to `<marks>/<name>`. */
async function wrapperService(name: string, version: number): Promise<string> {
  const folder = path.join(project, `${name}-v${version}`);
  await writeProgram(path.join(folder, 'bin/wrapper'), `#!/bin/sh\ncase "$1" in\n  activate) echo v${version} > "$marks/${name}" ;;\n  deactivate) rm -f "$marks/${name}" ;;\nesac\n`);
  return folder;
}
const services = path.join(project, 'services.mjs');
async function writeServices(versions: { db: number; api: number }): Promise<void> {
  const db = JSON.stringify(await wrapperService('db', versions.db));
  const api = JSON.stringify(await wrapperService('api', versions.api));
  await writeFile(services, `export default () => ({ db: { pkg: ${db}, type: 'wrapper' }, api: { pkg: ${api}, type: 'wrapper' } });\n`);
}
const distribution = path.join(project, 'distribution.json');
await mkdir(project, { recursive: true });
await writeFile(distribution, JSON.stringify({ db: ['test1'], api: ['test2'] }));

const deploy = (extraEnv: Record<string, string> = {}) => dysnomia(['deploy', '-s', services, '-i', infrastructure, '-d', distribution, '--profile', 'apps', '--json'], { env: { ...env, ...extraEnv } });
const collect = (args: string[] = []) => dysnomia(['collect-garbage', '-i', infrastructure, '--json', ...args], { env });
const entries = async (state: string) => (await readdir(path.join(state, 'store')).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
/** The store entry of a component folder, by the name after its hash. */
const entryOf = async (state: string, name: string) => (await entries(state)).find((e) => e.replace(/^[^-]+-/, '') === name);
const runtimeEntries = async (state: string) => (await entries(state)).filter((e) => /-(npm-|dysnomia-runtime)/.test(e));
const collected = (stdout: string) => new Map(parseEvents(stdout).filter((e) => e.event === 'collected').map((e) => [e.target as string, e]));
/** Puts an entry no profile or record refers to into a target's store. */
async function strayEntry(state: string, name: string): Promise<string> {
  const folder = path.join(project, name);
  await writeProgram(path.join(folder, 'bin/stray'), '#!/bin/sh\necho stray\n');
  const added = await dysnomia(['store', '--add', folder], { env: { DYSNOMIA_STATEDIR: state } });
  if (added.code !== 0) throw new Error(added.stderr);
  return path.basename(added.stdout.trim());
}

t.test('collect-garbage -i removes only unreferenced entries; -d drops old generations and what only they held', async (t) => {
  await writeServices({ db: 1, api: 1 });
  const first = await deploy();
  t.equal(first.code, 0, first.stderr);
  await writeServices({ db: 1, api: 2 });
  const second = await deploy();
  t.equal(second.code, 0, second.stderr);
  const api1 = await entryOf(state2, 'api-v1');
  const api2 = await entryOf(state2, 'api-v2');
  const db1 = await entryOf(state1, 'db-v1');
  t.ok(api1 && api2 && db1, 'the components are in the targets\' stores');
  const stray1 = await strayEntry(state1, 'stray-one');
  const runtime1 = await runtimeEntries(state1);
  const runtime2 = await runtimeEntries(state2);
  t.ok(runtime1.length > 0 && runtime2.length > 0, 'the targets run a runtime from their stores');

  const plain = await collect();
  t.equal(plain.code, 0, plain.stderr);
  const summary = collected(plain.stdout);
  t.same(summary.get('test1')?.removed, [stray1], 'test1: only the stray entry goes');
  t.ok((summary.get('test1')?.bytes as number) > 0, 'the bytes freed are counted');
  t.same(summary.get('test2')?.removed, [], 'test2: api v1 stays while an old generation refers to it');
  t.notOk((await entries(state1)).includes(stray1));
  t.ok((await entries(state2)).includes(api1!));
  t.same(await runtimeEntries(state1), runtime1, 'the runtime stays');

  const deleting = await collect(['-d']);
  t.equal(deleting.code, 0, deleting.stderr);
  const after = collected(deleting.stdout);
  const removed2 = after.get('test2')?.removed as string[];
  t.same(removed2.filter((e) => !e.endsWith('-profile')), [api1], 'test2: api v1 goes with the generation that held it');
  t.equal(removed2.filter((e) => e.endsWith('-profile')).length, 1, 'and the profile tree of that generation');
  t.same(after.get('test2')?.generations, [{ profile: 'apps', deleted: [1] }]);
  t.same((await readdir(path.join(state2, 'profiles'))).sort(), ['apps', 'apps-2-link'], 'only the current generation is left');
  t.ok((await entries(state2)).includes(api2!), 'the current profile\'s entries stay');
  t.ok((await entries(state1)).includes(db1!));
  t.same(await runtimeEntries(state1), runtime1, 'the runtime stays on test1');
  t.same(await runtimeEntries(state2), runtime2, 'the runtime stays on test2');
  t.equal((await readFile(path.join(marks2, 'api'), 'utf8')).trim(), 'v2', 'nothing that runs was touched');

  const text = await dysnomia(['collect-garbage', '-i', infrastructure], { env });
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /test2: removed 0 entries, freed 0 B/);
});

t.test('a collection while a deployment is held between transfer and switch keeps what the deployment sent', async (t) => {
  await writeServices({ db: 1, api: 3 });
  const release = path.join(dir, 'go-on');
  const held = deploy({ DYSNOMIA_TEST_PAUSE: `after-transfer:${release}` });
  await waitFor(() => access(`${release}.reached`).then(() => true, () => false), 'the deployment to reach its pause after the transfer');
  const api3 = await entryOf(state2, 'api-v3');
  t.ok(api3, 'api v3 was sent to test2');
  t.same((await readdir(path.join(state2, 'profiles'))).sort(), ['apps', 'apps-2-link'], 'not in a profile yet');
  const stray2 = await strayEntry(state2, 'stray-two');

  const during = await collect(['-d']);
  t.equal(during.code, 0, during.stderr);
  const summary = collected(during.stdout).get('test2');
  t.same(summary?.removed, [stray2], 'the collection runs and removes real garbage');
  t.match(summary?.lockedProfiles, [{ profile: 'apps' }], 'the generations of the profile being deployed are left alone');
  t.ok((await entries(state2)).includes(api3!), 'what the deployment sent stays');

  await writeFile(release, '');
  const result = await held;
  t.equal(result.code, 0, result.stderr);
  t.equal((await readFile(path.join(marks2, 'api'), 'utf8')).trim(), 'v3');
  const verify = await dysnomia(['store', '--verify', api3!], { env: { DYSNOMIA_STATEDIR: state2 } });
  t.equal(verify.code, 0, `api v3 is intact: ${verify.stdout}${verify.stderr}`);
  t.same((await readdir(path.join(state2, 'profiles'))).sort(), ['apps', 'apps-2-link', 'apps-3-link']);
  t.same(await readdir(path.join(state2, 'store-holds')), [], 'the deployment gave its hold back');
});

t.test('a killed deployment holds nothing: a collection then takes what it sent, and a re-run converges', async (t) => {
  await writeServices({ db: 1, api: 4 });
  const killed = await deploy({ DYSNOMIA_TEST_FAULT: 'kill:after-transfer' });
  t.not(killed.code, 0, 'the coordinator was killed after the transfer');
  const api4 = await entryOf(state2, 'api-v4');
  t.ok(api4, 'api v4 was sent before the kill');
  // The agent on test2 ends with its SSH channel and gives its hold back (a hold of a dead process would count for nothing anyway).
  await waitFor(async () => (await readdir(path.join(state2, 'store-holds')).catch(() => [] as string[])).length === 0, "the killed deployment's hold to go");
  const after = await collect();
  t.equal(after.code, 0, after.stderr);
  t.ok((collected(after.stdout).get('test2')?.removed as string[]).includes(api4!), 'what was sent but never switched to is garbage now');
  t.notOk((await entries(state2)).includes(api4!));
  t.equal((await readFile(path.join(marks2, 'api'), 'utf8')).trim(), 'v3', 'what runs was not touched');

  const again = await deploy();
  t.equal(again.code, 0, again.stderr);
  t.equal((await readFile(path.join(marks2, 'api'), 'utf8')).trim(), 'v4', 'the re-run sends it again and deploys');
});

t.test('a target that cannot be reached is named (exit status 1); the others are collected', async (t) => {
  const stray = await strayEntry(state1, 'stray-three');
  const withGone = path.join(dir, 'infrastructure-gone.json');
  const model = JSON.parse(await readFile(infrastructure, 'utf8')) as Record<string, { properties: Record<string, unknown> }>;
  const gone = { ...model.test2!, properties: { ...model.test2!.properties, sshPort: await freePort() } };
  await writeFile(withGone, JSON.stringify({ test1: model.test1, gone }));
  const result = await dysnomia(['collect-garbage', '-i', withGone, '--json'], { env });
  t.equal(result.code, 1, result.stderr);
  t.match(result.stderr, 'target "gone"');
  t.same(collected(result.stdout).get('test1')?.removed, [stray], 'test1 was collected');
  t.notOk((await entries(state1)).includes(stray));
});

t.test('collect-garbage -i: bad usage exits 2', async (t) => {
  const noModel = await dysnomia(['collect-garbage', '-i', path.join(dir, 'nope.json')], { env });
  t.equal(noModel.code, 2);
  t.match(noModel.stderr, 'nope.json');
  const profileAlone = await collect(['-p', 'apps']);
  t.equal(profileAlone.code, 2);
  t.match(profileAlone.stderr, '--profile');
  t.notMatch(profileAlone.stderr, /^\s+at /m);
});
