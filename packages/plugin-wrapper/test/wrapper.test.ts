import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { OperationContext, RunOptions } from '@dysnomia/engine';
import wrapper, { wrapperProgram } from '../src/index.js';

interface Call {
  file: string;
  args: readonly string[];
  options: RunOptions | undefined;
}

async function context(t: { teardown(fn: () => unknown): void }, overrides: Partial<OperationContext> = {}, fail?: Error) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plugin-wrapper-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const component = path.join(dir, 'webapp');
  await mkdir(path.join(component, 'bin'), { recursive: true });
  await writeFile(wrapperProgram(component), '#!/bin/sh\n');
  await chmod(wrapperProgram(component), 0o755);
  const calls: Call[] = [];
  const ctx: OperationContext = {
    operation: 'activate',
    type: 'wrapper',
    component,
    componentName: 'webapp',
    container: { name: 'app-server', argument: '/etc/dysnomia/containers/app-server', properties: { type: 'wrapper', port: '8080', hosts: ['a', 'b'] } },
    stateDir: path.join(dir, 'state'),
    env: { PATH: '/usr/bin:/bin', HOME: '/home/u', SECRET: 'caller only' },
    log: { debug() {}, info() {}, warn() {}, error() {} },
    signal: new AbortController().signal,
    run: async (file, args = [], options) => {
      calls.push({ file, args, options });
      if (fail) throw fail;
      return { exitCode: 0, stdout: '', stderr: '' };
    },
    ...overrides,
  };
  return { ctx, calls, component };
}

t.test('each method runs bin/wrapper with its operation and the container name, in the component', async (t) => {
  const { ctx, calls, component } = await context(t);
  const methods = [
    ['activate', wrapper.activate],
    ['deactivate', wrapper.deactivate],
    ['lock', wrapper.lock],
    ['unlock', wrapper.unlock],
    ['snapshot', wrapper.snapshot],
    ['restore', wrapper.restore],
    ['collect-garbage', wrapper.collectGarbage],
  ] as const;
  for (const [, method] of methods) await method?.(ctx);
  t.same(calls.map((call) => [call.file, ...call.args]), methods.map(([operation]) => [path.join(component, 'bin/wrapper'), operation, 'app-server']));
  t.same(calls[0]?.options, {
    env: { port: '8080', hosts: 'a b', PATH: '/usr/bin:/bin', HOME: '/home/u', DYSNOMIA_STATEDIR: ctx.stateDir },
    extendEnv: false,
    cwd: component,
  }, 'only the properties (type left out, arrays joined), PATH, HOME and DYSNOMIA_STATEDIR');
  t.equal(wrapper.stateful, false);
});

t.test('--environment: the wrapper inherits the caller environment', async (t) => {
  const { ctx, calls } = await context(t);
  await wrapper.activate({ ...ctx, container: { name: 'wrapper', argument: 'wrapper', properties: {}, fromEnvironment: true } });
  t.same(calls[0]?.args, ['activate', 'wrapper']);
  t.same(calls[0]?.options, { env: { DYSNOMIA_STATEDIR: ctx.stateDir }, extendEnv: true, cwd: ctx.component });
});

t.test('a failed lock is reported as a refusal; other failures pass through unchanged', async (t) => {
  const failure = new Error('/x/bin/wrapper lock app-server exited with status 1');
  const { ctx } = await context(t, {}, failure);
  await t.rejects(Promise.resolve(wrapper.lock?.(ctx)), { message: `webapp refused the lock (its bin/wrapper lock failed): ${failure.message}` });
  await t.rejects(Promise.resolve(wrapper.activate(ctx)), failure);
});
