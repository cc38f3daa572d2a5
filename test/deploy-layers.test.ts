import { access, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia } from './helpers/cli.js';
import { parseEvents, sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';

// Containers as services over sshd machines: a first profile installs a component that
// provides a container and a Dysnomia executable module; a second profile deploys a
// service of that module's type into that container. Also: providesContainers within
// one deployment, a service refusing the lock, and deleting recorded generations.
t.setTimeout(600_000);
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-layers-');
const out = path.join(dir, 'out');
const infrastructure = path.join(dir, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test2: sshTarget(test2, knownHosts, state2) }, null, 2));

const project = path.join(dir, 'project');
// The container component: a wrapper that does nothing, a container "greeter" and the module "greeting".
await writeProgram(path.join(project, 'greeter-host/bin/wrapper'), '#!/bin/sh\nexit 0\n');
await writeProgram(
  path.join(project, 'greeter-host/etc/dysnomia/containers/greeter'),
  `# provided by the greeter-host service\ngreeting="hello from the profile"\noutDir=${out}\n`,
);
await writeProgram(
  path.join(project, 'greeter-host/etc/dysnomia/modules/greeting'),
  `#!/bin/sh
# A Dysnomia executable module: operation, component, container; properties in the environment.
set -e
mkdir -p "$outDir"
case "$1" in
  activate) echo "$greeting: $(cat "$2/name")" > "$outDir/$(cat "$2/name")" ;;
  deactivate) rm -f "$outDir/$(cat "$2/name")" ;;
esac
`,
);
await writeProgram(path.join(project, 'alice/name'), 'alice\n');
// A wrapper service that reads the container it was deployed into, and may refuse the lock.
await writeProgram(
  path.join(project, 'item/bin/wrapper'),
  `#!/bin/sh
case "$1" in
  activate) mkdir -p "${out}" && echo "item sees: $shelfLabel" > "${out}/item" ;;
  deactivate) rm -f "${out}/item" ;;
  lock) [ -e "${out}/busy" ] && { echo "item is busy" >&2; exit 1; } ;;
esac
exit 0
`,
);
await writeProgram(path.join(project, 'box/bin/wrapper'), '#!/bin/sh\nexit 0\n');
await writeProgram(path.join(project, 'item-v2/bin/wrapper'), '#!/bin/sh\nexit 0\n');

const write = async (name: string, value: unknown) => {
  const file = path.join(project, name);
  await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
};
const deploy = (args: string[]) => dysnomia(['deploy', '-i', infrastructure, ...args], { env });
const events = (stdout: string, name: string) => parseEvents(stdout).filter((e) => e.event === name);

t.test('a module and a container provided by one profile serve a service of another profile', async (t) => {
  const containers = await deploy(['-s', await write('services-containers.json', { 'greeter-host': { pkg: './greeter-host', type: 'wrapper' } }), '-d', await write('distribution-containers.json', { 'greeter-host': ['test1'] }), '--profile', 'containers', '--json']);
  t.equal(containers.code, 0, containers.stderr);
  await access(path.join(state1, 'profiles/containers/etc/dysnomia/modules/greeting'));

  const services = await deploy(['-s', await write('services.json', { alice: { pkg: './alice', type: 'greeting' } }), '-d', await write('distribution.json', { alice: { targets: [{ target: 'test1', container: 'greeter' }] } }), '--profile', 'services', '--json']);
  t.equal(services.code, 0, services.stderr);
  t.equal(await readFile(path.join(out, 'alice'), 'utf8'), 'hello from the profile: alice\n', "the profile's module ran with the profile's container properties");

  const undeployed = await dysnomia(['deploy', '--profile', 'services', '--undeploy'], { env });
  t.equal(undeployed.code, 0, undeployed.stderr);
  await t.rejects(access(path.join(out, 'alice')), 'the module deactivated it');
});

t.test('a container a service provides in the same deployment reaches what is deployed into it', async (t) => {
  const services = await write(
    'services-provided.mjs',
    `export default () => {
  const box = { pkg: './box', type: 'wrapper', providesContainers: { shelf: { shelfLabel: 'made by box' } } };
  return { box, item: { pkg: './item', type: 'wrapper', dependsOn: { box } } };
};
`,
  );
  const distribution = await write('distribution-provided.json', { box: ['test2'], item: { targets: [{ target: 'test2', container: 'shelf' }] } });
  const result = await deploy(['-s', services, '-d', distribution, '--profile', 'provided', '--json']);
  t.equal(result.code, 0, result.stderr);
  t.equal(await readFile(path.join(out, 'item'), 'utf8'), 'item sees: made by box\n');
});

t.test("a service refusing the lock stops the deploy before anything changes", async (t) => {
  await writeFile(path.join(out, 'busy'), '');
  t.teardown(() => rm(path.join(out, 'busy'), { force: true }));
  const services = await write(
    'services-provided-v2.mjs',
    `export default () => {
  const box = { pkg: './box', type: 'wrapper', providesContainers: { shelf: { shelfLabel: 'made by box' } } };
  return { box, item: { pkg: './item-v2', type: 'wrapper', dependsOn: { box } } };
};
`,
  );
  const generations = await readdir(path.join(state2, 'profiles'));
  const result = await deploy(['-s', services, '-d', path.join(project, 'distribution-provided.json'), '--profile', 'provided', '--json']);
  t.equal(result.code, 1);
  t.match(result.stderr, /a service refused the lock, nothing changed: locking item on test2 \(container shelf\) failed: plugin "@dysnomia\/plugin-wrapper" failed in lock/);
  t.match(
    events(result.stdout, 'output').filter((e) => e.service === 'item' && e.action === 'lock').map((e) => e.line),
    ['item is busy'],
    "the wrapper's own reason, from the target",
  );
  t.same(events(result.stdout, 'step').filter((e) => e.action === 'deactivate' || e.action === 'activate'), [], 'nothing deactivated or activated');
  t.equal(await readFile(path.join(out, 'item'), 'utf8'), 'item sees: made by box\n', 'the old item still runs');
  t.same(await readdir(path.join(state2, 'profiles')), generations);
  t.same(await readdir(path.join(state2, 'locks')), [], 'the target lock was given back');

  await rm(path.join(out, 'busy'));
  const retried = await deploy(['-s', services, '-d', path.join(project, 'distribution-provided.json'), '--profile', 'provided', '--json']);
  t.equal(retried.code, 0, retried.stderr);
  await t.rejects(access(path.join(out, 'item')), 'the new item (which writes nothing) replaced the old one');
});

t.test('--delete-generations removes recorded deployments, never the current one', async (t) => {
  const list = async () => (events((await dysnomia(['deploy', '--profile', 'provided', '--list-generations', '--json'], { env })).stdout, 'deployments')[0]!.generations as Array<{ generation: number; current: boolean }>);
  t.same((await list()).map((g) => [g.generation, g.current]), [[1, false], [2, true]]);
  const refused = await dysnomia(['deploy', '--profile', 'provided', '--delete-generations', '2'], { env });
  t.equal(refused.code, 2);
  t.match(refused.stderr, /generation 2 is the current deployment of profile "provided"/);
  const deleted = await dysnomia(['deploy', '--profile', 'provided', '--delete-generations', 'old', '--json'], { env });
  t.equal(deleted.code, 0, deleted.stderr);
  t.match(events(deleted.stdout, 'deleted'), [{ generations: [1] }]);
  t.same((await list()).map((g) => g.generation), [2]);
  t.same((await readdir(path.join(env.DYSNOMIA_STATEDIR, 'deployments/provided'))).sort(), ['2.json', 'current']);
});
