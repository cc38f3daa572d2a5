// Plugins travel: a third-party plugin npm-installed into a user's project (not a
// workspace) serves services on two sshd machines. The targets get the engine, the
// first-party plugins and that plugin with its dependency from what is installed
// here, one store entry per package, with npm's cache empty and its registry
// unreachable; an upgraded plugin sends only its own entry; a type nothing serves
// is refused while planning, with nothing sent or locked.
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia } from './helpers/cli.js';
import { parseEvents, sshRun, sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';
import type { DeployEventLine } from './helpers/deploy-fixtures.js';
import { freePort } from './helpers/ports.js';

t.setTimeout(600_000);
const { dir, env: coordinator, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-plugins-travel-');

// npm as a user without a network has it: an empty cache, a registry where nothing listens.
// The deploys get a cache of their own, which must stay empty; the test's own packing and installing use another.
const registry = { npm_config_registry: `http://127.0.0.1:${await freePort()}/`, npm_config_fetch_retries: '0', npm_config_update_notifier: 'false' };
const npmCache = path.join(dir, 'deploy-npm-cache');
await mkdir(npmCache);
// Not offline: were npm run at all, it would go to the registry, fail, and leave its cache changed.
const env = { ...coordinator, ...registry, npm_config_offline: 'false', npm_config_cache: npmCache };

function npm(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const offline = { ...registry, npm_config_cache: path.join(dir, 'test-npm-cache') };
    execFile('npm', args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...offline } }, (error, stdout, stderr) =>
      error ? reject(new Error(`npm ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
    );
  });
}

const sources = path.join(dir, 'sources');
/** The plugin's source at a version, packed with npm: what a plugin author publishes. */
async function packGreetingPlugin(version: string): Promise<string> {
  const source = path.join(sources, `plugin-${version}`);
  await mkdir(source, { recursive: true });
  await writeFile(
    path.join(source, 'package.json'),
    JSON.stringify({
      name: 'dysnomia-plugin-greeting',
      version,
      type: 'module',
      main: 'index.js',
      files: ['index.js'],
      keywords: ['dysnomia-plugin'],
      dependencies: { 'greeting-words': '^1.0.0' },
      peerDependencies: { '@dysnomia/engine': '^1.0.0' },
    }),
  );
  await writeFile(
    path.join(source, 'index.js'),
    `import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { definePlugin } from '@dysnomia/engine';
import { salutation } from 'greeting-words';

const folder = (ctx) => path.join(ctx.stateDir, 'greetings');
export default definePlugin({
  type: 'greeting',
  engine: '^1.0.0',
  async activate(ctx) {
    const message = (await readFile(path.join(ctx.component, 'message'), 'utf8')).trim();
    if (message === 'fail') throw new Error('this greeting cannot be said');
    await mkdir(folder(ctx), { recursive: true });
    await writeFile(path.join(folder(ctx), ctx.componentName), salutation + ', ' + message + ' (plugin ${version})\\n');
    ctx.log.info('greeted ' + ctx.componentName + ' with plugin ${version}');
    ctx.log.debug('greeting detail: ' + message.length + ' characters');
  },
  async deactivate(ctx) {
    await rm(path.join(folder(ctx), ctx.componentName), { force: true });
    ctx.log.info('took back ' + ctx.componentName + ' with plugin ${version}');
  },
  async capture(ctx) {
    return { greetings: (await readdir(folder(ctx)).catch(() => [])).sort() };
  },
});
`,
  );
  return packInto(source);
}

async function packInto(source: string): Promise<string> {
  const packed = JSON.parse(await npm(['pack', source, '--pack-destination', sources, '--json'], sources)) as Array<{ filename: string }>;
  return path.join(sources, path.basename(packed[0]!.filename));
}

// The plugin's own dependency, published on its own.
const wordsSource = path.join(sources, 'words');
await mkdir(wordsSource, { recursive: true });
await writeFile(path.join(wordsSource, 'package.json'), JSON.stringify({ name: 'greeting-words', version: '1.0.0', type: 'module', main: 'index.js' }));
await writeFile(path.join(wordsSource, 'index.js'), "export const salutation = 'Hello';\n");
const wordsTarball = await packInto(wordsSource);

// The user's project: the plugin installed from its tarball, offline; the models beside it.
const project = path.join(dir, 'project');
await mkdir(project);
await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true }));
const install = (tarballs: string[]) => npm(['install', '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', ...tarballs], project);
await install([wordsTarball, await packGreetingPlugin('1.0.0')]);

await mkdir(path.join(project, 'hello'));
await writeFile(path.join(project, 'hello/message'), 'world\n');
await mkdir(path.join(project, 'broken'));
await writeFile(path.join(project, 'broken/message'), 'fail\n');
// A component that ships its own module, a plugin file that imports the engine like any plugin.
await writeProgram(
  path.join(project, 'loud/etc/dysnomia/modules/shout.mjs'),
  `import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { definePlugin } from '@dysnomia/engine';
export default definePlugin({
  type: 'shout',
  engine: '^1.0.0',
  async activate(ctx) {
    await mkdir(path.join(ctx.stateDir, 'shouts'), { recursive: true });
    await writeFile(path.join(ctx.stateDir, 'shouts', ctx.componentName), 'LOUD\\n');
    ctx.log.info('shouted');
  },
  async deactivate(ctx) {
    await rm(path.join(ctx.stateDir, 'shouts', ctx.componentName), { force: true });
  },
});
`,
);

const infrastructure = path.join(project, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test2: sshTarget(test2, knownHosts, state2) }));
const services = path.join(project, 'services.json');
const distribution = path.join(project, 'distribution.json');
await writeFile(services, JSON.stringify({ hello: { pkg: './hello', type: 'greeting' }, loud: { pkg: './loud', type: 'shout' } }));
await writeFile(distribution, JSON.stringify({ hello: ['test1', 'test2'], loud: ['test1'] }));

const deploy = (args: string[]) => dysnomia(['deploy', '-s', services, '-i', infrastructure, '-d', distribution, '--profile', 'greetings', ...args], { env, cwd: project });
const events = (stdout: string, name: string) => parseEvents(stdout).filter((e) => e.event === name);
const outputLines = (stdout: string, target: string, service: string) => events(stdout, 'output').filter((e) => e.target === target && e.service === service).map((e) => e.line as string);
const readIf = (file: string) => readFile(file, 'utf8').catch(() => undefined);
const runtimes = async (state: string) => (JSON.parse(await readFile(path.join(state, 'deployments/dysnomia-runtime.json'), 'utf8')) as { storePaths: string[] }).storePaths;
const storeEntries = async (state: string) => (await readdir(path.join(state, 'store')).catch(() => [] as string[])).sort();

t.test('a third-party plugin from the project serves a service on two machines, offline', async (t) => {
  const result = await deploy(['--json']);
  t.equal(result.code, 0, result.stderr);
  const bootstraps = events(result.stdout, 'bootstrap').filter((e) => e.phase === 'done');
  t.same(bootstraps.map((e) => e.target).sort(), ['test1', 'test2'], 'each target got a runtime');
  for (const e of bootstraps) t.ok((e.packages as number) > 10, `${e.target}: one entry per package (${e.packages})`);
  for (const [target, state] of [['test1', state1], ['test2', state2]] as const) {
    t.equal(await readIf(path.join(state, 'greetings/hello')), 'Hello, world (plugin 1.0.0)\n', `${target}: the plugin ran, with its dependency`);
    t.match(outputLines(result.stdout, target, 'hello'), [/^greeted hello with plugin 1\.0\.0$/], `${target}: the plugin's log line reached the coordinator`);
    t.notOk(outputLines(result.stdout, target, 'hello').some((l) => l.includes('greeting detail')), 'no debug lines without --debug');
    const [runtime] = await runtimes(state);
    const manifest = JSON.parse(await readFile(path.join(state, 'store', runtime!, 'dysnomia-runtime.json'), 'utf8')) as { plugins: Array<{ name: string; version: string }>; packages: Array<{ name: string }> };
    t.ok(manifest.plugins.some((p) => p.name === 'dysnomia-plugin-greeting' && p.version === '1.0.0'), `${target}: the runtime lists the plugin`);
    t.same(manifest.packages.map((p) => p.name).filter((name) => ['@dysnomia/deploy', 'ssh2', 'yaml', 'pg', 'pg-pool', 'pg-protocol', 'pgpass', 'pg-connection-string', 'typescript', 'cpu-features', 'nan'].includes(name)), [], `${target}: nothing only a coordinator (or a build) needs: no orchestrator package, no ssh2, no YAML parser, no PostgreSQL client`);
    const storeFiles = (await readdir(path.join(state, 'store'), { recursive: true })).map(String);
    t.same(storeFiles.filter((f) => /(^|\/)(orchestrator|ssh-connection|deploy-command|postgres-state)\.js$/.test(f)), [], `${target}: no orchestrator code anywhere in the target's store`);
    t.ok(storeFiles.some((f) => f.endsWith('agent/agent.js')), `${target}: the engine's agent is there (the check looks where the code would be)`);
    t.ok((await storeEntries(state)).some((e) => e.endsWith('-npm-greeting-words-1.0.0')), `${target}: the plugin's dependency is an entry of its own`);
  }
  t.equal(await readIf(path.join(state1, 'shouts/loud')), 'LOUD\n', "a module a component ships serves that component's service, importing the engine");
  t.match(outputLines(result.stdout, 'test1', 'loud'), ['shouted']);
  t.same(await readdir(npmCache), [], 'npm fetched nothing: its cache is still empty');

  // The plugin works in the target's runtime outside the agent too: a capture through the target's own CLI.
  const [runtime] = await runtimes(state1);
  const entry = (await storeEntries(state1)).find((e) => e.endsWith('-hello'))!;
  const captured = await sshRun(
    test1,
    knownHosts,
    `DYSNOMIA_STATEDIR=${state1} ${process.execPath} ${state1}/store/${runtime}/lib/node_modules/@dysnomia/engine/bin/dysnomia.js --operation capture --type greeting --component ${state1}/store/${entry} --environment`,
  );
  t.same(JSON.parse(captured), { greetings: ['hello'] }, 'captured on the target');
});

t.test('a failing activation is said once, with one line saying what was rolled back', async (t) => {
  await writeFile(services, JSON.stringify({ hello: { pkg: './hello', type: 'greeting' }, loud: { pkg: './loud', type: 'shout' }, broken: { pkg: './broken', type: 'greeting', dependsOn: { hello: 'hello' } } }));
  await writeFile(distribution, JSON.stringify({ hello: ['test1', 'test2'], loud: ['test1'], broken: ['test2'] }));
  const result = await deploy([]);
  t.equal(result.code, 1);
  const all = result.stdout + result.stderr;
  t.equal(all.split('this greeting cannot be said').length - 1, 1, `the plugin's error appears once\n${all}`);
  t.match(result.stderr, /activating broken on test2 \(container greeting\) failed: plugin "dysnomia-plugin-greeting" failed in activate: this greeting cannot be said\nrolled back to the previous deployment \(deployment generation 1\)\n$/);
  t.equal(all.split('rolled back').length - 1, 1, 'one line says what was rolled back');
  t.notMatch(all, /no module found|Searched:/);
  t.equal(await readIf(path.join(state2, 'greetings/hello')), 'Hello, world (plugin 1.0.0)\n', 'test2 as it was');
  await writeFile(services, JSON.stringify({ hello: { pkg: './hello', type: 'greeting' }, loud: { pkg: './loud', type: 'shout' } }));
  await writeFile(distribution, JSON.stringify({ hello: ['test1', 'test2'], loud: ['test1'] }));
});

t.test('an upgraded plugin sends only its own entry', async (t) => {
  const before1 = await runtimes(state1);
  await install([await packGreetingPlugin('1.1.0')]);
  const result = await deploy(['--json']);
  t.equal(result.code, 0, result.stderr);
  const done = events(result.stdout, 'bootstrap').filter((e) => e.phase === 'done');
  t.same(done.map((e) => e.target).sort(), ['test1', 'test2']);
  for (const e of done) {
    t.equal(e.packages, 1, `${e.target}: one package entry sent`);
    t.ok((e.bytes as number) < 8192, `${e.target}: only the plugin's bytes (${e.bytes})`);
  }
  t.same(events(result.stdout, 'transferred').filter((e) => (e.entries as number) > 0), [], 'no component sent again');
  const after1 = await runtimes(state1);
  t.not(after1[0], before1[0], 'a new runtime');
  t.equal(after1[1], before1[0], 'the previous runtime is kept until garbage collection');
  t.ok((await storeEntries(state1)).includes(before1[0]!), 'and is still in the store');
  t.same(await readdir(npmCache), [], 'still nothing fetched');
});

t.test('undeploy runs the upgraded plugin, and --debug brings its debug lines', async (t) => {
  const result = await dysnomia(['deploy', '--profile', 'greetings', '--undeploy', '--json', '--debug'], { env, cwd: project });
  t.equal(result.code, 0, result.stderr);
  for (const [target, state] of [['test1', state1], ['test2', state2]] as const) {
    t.match(outputLines(result.stdout, target, 'hello'), [/^took back hello with plugin 1\.1\.0$/], `${target}: deactivated by the new plugin`);
    t.equal(await readIf(path.join(state, 'greetings/hello')), undefined, `${target}: the greeting is gone`);
  }
  t.equal(await readIf(path.join(state1, 'shouts/loud')), undefined);
  const again = await deploy(['--json', '--debug']);
  t.equal(again.code, 0, again.stderr);
  t.ok(outputLines(again.stdout, 'test1', 'hello').includes('debug: greeting detail: 5 characters'), 'with --debug the plugin\'s debug line arrives');
});

t.test('a type nothing serves is refused while planning: exit 2, once, nothing sent or locked', async (t) => {
  await writeFile(services, JSON.stringify({ hello: { pkg: './hello', type: 'greeting' }, mystery: { pkg: './hello', type: 'nosuch' } }));
  await writeFile(distribution, JSON.stringify({ hello: ['test1', 'test2'], mystery: ['test2'] }));
  const stores = [await storeEntries(state1), await storeEntries(state2)];
  const result = await deploy(['--json']);
  t.equal(result.code, 2, result.stderr);
  t.match(result.stderr, /no plugin or module serves the type of:\n {2}- service "mystery" \(type "nosuch"\) on target "test2"\n/);
  t.match(result.stderr, /npm packages @dysnomia\/plugin-nosuch, dysnomia-plugin-nosuch, @\*\/dysnomia-plugin-nosuch from /);
  t.match(result.stderr, /in the profiles of target "test2"/);
  t.equal(result.stderr.split('service "mystery"').length - 1, 1, 'said once');
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
  const names = parseEvents(result.stdout).map((e: DeployEventLine) => e.event);
  for (const name of ['bootstrap', 'plan', 'transferred', 'locked', 'step']) t.notOk(names.includes(name), `no ${name} event`);
  t.same([await storeEntries(state1), await storeEntries(state2)], stores, 'nothing sent to either target');
  t.same(await readdir(path.join(state2, 'locks')).catch(() => []), [], 'no lock on the target');
  t.same(await readdir(path.join(coordinator.DYSNOMIA_STATEDIR, 'locks')).catch(() => []), [], 'no lock here');
});
