import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, REPO_ROOT } from './helpers/cli.js';
import { npmTarball, parseEvents, sshRun, sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';

// Two simulated machines (sshd on 127.0.0.1). Each build records where it ran: DYSNOMIA_STATEDIR is
// the target's state folder on a target and the coordinator's here, so the folders tell them apart.
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-build-on-targets-');
const coordinatorState = env.DYSNOMIA_STATEDIR;
const infrastructure = path.join(dir, 'infrastructure.json');
// test2 says it is another system than this machine: builds for it are delegated to it.
await writeFile(infrastructure, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test2: { ...sshTarget(test2, knownHosts, state2), system: 'riscv64-linux' } }, null, 2));

const project = path.join(dir, 'project');
const componentModule = path.join(REPO_ROOT, 'packages/engine/dist/index.js');
const marks = path.join(dir, 'marks');

/** A wrapper service whose activation leaves a mark: proof of what was (not) activated. */
const wrapper = path.join(project, 'pkgs/marker');
await writeProgram(path.join(wrapper, 'bin/wrapper'), `#!/bin/sh\nmkdir -p '${marks}' && touch '${marks}/'"$1"\n`);

// A build function that says where it ran (its output and a file), with a component as input: built first, on the same machine.
// (It prints to stderr: a build on the coordinator runs in the deploy process, whose stdout carries the --json events.)
const whereBuilt = (name: string) => `component({
    name: '${name}',
    inputs: {
      word: 'hello',
      lib: component({ name: '${name}-lib', async build(out) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(out + '/state', String(process.env.DYSNOMIA_STATEDIR));
      } }),
    },
    async build(out, { word, lib }) {
      const { chmod, mkdir, readFile, writeFile } = await import('node:fs/promises');
      process.stderr.write('building ${name} in ' + process.env.DYSNOMIA_STATEDIR + '\\n');
      await writeFile(out + '/where', String(process.env.DYSNOMIA_STATEDIR));
      await writeFile(out + '/lib-where', await readFile(lib + '/state', 'utf8'));
      await mkdir(out + '/bin');
      await writeFile(out + '/bin/${name}', '#!/bin/sh\\necho "' + word + ' from ${name}"\\n');
      await chmod(out + '/bin/${name}', 0o755);
    },
  })`;

const services = path.join(project, 'services.mjs');
await writeFile(
  services,
  `import { component } from ${JSON.stringify(componentModule)};
export default () => ({
  here: { pkg: ${whereBuilt('here')}, type: 'package' },
  there: { pkg: ${whereBuilt('there')}, type: 'package' },
});
`,
);
const distribution = path.join(project, 'distribution.json');
await writeFile(distribution, JSON.stringify({ here: ['test1'], there: ['test2'] }));

const deploy = (args: string[]) => dysnomia(['deploy', '-i', infrastructure, ...args], { env });
const events = (stdout: string, name: string) => parseEvents(stdout).filter((e) => e.event === name);
const entryOf = (stdout: string, source: string) => events(stdout, 'built').find((e) => e.source === source)?.entry as string;
const stored = (entry: string, file: string) => readFile(path.join(coordinatorState, 'store', entry, file), 'utf8');

t.test('a target of another system gets its builds without the option; the others are built here as before', async (t) => {
  const result = await deploy(['-s', services, '-d', distribution, '--profile', 'systems', '--json']);
  t.equal(result.code, 0, result.stderr);
  const here = entryOf(result.stdout, 'component:here');
  const there = entryOf(result.stdout, 'component:there');
  t.match(events(result.stdout, 'built').find((e) => e.source === 'component:there'), { target: 'test2' }, 'built on test2 (riscv64-linux)');
  t.notOk(events(result.stdout, 'built').find((e) => e.source === 'component:here')?.target, 'test1 is of this system: built here');
  t.equal(await stored(there, 'where'), state2, "the build ran on test2: its state folder; the result is in the coordinator's store");
  t.equal(await stored(there, 'lib-where'), state2, 'its input component was built on test2 too');
  t.equal(await stored(here, 'where'), coordinatorState, 'built by the coordinator');
  const output = events(result.stdout, 'output');
  t.ok(output.some((e) => e.line === `building there in ${state2}`), "the build's output came back as the target's lines");
  t.ok(output.length > 0 && output.every((e) => e.target === 'test2' && e.service === 'there' && e.action === 'build'), 'as output of test2, service there, action build');
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/systems/bin/there`), 'hello from there\n', 'deployed from what test2 built');
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/systems/bin/here`), 'hello from here\n');
});

t.test('--build-on-targets builds on the target each service goes to, and the coordinator keeps the result', async (t) => {
  const result = await deploy(['-s', services, '-d', distribution, '--profile', 'on-targets', '--build-on-targets', '--json']);
  t.equal(result.code, 0, result.stderr);
  const here = entryOf(result.stdout, 'component:here');
  t.match(events(result.stdout, 'built').find((e) => e.source === 'component:here'), { target: 'test1' });
  t.equal(await stored(here, 'where'), state1, 'built on test1');
  t.equal(await stored(here, 'lib-where'), state1);
  t.ok((await readdir(path.join(state1, 'store'))).includes(here), "the same entry in the target's store");
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/on-targets/bin/here`), 'hello from here\n');
  const again = await deploy(['-s', services, '-d', distribution, '--profile', 'on-targets', '--build-on-targets', '--json']);
  t.equal(again.code, 0, again.stderr);
  t.equal(entryOf(again.stdout, 'component:here'), here, 'a second run finds what the target built before');
  t.same(events(again.stdout, 'output'), [], 'nothing built again');
  t.same(events(again.stdout, 'transferred'), [], 'nothing sent');
});

t.test('a build function that is not self-contained is refused naming the component; nothing is activated', async (t) => {
  const leaky = path.join(project, 'leaky.mjs');
  await writeFile(
    leaky,
    `import { component } from ${JSON.stringify(componentModule)};
const greeting = 'from around the function';
export default () => ({
  marker: { pkg: ${JSON.stringify(wrapper)}, type: 'wrapper' },
  leaky: { pkg: component({ name: 'leaky', async build(out) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(out + '/greeting', greeting);
  } }), type: 'package', dependsOn: {} },
});
`,
  );
  const leakyDistribution = path.join(project, 'leaky-distribution.json');
  await writeFile(leakyDistribution, JSON.stringify({ marker: ['test1'], leaky: ['test1'] }));
  const result = await deploy(['-s', leaky, '-d', leakyDistribution, '--profile', 'leaky', '--build-on-targets']);
  t.equal(result.code, 2, result.stderr);
  t.match(result.stderr, 'component leaky: its build function is not self-contained (ReferenceError: greeting is not defined)');
  t.match(result.stderr, 'await import()');
  t.match(result.stderr, 'target "test1"');
  t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
  await t.rejects(access(marks), 'no service was activated');
  await t.rejects(access(path.join(state1, 'profiles/leaky')), 'no profile on the target');
  await t.rejects(access(path.join(coordinatorState, 'deployments/leaky')), 'no deployment recorded');
});

t.test('npm: packages with --build-on-targets: the packed tarball travels, the target installs it without a registry', async (t) => {
  const tarball = await npmTarball(project, 'moo', 'moo from npm');
  const packages = path.join(project, 'packages.json');
  await writeFile(packages, JSON.stringify({ test1: [`npm:${tarball}`] }));
  const result = await deploy(['-P', packages, '--profile', 'npm', '--build-on-targets', '--json']);
  t.equal(result.code, 0, result.stderr);
  const built = events(result.stdout, 'built').find((e) => e.source === `npm:${tarball}`);
  t.match(built, { target: 'test1', entry: /-moo-1\.0\.0$/ }, 'installed on test1');
  t.ok((await readdir(path.join(coordinatorState, 'store'))).includes(built!.entry as string), "and in the coordinator's store");
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/npm/bin/moo`), 'moo from npm\n');
});

t.test('targets of one other system: the first of them builds for all, the others get its result', async (t) => {
  const otherSystem = process.arch === 'riscv64' ? 'x86_64-linux' : 'riscv64-linux';
  const sameSystem = path.join(dir, 'infrastructure-one-system.json');
  await writeFile(sameSystem, JSON.stringify({ test1: { ...sshTarget(test1, knownHosts, state1), system: otherSystem }, test2: { ...sshTarget(test2, knownHosts, state2), system: otherSystem } }, null, 2));
  const packages = path.join(project, 'shared-packages.mjs');
  await writeFile(
    packages,
    `import { component } from ${JSON.stringify(componentModule)};
const shared = component({ name: 'shared', async build(out) {
  const { chmod, mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(out + '/bin');
  await writeFile(out + '/bin/shared', '#!/bin/sh\\necho "built in ' + process.env.DYSNOMIA_STATEDIR + '"\\n');
  await chmod(out + '/bin/shared', 0o755);
} });
export default { test1: [shared], test2: [shared] };
`,
  );
  const result = await dysnomia(['deploy', '-i', sameSystem, '-P', packages, '--profile', 'shared', '--json'], { env });
  t.equal(result.code, 0, result.stderr);
  const built = events(result.stdout, 'built').filter((e) => e.source === 'component:shared');
  t.equal(built.length, 1, 'built once');
  t.equal(built[0]?.target, 'test1', 'on test1');
  t.equal(await sshRun(test1, knownHosts, `${state1}/profiles/shared/bin/shared`), `built in ${state1}\n`);
  t.equal(await sshRun(test2, knownHosts, `${state2}/profiles/shared/bin/shared`), `built in ${state1}\n`, "test2 runs test1's build");
});
