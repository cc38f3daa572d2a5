// @ts-check
// Unit tests for the plugin: call its operations directly with a fake ctx.
// Run with `node --test` (or `npm test`) from the package folder.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import hello from '../index.js';

/** @typedef {import('@dysnomia/engine').OperationContext} OperationContext */

/**
 * A temporary folder with a component (greeting.txt) and a target folder,
 * removed when the test ends.
 * @param {import('node:test').TestContext} t
 */
async function fixture(t, greeting = 'Hello, world!\n') {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-plugin-hello-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const component = path.join(dir, 'greeter');
  await mkdir(component);
  await writeFile(path.join(component, 'greeting.txt'), greeting);
  return { dir, component, target: path.join(dir, 'target') };
}

/**
 * What the engine passes a plugin, with a logger that records its lines.
 * @param {{ component: string, properties: Record<string, string | string[]>, operation?: OperationContext['operation'] }} options
 * @returns {OperationContext & { lines: string[] }}
 */
function fakeContext({ component, properties, operation = 'activate' }) {
  /** @type {string[]} */
  const lines = [];
  const record = (/** @type {string} */ level) => (/** @type {string} */ message) => void lines.push(`${level}: ${message}`);
  return {
    operation,
    type: 'hello',
    component,
    componentName: path.basename(component),
    container: { name: 'test-container', properties, file: '/etc/dysnomia/containers/test-container', argument: 'test-container' },
    stateDir: path.join(os.tmpdir(), 'unused-state-dir'),
    env: {},
    log: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') },
    signal: new AbortController().signal,
    run: async () => {
      throw new Error('the hello plugin runs no programs');
    },
    lines,
  };
}

test('serves type hello, stateful, for engine API 1.x', () => {
  assert.equal(hello.type, 'hello');
  assert.equal(hello.engine, '^1.0.0');
  assert.equal(hello.stateful, true);
});

test('activate writes <targetDir>/<componentName>.txt with the greeting', async (t) => {
  const { component, target } = await fixture(t, 'Hi there\n');
  const ctx = fakeContext({ component, properties: { targetDir: target } });
  await hello.activate(ctx);
  assert.equal(await readFile(path.join(target, 'greeter.txt'), 'utf8'), 'Hi there\n');
  assert.deepEqual(await readdir(target), ['greeter.txt'], 'no temporary file is left behind');
  assert.ok(ctx.lines.some((line) => line.startsWith('info: ') && line.includes('greeter')));
});

test('activate and deactivate can be repeated', async (t) => {
  const { component, target } = await fixture(t);
  const ctx = fakeContext({ component, properties: { targetDir: target } });
  await hello.activate(ctx);
  await hello.activate(ctx);
  assert.equal(await readFile(path.join(target, 'greeter.txt'), 'utf8'), 'Hello, world!\n');
  await hello.deactivate({ ...ctx, operation: 'deactivate' });
  await hello.deactivate({ ...ctx, operation: 'deactivate' });
  assert.deepEqual(await readdir(target), []);
});

test('capture lists the deployed files', async (t) => {
  const { dir, component, target } = await fixture(t);
  const capture = hello.capture;
  assert.ok(capture, 'hello has a capture operation');
  const ctx = fakeContext({ component, properties: { targetDir: target }, operation: 'capture' });
  assert.deepEqual(await capture(ctx), { deployed: [] }, 'a target folder that does not exist yet holds nothing');
  await hello.activate(ctx);
  const other = path.join(dir, 'other');
  await mkdir(other);
  await writeFile(path.join(other, 'greeting.txt'), 'Other\n');
  await hello.activate(fakeContext({ component: other, properties: { targetDir: target } }));
  await writeFile(path.join(target, 'notes.md'), 'not a greeting');
  assert.deepEqual(await capture(ctx), { deployed: ['greeter.txt', 'other.txt'] });
});

test('collectGarbage removes nothing and says so', async (t) => {
  const { component, target } = await fixture(t);
  const ctx = fakeContext({ component, properties: { targetDir: target }, operation: 'collect-garbage' });
  await hello.activate(ctx);
  assert.ok(hello.collectGarbage);
  await hello.collectGarbage(ctx);
  assert.deepEqual(await readdir(target), ['greeter.txt']);
  assert.ok(ctx.lines.some((line) => line.includes('nothing to collect')));
});

test('a container without targetDir is an error naming the container', async (t) => {
  const { component } = await fixture(t);
  const ctx = fakeContext({ component, properties: {} });
  await assert.rejects(async () => hello.activate(ctx), {
    message: 'container "test-container" (/etc/dysnomia/containers/test-container) has no targetDir property; add a line targetDir=/some/folder to it',
  });
  await assert.rejects(async () => hello.deactivate(ctx), /container "test-container".*no targetDir/);
});

test('a component without greeting.txt is an error naming the component', async (t) => {
  const { dir, target } = await fixture(t);
  const empty = path.join(dir, 'empty');
  await mkdir(empty);
  await assert.rejects(async () => hello.activate(fakeContext({ component: empty, properties: { targetDir: target } })), {
    message: `component ${empty} has no greeting.txt`,
  });
});
