import { mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { sshTarget, writeProgram } from './helpers/deploy-fixtures.js';
import { startSshd } from './helpers/sshd.js';

// deploy's Disnix switches (--no-lock, --no-upgrade, --no-target-profiles, --extra-params) over one
// simulated machine (sshd on 127.0.0.1). Wrapper services write what they are asked into a journal,
// so each assertion reads what really ran on the target.
t.setTimeout(600_000);
const dir = await tempDir(t, 'dysnomia-deploy-switches-');
const env = { DYSNOMIA_STATEDIR: path.join(dir, 'coordinator') };
const knownHosts = path.join(dir, 'known_hosts');
const test1 = await startSshd(t, { knownHosts });
const state1 = path.join(dir, 'machines/test1/state');
const marks = path.join(dir, 'machines/test1/marks');
const journal = path.join(dir, 'journal');
const project = path.join(dir, 'project');
await mkdir(marks, { recursive: true });
await mkdir(project, { recursive: true });

// The infrastructure model is a function: --extra-params reaches it (the greeting becomes a container property).
const infrastructure = path.join(project, 'infrastructure.mjs');
const target = sshTarget(test1, knownHosts, state1);
await writeFile(
  infrastructure,
  `export default ({ greeting = 'hello' }) => ({ test1: { ...${JSON.stringify(target)}, containers: { wrapper: { marks: ${JSON.stringify(marks)}, journal: ${JSON.stringify(journal)}, greeting } } } });\n`,
);

/** A wrapper service: every operation is journaled; activate writes "<greeting> v<version>" to marks/<name>. */
async function wrapperService(name: string, version: number): Promise<string> {
  const folder = path.join(project, `${name}-v${version}`);
  await writeProgram(
    path.join(folder, 'bin/wrapper'),
    `#!/bin/sh
echo "$1 ${name} v${version}" >> "$journal"
case "$1" in
  activate) echo "$greeting v${version}" > "$marks/${name}" ;;
  deactivate) rm -f "$marks/${name}" ;;
esac
`,
  );
  return folder;
}
// The services model is a function too: --extra-params chooses svc's version.
const services = path.join(project, 'services.mjs');
const versions: Record<number, string> = {};
for (const version of [1, 2, 3, 4]) versions[version] = await wrapperService('svc', version);
const other = await wrapperService('other', 1);
await writeFile(
  services,
  `const versions = ${JSON.stringify(versions)};
export default ({ svcVersion = 1 }) => ({ svc: { pkg: versions[svcVersion], type: 'wrapper' }, other: { pkg: ${JSON.stringify(other)}, type: 'wrapper' } });
`,
);
const distribution = path.join(project, 'distribution.json');
await writeFile(distribution, JSON.stringify({ svc: ['test1'], other: ['test1'] }));

const deploy = (args: string[] = []) => dysnomia(['deploy', '-s', services, '-i', infrastructure, '-d', distribution, '--profile', 'apps', ...args], { env });
const journalLines = async () => (await readFile(journal, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
const mark = async (name: string) => (await readFile(path.join(marks, name), 'utf8')).trim();
const profileLink = () => readlink(path.join(state1, 'profiles/apps'));
const extra = (value: unknown) => `--extra-params=${JSON.stringify(value)}`;

t.test('--extra-params reaches the model functions', async (t) => {
  const first = await deploy([extra({ greeting: 'hi', svcVersion: 1 })]);
  t.equal(first.code, 0, first.stderr);
  t.equal(await mark('svc'), 'hi v1', 'the infrastructure function got the greeting, the services function the version');
  t.equal(await mark('other'), 'hi v1');
  const second = await deploy([extra({ greeting: 'hi', svcVersion: 2 })]);
  t.equal(second.code, 0, second.stderr);
  t.equal(await mark('svc'), 'hi v2');
});

t.test('--extra-params with bad JSON is bad usage naming the argument, and nothing changes', async (t) => {
  await rm(journal, { force: true });
  const before = await profileLink();
  for (const bad of ['{"greeting": ', '[1, 2]', '"hi"']) {
    const result = await deploy([`--extra-params=${bad}`]);
    t.equal(result.code, 2, bad);
    t.match(result.stderr, '--extra-params');
    t.notMatch(result.stderr, /^\s+at /m);
  }
  t.same(await journalLines(), [], 'no operation ran');
  t.equal(await profileLink(), before);
  const withoutModels = await dysnomia(['deploy', '--profile', 'apps', '--rollback', extra({ a: 1 })], { env });
  t.equal(withoutModels.code, 2);
  t.match(withoutModels.stderr, '--extra-params');
});

t.test('a transition asks the running services to lock and unlock; --no-lock does not', async (t) => {
  await rm(journal, { force: true });
  const locking = await deploy([extra({ greeting: 'hi', svcVersion: 3 })]);
  t.equal(locking.code, 0, locking.stderr);
  const lines = await journalLines();
  t.ok(lines.includes('lock svc v2') && lines.includes('lock other v1'), `the running services were asked to lock: ${lines.join(', ')}`);
  t.ok(lines.includes('unlock other v1'), 'and the one that stays to unlock');

  await rm(journal, { force: true });
  const unlocked = await deploy([extra({ greeting: 'hi', svcVersion: 4 }), '--no-lock']);
  t.equal(unlocked.code, 0, unlocked.stderr);
  const after = await journalLines();
  t.same(after.filter((line) => /^(lock|unlock) /.test(line)), [], `no lock or unlock asked: ${after.join(', ')}`);
  t.same(after.sort(), ['activate svc v4', 'deactivate svc v3']);
  t.equal(await mark('svc'), 'hi v4');
});

t.test('--no-target-profiles leaves the target profile as it is; a plain redeploy then switches it', async (t) => {
  const before = await profileLink();
  const generations = (await readdir(path.join(state1, 'profiles'))).sort();
  const result = await deploy([extra({ greeting: 'hey', svcVersion: 1 }), '--no-target-profiles']);
  t.equal(result.code, 0, result.stderr);
  t.equal(await mark('svc'), 'hey v1', 'the services were deployed');
  t.equal(await profileLink(), before, 'the profile still points where it did');
  t.same((await readdir(path.join(state1, 'profiles'))).sort(), generations, 'no new generation on the target');
  const plain = await deploy([extra({ greeting: 'hey', svcVersion: 1 })]);
  t.equal(plain.code, 0, plain.stderr);
  t.not(await profileLink(), before, 'the profile switches on a deploy without the switch');
});

t.test('--no-upgrade activates every mapping of the new deployment and deactivates nothing', async (t) => {
  await rm(journal, { force: true });
  const unchanged = await deploy([extra({ greeting: 'hey', svcVersion: 1 })]);
  t.equal(unchanged.code, 0, unchanged.stderr);
  t.same(await journalLines(), [], 'an identical redeploy runs nothing');
  const result = await deploy([extra({ greeting: 'hey', svcVersion: 2 }), '--no-upgrade', '--no-lock']);
  t.equal(result.code, 0, result.stderr);
  t.same((await journalLines()).sort(), ['activate other v1', 'activate svc v2'], 'both activated, svc v1 not deactivated');
  t.equal(await mark('svc'), 'hey v2');
});

t.test('the switches go with deployments of services only', async (t) => {
  const packages = path.join(project, 'packages.json');
  await writeFile(packages, JSON.stringify({ test1: [] }));
  for (const flag of ['--no-lock', '--no-upgrade', '--no-target-profiles']) {
    const result = await dysnomia(['deploy', '-i', infrastructure, '-P', packages, flag], { env });
    t.equal(result.code, 2, flag);
    t.match(result.stderr, flag);
  }
});
