import { access, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, REPO_ROOT } from './helpers/cli.js';
import { packageFolder, parseEvents, sshRun, sshTarget, twoMachines } from './helpers/deploy-fixtures.js';

// Two simulated machines (sshd on 127.0.0.1), services of type package distributed to them with -s/-d.
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-deploy-services-');
const infra1 = sshTarget(test1, knownHosts, state1);
const infrastructure = path.join(dir, 'infrastructure.json');
// Both addresses are 127.0.0.1: a property the dependants read tells the machines apart.
const infra2 = sshTarget(test2, knownHosts, state2);
(infra1.properties as Record<string, unknown>).publicName = 'test1.example';
(infra2.properties as Record<string, unknown>).publicName = 'test2.example';
await writeFile(infrastructure, JSON.stringify({ test1: infra1, test2: infra2 }, null, 2));

const project = path.join(dir, 'project');
await packageFolder(path.join(project, 'pkgs/hello'), 'hello', 'hello from a service');
await packageFolder(path.join(project, 'pkgs/tool'), 'tool', 'a tool');
const componentModule = path.join(REPO_ROOT, 'packages/engine/dist/index.js');
const services = path.join(project, 'services.mjs');
await writeFile(
  services,
  `import { component } from ${JSON.stringify(componentModule)};
import { chmod, mkdir, writeFile } from 'node:fs/promises';
export default ({ distribution, invDistribution, system }) => {
  const services = {
    hello: { name: 'hello', pkg: './pkgs/hello', type: 'package' },
    api: { name: 'api', pkg: './pkgs/tool', type: 'package', apiPort: 8123 },
    client: {
      name: 'client',
      type: 'package',
      pkg: ({ api }) => component({
        name: 'client',
        inputs: { url: 'http://' + api.target.properties.publicName + ':' + api.apiPort + '/' },
        async build(out, { url }) {
          await mkdir(out + '/bin');
          await writeFile(out + '/bin/client', '#!/bin/sh\\necho "client of ' + url + '"\\n');
          await chmod(out + '/bin/client', 0o755);
        },
      }),
    },
  };
  services.client.dependsOn = { api: services.api };
  return services;
};
`,
);
const distribution = path.join(project, 'distribution.mjs');
await writeFile(distribution, `export default ({ infrastructure }) => ({ hello: [infrastructure.test1, infrastructure.test2], api: [infrastructure.test2], client: { targets: [{ target: infrastructure.test1 }] } });\n`);

const deploy = (args: string[]) => dysnomia(['deploy', '-i', infrastructure, ...args], { env });
const events = (stdout: string, name: string, target?: string) => parseEvents(stdout).filter((e) => e.event === name && (target === undefined || e.target === target));

t.test('services of type package reach the targets they are distributed to, runnable from the profile', async (t) => {
  const result = await deploy(['-s', services, '-d', distribution, '--profile', 'services', '--json']);
  t.equal(result.code, 0, result.stderr);
  t.match(events(result.stdout, 'start'), [{ profile: 'services', targets: ['test1', 'test2'] }]);
  t.match(events(result.stdout, 'transferred', 'test1'), [{ entries: 2 }], 'test1: hello and client');
  t.match(events(result.stdout, 'transferred', 'test2'), [{ entries: 2 }], 'test2: hello and api');
  t.match(events(result.stdout, 'profile'), [{ profile: 'services', generation: 1, changed: true }, { profile: 'services', generation: 1, changed: true }]);
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/services/bin/hello`), 'hello from a service\n');
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/services/bin/hello`), 'hello from a service\n', 'one service on both targets');
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/services/bin/tool`), 'a tool\n');
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/services/bin/client`), 'client of http://test2.example:8123/\n', "the dependency's target property baked into the package");
  await t.rejects(access(path.join(state1, 'profiles/services/bin/tool')), 'api is only on test2');
  await t.rejects(access(path.join(state2, 'profiles/services/bin/client')), 'client is only on test1');
});

t.test('a redeploy sends nothing and makes no generation', async (t) => {
  const result = await deploy(['-s', services, '-d', distribution, '--profile', 'services', '--json']);
  t.equal(result.code, 0, result.stderr);
  t.same(events(result.stdout, 'transferred'), [], 'no component sent');
  t.same(events(result.stdout, 'bootstrap'), [], 'the engine is there already');
  t.match(events(result.stdout, 'profile'), [{ generation: 1, changed: false }, { generation: 1, changed: false }]);
  t.same((await readdir(path.join(state1, 'profiles'))).sort(), ['services', 'services-1-link']);
});

t.test('--profile keeps the services apart from a -P deployment', async (t) => {
  const packages = path.join(project, 'packages.json');
  await writeFile(packages, JSON.stringify({ test1: ['./pkgs/tool'] }));
  const result = await deploy(['-P', packages, '--json']);
  t.equal(result.code, 0, result.stderr);
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/default/bin/tool`), 'a tool\n');
  await t.rejects(access(path.join(state1, 'profiles/default/bin/hello')), 'the default profile has only the -P package');
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/services/bin/client`), 'client of http://test2.example:8123/\n', 'services profile untouched');
  await t.rejects(access(path.join(state1, 'profiles/services/bin/tool')));

  const listed = await deploy(['-s', services, '-d', distribution, '--profile', 'services', '--list-generations', '--json']);
  t.equal(listed.code, 0, listed.stderr);
  t.match(events(listed.stdout, 'deployments'), [{ profile: 'services', generations: [{ generation: 1, current: true, targets: ['test1', 'test2'] }] }], "the coordinator's recorded deployments of the profile");
});

t.test('a moved dependency rebuilds its dependant with the new target property', async (t) => {
  const moved = path.join(project, 'distribution-moved.json');
  await writeFile(moved, JSON.stringify({ hello: ['test1', 'test2'], api: ['test1'], client: ['test1'] }));
  const result = await deploy(['-s', services, '-d', moved, '--profile', 'services', '--json']);
  t.equal(result.code, 0, result.stderr);
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/services/bin/client`), 'client of http://test1.example:8123/\n', 'the pkg function saw the new target');
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/services/bin/tool`), 'a tool\n', 'api now on test1');
  t.match(events(result.stdout, 'profile', 'test1'), [{ generation: 2, changed: true }]);
});

t.test('a missing package folder: exit status 2 naming it, nothing sent or switched', async (t) => {
  const missing = path.join(project, 'services-missing.json');
  await writeFile(missing, JSON.stringify({ hello: { pkg: './pkgs/not-there', type: 'package' } }));
  const dist = path.join(project, 'distribution-missing.yaml');
  await writeFile(dist, 'hello: [test1, test2]\n');
  const before = await readdir(path.join(state2, 'store'));
  const result = await deploy(['-s', missing, '-d', dist, '--profile', 'services']);
  t.equal(result.code, 2);
  t.match(result.stderr, /pkgs\/not-there/);
  t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
  t.same(await readdir(path.join(state2, 'store')), before, "nothing sent to test2's store");
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/services/bin/hello`), 'hello from a service\n', 'profile unchanged');
});

t.test('a service of a type nothing serves: refused while planning with exit status 2 naming service, type and target; nothing sent', async (t) => {
  const withUnknown = path.join(project, 'services-unknown.json');
  await writeFile(withUnknown, JSON.stringify({ hello: { pkg: './pkgs/hello-v2', type: 'package' }, staff: { pkg: './pkgs/tool', type: 'no-such-type' } }));
  await packageFolder(path.join(project, 'pkgs/hello-v2'), 'hello', 'hello, version two');
  const dist = path.join(project, 'distribution-unknown.yaml');
  await writeFile(dist, 'hello: [test1, test2]\nstaff:\n  targets:\n    - target: test2\n      container: mysql-test\n');
  const generationsBefore = await readdir(path.join(state2, 'profiles'));
  const storeBefore = await readdir(path.join(state2, 'store'));
  const result = await deploy(['-s', withUnknown, '-d', dist, '--profile', 'services']);
  t.equal(result.code, 2);
  t.match(result.stderr, /no plugin or module serves the type of:\n {2}- service "staff" \(type "no-such-type"\) on target "test2"/);
  t.match(result.stderr, /Install a plugin for the type here \(npm install dysnomia-plugin-TYPE/, 'says how a type reaches a target');
  t.same(await readdir(path.join(state2, 'store')), storeBefore, "nothing sent to test2's store");
  t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
  t.same(await readdir(path.join(state2, 'profiles')), generationsBefore, 'no new profile generation');
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/services/bin/hello`), 'hello from a service\n', 'profile unchanged');
});

t.test('bad usage and bad models: exit status 2 naming the argument or the file and line', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['-s', services], /-s SERVICES needs -d DISTRIBUTION/],
    [['-d', distribution], /-d DISTRIBUTION needs -s SERVICES/],
    [['-s', services, '-d', distribution, '-P', path.join(project, 'packages.json')], /-P PACKAGES goes without -s SERVICES and -d DISTRIBUTION/],
  ];
  const unknownTarget = path.join(project, 'distribution-bad.json');
  await writeFile(unknownTarget, '{\n  "hello": ["test1"],\n  "api": ["test3"]\n}\n');
  cases.push([['-s', services, '-d', unknownTarget], /distribution-bad\.json:3: service "api": target "test3" is not a target of the infrastructure model/]);
  const unknownService = path.join(project, 'distribution-unknown.yaml');
  await writeFile(unknownService, 'hello: [test1]\nhelo: [test2]\n');
  cases.push([['-s', services, '-d', unknownService], /distribution-unknown\.yaml:2: service "helo" is not in the services model/]);
  for (const [args, message] of cases) {
    const result = await deploy(args);
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, message);
    t.notMatch(result.stderr, /^\s+at /m);
  }
});
