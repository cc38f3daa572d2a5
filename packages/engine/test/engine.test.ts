import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { Engine } from '../src/engine.js';
import type { EngineOptions } from '../src/engine.js';
import { DysnomiaError, IncompatiblePluginError, PluginError } from '../src/errors.js';
import { definePlugin } from '../src/plugin.js';
import type { DysnomiaPlugin, OperationContext } from '../src/plugin.js';

const NO_CONFIG = (dir: string) => ({ dir, modulesPath: [], containersPath: [], plugins: [] });

/** An engine over a temp folder with one container file `box` and one component `comp`. */
async function setup(t: Test, plugins: DysnomiaPlugin[], extra: Partial<EngineOptions> = {}) {
  const dir = t.testdir({ containers: { box: 'type=counter\nlabel="a b"\nlist=("x" "y z")\n' }, comp: { 'data.txt': 'hello' } });
  const engine = await Engine.create({
    cwd: dir,
    env: { PATH: process.env.PATH, DYSNOMIA_CONTAINERS_PATH: path.join(dir, 'containers') },
    config: NO_CONFIG(dir),
    stateDir: path.join(dir, 'state'),
    plugins,
    logLevel: 'quiet',
    ...extra,
  });
  return { dir, engine, component: path.join(dir, 'comp') };
}

function counterPlugin(stateful: boolean, calls: string[], seen: OperationContext[] = []) {
  return definePlugin({
    type: 'counter',
    engine: '^1.0.0',
    stateful,
    activate: (ctx) => {
      calls.push('activate');
      seen.push(ctx);
    },
    deactivate: () => {
      calls.push('deactivate');
    },
    collectGarbage: () => {
      calls.push('collect-garbage');
    },
    capture: (ctx) => ({ captured: ctx.componentName }),
  });
}

t.test('the context carries what the contract promises', async (t) => {
  const seen: OperationContext[] = [];
  const { engine, component, dir } = await setup(t, [counterPlugin(false, [], seen)]);
  await engine.run({ operation: 'activate', container: 'box', component: './comp' });
  const ctx = seen[0]!;
  t.equal(ctx.operation, 'activate');
  t.equal(ctx.type, 'counter');
  t.equal(ctx.component, component);
  t.equal(ctx.componentName, 'comp');
  t.equal(ctx.container.name, 'box');
  t.same(ctx.container.properties, { type: 'counter', label: 'a b', list: ['x', 'y z'] });
  t.equal(ctx.container.file, path.join(dir, 'containers/box'));
  t.equal(ctx.stateDir, path.join(dir, 'state'));
  t.type(ctx.run, 'function');
  t.type(ctx.log.info, 'function');
  t.equal(ctx.signal.aborted, false);
});

t.test('stateful plugins: markers record (regular files, as Dysnomia keeps them), every activate and deactivate reaches the plugin', async (t) => {
  const calls: string[] = [];
  const { engine, component, dir } = await setup(t, [counterPlugin(true, calls)]);
  const activated = path.join(dir, 'state/activated/box/comp');
  const garbage = path.join(dir, 'state/garbage/box/comp');
  const run = (operation: 'activate' | 'deactivate' | 'collect-garbage') => engine.run({ operation, container: 'box', component });
  const marker = async (file: string) => ((await lstat(file)).isFile() ? (await readFile(file, 'utf8')).trim() : 'not a regular file');

  t.equal((await run('collect-garbage')).skipped, 'not marked as garbage', 'nothing to collect before deactivation');
  await run('activate');
  t.equal(await marker(activated), component, 'the activated marker is a regular file naming the component');
  t.equal((await run('activate')).skipped, undefined, 'a second activate reaches the plugin: it checks the real state');
  t.same(calls, ['activate', 'activate']);

  await run('deactivate');
  t.equal(await marker(garbage), component, 'deactivated component is marked as garbage');
  await t.rejects(lstat(activated), { code: 'ENOENT' }, 'activated marker removed');
  t.equal((await run('deactivate')).skipped, undefined);
  t.same(calls, ['activate', 'activate', 'deactivate', 'deactivate']);
  t.equal(await marker(garbage), component, 'still garbage');

  await run('collect-garbage');
  await t.rejects(lstat(garbage), { code: 'ENOENT' }, 'garbage marker removed after collection');
  t.same(calls, ['activate', 'activate', 'deactivate', 'deactivate', 'collect-garbage']);
});

t.test('stateless plugins are always called; only the activated marker is kept, no garbage', async (t) => {
  const calls: string[] = [];
  const { engine, component, dir } = await setup(t, [counterPlugin(false, calls)]);
  await engine.run({ operation: 'activate', container: 'box', component });
  await engine.run({ operation: 'activate', container: 'box', component });
  t.same(calls, ['activate', 'activate']);
  t.equal((await readFile(path.join(dir, 'state/activated/box/comp'), 'utf8')).trim(), component, 'dysnomia-containers can see it is activated');
  await engine.run({ operation: 'deactivate', container: 'box', component });
  await t.rejects(lstat(path.join(dir, 'state/activated/box/comp')), { code: 'ENOENT' });
  await t.rejects(lstat(path.join(dir, 'state/garbage')), { code: 'ENOENT' }, 'no garbage markers for stateless plugins');
  t.equal((await engine.run({ operation: 'collect-garbage', container: 'box', component })).skipped, undefined, 'collect-garbage is passed on');
  t.same(calls, ['activate', 'activate', 'deactivate', 'collect-garbage']);
});

t.test('markers: a lock reads none, and a marker that is no regular file (a FIFO) is never read, so it cannot stall an operation', async (t) => {
  const calls: string[] = [];
  const plugin = definePlugin({ ...counterPlugin(false, calls), lock: () => void calls.push('lock') });
  const { engine, component, dir } = await setup(t, [plugin]);
  const activated = path.join(dir, 'state/activated/box/comp');
  await mkdir(path.dirname(activated), { recursive: true });
  execFileSync('mkfifo', [activated]);
  // Reading a FIFO waits for a writer that never comes: before, a lock read the marker and an activation hung on it.
  await engine.run({ operation: 'lock', container: 'box', component });
  t.ok((await lstat(activated)).isFIFO(), 'a lock leaves the markers alone');
  await engine.run({ operation: 'activate', container: 'box', component });
  t.equal((await readFile(activated, 'utf8')).trim(), component, 'the activation replaced it with a regular marker');
  t.same(calls, ['lock', 'activate']);
});

t.test('capture returns what the plugin reports; a missing optional operation is skipped', async (t) => {
  const { engine, component } = await setup(t, [counterPlugin(false, [])]);
  t.same((await engine.run({ operation: 'capture', container: 'box', component })).result, { captured: 'comp' });
  const lock = await engine.run({ operation: 'lock', container: 'box', component });
  t.equal(lock.skipped, 'type counter has no lock operation');
});

t.test('a failing plugin: the error names the plugin and the operation, operationFailed sees it', async (t) => {
  const failing = definePlugin({
    type: 'counter',
    engine: '^1.0.0',
    meta: { name: 'dysnomia-plugin-counter' },
    activate: () => {
      throw new Error('disk full');
    },
    deactivate: () => {},
  });
  const { engine, component } = await setup(t, [failing]);
  const failures: string[] = [];
  engine.hooks.operationFailed.tap('test', (ctx, error) => {
    failures.push(`${ctx.operation}: ${error.message}`);
  });
  const error = await engine.run({ operation: 'activate', container: 'box', component }).catch((e: unknown) => e);
  t.ok(error instanceof PluginError);
  t.equal((error as PluginError).message, 'plugin "dysnomia-plugin-counter" failed in activate: disk full');
  t.equal((error as PluginError).exitCode, 1);
  t.same(failures, ['activate: plugin "dysnomia-plugin-counter" failed in activate: disk full']);
});

t.test('a failing tap names the tap and the hook, and the operation does not run', async (t) => {
  const calls: string[] = [];
  const { engine, component } = await setup(t, [counterPlugin(false, calls)]);
  engine.hooks.beforeOperation.tapPromise('audit-plugin', async () => {
    throw new Error('not allowed today');
  });
  await t.rejects(engine.run({ operation: 'activate', container: 'box', component }), {
    code: 'ERR_DYSNOMIA_HOOK_FAILED',
    message: 'plugin "audit-plugin" failed in hook beforeOperation: not allowed today',
  });
  t.same(calls, []);

  engine.hooks.moduleLoaded.tap('sync-tap', () => {
    throw new TypeError('boom');
  });
  await t.rejects(engine.resolveModule('counter'), { message: 'plugin "sync-tap" failed in hook moduleLoaded: boom' });
});

t.test('a DysnomiaError from a plugin tap is blamed on the plugin (by apply), keeping its code and exit status', async (t) => {
  const calls: string[] = [];
  const strict = definePlugin({
    type: 'counter',
    engine: '^1.0.0',
    meta: { name: 'dysnomia-plugin-strict' },
    activate: () => {
      calls.push('activate');
    },
    deactivate: () => {},
    apply(hooks) {
      // A tap named like one of the engine's own is still this plugin's.
      hooks.beforeOperation.tapPromise('dysnomia:impostor', async () => {
        throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'component names must be lower case');
      });
    },
  });
  const { engine, component } = await setup(t, [strict]);
  const error = (await engine.run({ operation: 'activate', container: 'box', component }).catch((e: unknown) => e)) as PluginError;
  t.ok(error instanceof PluginError);
  t.match(error, {
    code: 'ERR_DYSNOMIA_USAGE',
    exitCode: 2,
    plugin: 'dysnomia-plugin-strict',
    tap: 'dysnomia:impostor',
    hook: 'hook beforeOperation',
    message: 'plugin "dysnomia-plugin-strict" (tap "dysnomia:impostor") failed in hook beforeOperation: component names must be lower case',
  });
  t.same(calls, []);

  const throwingApply = definePlugin({
    type: 'other',
    engine: '^1.0.0',
    meta: { name: 'dysnomia-plugin-broken' },
    activate: () => {},
    deactivate: () => {},
    apply() {
      throw new DysnomiaError('ERR_DYSNOMIA_CONFIG', 'needs a setting');
    },
  });
  await t.rejects(setup(t, [throwingApply]), {
    code: 'ERR_DYSNOMIA_CONFIG',
    message: 'plugin "dysnomia-plugin-broken" failed in apply: needs a setting',
  });
});

t.test('the engine\'s own taps pass their errors through unchanged', async (t) => {
  const { engine } = await setup(t, [counterPlugin(false, [])]);
  const error = await engine.resolveContainer('./no-such-container').catch((e: unknown) => e);
  t.ok(error instanceof DysnomiaError, 'a DysnomiaError');
  t.notOk(error instanceof PluginError, 'not blamed on any plugin');
  t.match((error as Error).message, 'no-such-container');
});

t.test('a plugin can tap hooks through apply(): a container from a tap', async (t) => {
  const calls: string[] = [];
  const provider = definePlugin({
    type: 'counter',
    engine: '^1.0.0',
    activate: (ctx) => {
      calls.push(`${ctx.container.name}:${String(ctx.container.properties.port)}`);
    },
    deactivate: () => {},
    apply(hooks) {
      hooks.resolveContainer.tap({ name: 'virtual-containers', stage: -1 }, (request) =>
        request.container === 'virtual' ? { name: 'virtual', properties: { type: 'counter', port: '8080' }, argument: 'virtual' } : undefined,
      );
    },
  });
  const { engine, component } = await setup(t, [provider]);
  await engine.run({ operation: 'activate', container: 'virtual', component });
  t.same(calls, ['virtual:8080']);
});

t.test('an incompatible plugin is refused before it runs', async (t) => {
  const calls: string[] = [];
  const future = { ...counterPlugin(false, calls), engine: '^2.0.0', meta: { name: 'dysnomia-plugin-counter' } };
  const error = (await setup(t, [future]).catch((e: unknown) => e)) as DysnomiaError;
  t.equal(error.code, 'ERR_DYSNOMIA_INCOMPATIBLE_PLUGIN');
  t.equal(error.exitCode, 2);
  t.ok(error instanceof IncompatiblePluginError);
  t.match(error, { plugin: 'dysnomia-plugin-counter', range: '^2.0.0', engineVersion: '1.0.0' }, 'the range and the version are fields');
  t.match(error.message, 'plugin "dysnomia-plugin-counter" (type counter) requires engine API ^2.0.0, but this engine provides API 1.0.0');
  t.same(calls, []);
});

t.test('type: --type wins over the container, a container without type= is an error naming the file', async (t) => {
  const calls: string[] = [];
  const other = { ...counterPlugin(false, calls), type: 'other' };
  const { engine, component, dir } = await setup(t, [counterPlugin(false, []), other]);
  await engine.run({ operation: 'activate', container: 'box', component, type: 'other' });
  t.same(calls, ['activate']);
  await writeFile(path.join(dir, 'containers/untyped'), 'a=1\n');
  await t.rejects(engine.run({ operation: 'activate', container: 'untyped', component }), {
    code: 'ERR_DYSNOMIA_USAGE',
    message: `${path.join(dir, 'containers/untyped')}: the container names no type; add a line type=TYPE to it, or pass --type TYPE`,
  });
});

t.test('components: by path (must exist to activate) or by name in DYSNOMIA_COMPONENTS_PATH; store prefixes are stripped', async (t) => {
  const seen: OperationContext[] = [];
  const { engine, dir } = await setup(t, [counterPlugin(true, [], seen)]);
  await t.rejects(engine.run({ operation: 'activate', container: 'box', component: './missing' }), { code: 'ERR_DYSNOMIA_COMPONENT_NOT_FOUND' });
  const stored = path.join(dir, 'state/store/0123456789abcdefghijklmnopqrstuv-webapp');
  await mkdir(stored, { recursive: true });
  await engine.run({ operation: 'activate', container: 'box', component: stored });
  t.equal(seen[0]?.componentName, 'webapp');
  t.equal((await readFile(path.join(dir, 'state/activated/box/webapp'), 'utf8')).trim(), stored);

  await mkdir(path.join(dir, 'components/box/named'), { recursive: true });
  const named = await Engine.create({
    cwd: dir,
    env: { DYSNOMIA_CONTAINERS_PATH: path.join(dir, 'containers'), DYSNOMIA_COMPONENTS_PATH: path.join(dir, 'components') },
    config: NO_CONFIG(dir),
    stateDir: path.join(dir, 'state'),
    plugins: [counterPlugin(false, [], seen)],
    logLevel: 'quiet',
  });
  await named.run({ operation: 'activate', container: 'box', component: 'named' });
  t.equal(seen[1]?.component, path.join(dir, 'components/box/named'));
  await t.rejects(named.run({ operation: 'activate', container: 'box', component: 'nope' }), {
    code: 'ERR_DYSNOMIA_COMPONENT_NOT_FOUND',
    message: new RegExp(`searched ${path.join(dir, 'components/box/nope')}`),
  });
});

t.test('--environment: the properties are the environment and the container is named after the type', async (t) => {
  const seen: OperationContext[] = [];
  const { engine, component } = await setup(t, [counterPlugin(false, [], seen)]);
  await engine.run({ operation: 'activate', type: 'counter', useEnvironment: true, component });
  t.equal(seen[0]?.container.name, 'counter');
  t.equal(seen[0]?.container.fromEnvironment, true);
  t.equal(seen[0]?.container.properties.PATH, process.env.PATH);
});

t.test('definePlugin refuses malformed plugins with a coded error', async (t) => {
  const base = { type: 'x', engine: '^1.0.0', activate() {}, deactivate() {} };
  t.throws(() => definePlugin({ ...base, engine: 'not a range' }), { code: 'ERR_DYSNOMIA_INVALID_PLUGIN', message: /"engine" must be a semver range/ });
  t.throws(() => definePlugin({ ...base, type: '' }), { message: /"type" must be a non-empty string/ });
  t.throws(() => definePlugin({ ...base, deactivate: undefined } as unknown as DysnomiaPlugin), { message: /"deactivate" must be a function/ });
  t.throws(() => definePlugin({ ...base, snapshot: 'yes' } as unknown as DysnomiaPlugin), { message: /"snapshot" must be a function when present/ });
  t.equal(definePlugin(base), base, 'a valid plugin comes back unchanged');
});
