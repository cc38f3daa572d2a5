import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { createDeployHooks, PluginError } from '@dysnomia/engine';
import { applyDeployPlugins } from '@dysnomia/deploy';
import type { DeployedMapping, InfrastructureTarget } from '@dysnomia/deploy';
import healthCheck, { parseHealthCheck, runHealthCheck } from '../src/index.js';

/** An HTTP server on 127.0.0.1 answering `status()` to every request. */
async function httpServer(t: Test, status: () => number): Promise<string> {
  const server: Server = createServer((_request, response) => {
    response.statusCode = status();
    response.end('body');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/app/`;
}

/** A port nobody listens on: bound, read, closed. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function mapping(serviceProperties?: Record<string, unknown>): DeployedMapping {
  return { id: 'web@here:tomcat#0', service: 'web', name: 'web', type: 'tomcat-webapplication', entry: 'x-web', target: 'here', container: 'tomcat', after: [], ...(serviceProperties ? { serviceProperties } : {}) };
}

t.test('parseHealthCheck: HTTP and TCP checks with defaults; what is wrong, said', async (t) => {
  t.same(parseHealthCheck({ url: 'http://127.0.0.1:8080/app/' }), { kind: 'http', url: 'http://127.0.0.1:8080/app/', status: 200, timeoutSeconds: 30 });
  t.same(parseHealthCheck({ url: 'https://h/x', status: 204, timeout: 5 }), { kind: 'http', url: 'https://h/x', status: 204, timeoutSeconds: 5 });
  t.same(parseHealthCheck({ port: 3306 }), { kind: 'tcp', host: undefined, port: 3306, timeoutSeconds: 30 });
  t.same(parseHealthCheck({ port: 3306, host: 'db.local' }), { kind: 'tcp', host: 'db.local', port: 3306, timeoutSeconds: 30 });
  t.equal(parseHealthCheck('http://x'), 'must be an object: { url, status? } or { port, host? }');
  t.equal(parseHealthCheck({}), 'needs url (an HTTP check) or port (a TCP check)');
  t.equal(parseHealthCheck({ url: 'ftp://x/' }), 'url must be an http:// or https:// URL, got "ftp://x/"');
  t.equal(parseHealthCheck({ url: 'not a url' }), 'url must be an http:// or https:// URL, got "not a url"');
  t.equal(parseHealthCheck({ url: 'http://x/', status: 99 }), 'status must be an HTTP status (100-599), got 99');
  t.equal(parseHealthCheck({ url: 'http://x/', port: 1 }), 'give either url (with status) or port (with host), not both');
  t.equal(parseHealthCheck({ port: 70000 }), 'port must be a TCP port (1-65535), got 70000');
  t.equal(parseHealthCheck({ port: 80, status: 200 }), 'status goes with url, not with port');
  t.equal(parseHealthCheck({ port: 80, host: 'a b' }), 'host must be a host name or address, got "a b"');
  t.equal(parseHealthCheck({ port: 80, timeout: 0 }), 'timeout must be a number of seconds between 0 and 3600, got 0');
  t.equal(parseHealthCheck({ port: 80, retries: 3 }), 'unknown key "retries" (known: url, status, port, host, timeout)');
});

t.test('runHealthCheck: waits for the expected status; a wrong one until the timeout fails with what it saw', async (t) => {
  let answers = 0;
  const url = await httpServer(t, () => (++answers < 3 ? 503 : 200));
  const passed = await runHealthCheck({ kind: 'http', url, status: 200, timeoutSeconds: 20 }, 'localhost');
  t.match(passed, { ok: true, last: 'answered 200' });
  t.equal(answers, 3, 'tried until it answered as expected');

  const failing = await httpServer(t, () => 500);
  const failed = await runHealthCheck({ kind: 'http', url: failing, status: 200, timeoutSeconds: 1 }, 'localhost');
  t.match(failed, { ok: false, last: 'answered 500' });
});

t.test('runHealthCheck: a TCP port that accepts passes; a closed one fails with the reason', async (t) => {
  const server = createTcpServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const open = (server.address() as AddressInfo).port;
  t.match(await runHealthCheck({ kind: 'tcp', host: undefined, port: open, timeoutSeconds: 5 }, '127.0.0.1'), { ok: true, last: 'connected' });
  t.match(await runHealthCheck({ kind: 'tcp', host: '127.0.0.1', port: await closedPort(), timeoutSeconds: 1 }, 'unused'), { ok: false, last: 'ECONNREFUSED' });
});

t.test('the plugin taps plan and afterActivate; failures name the plugin and the hook', async (t) => {
  const hooks = createDeployHooks();
  // As the coordinator applies the plugins its config lists.
  applyDeployPlugins(hooks, [{ name: '@dysnomia/plugin-health-check', plugin: healthCheck }]);
  const here: InfrastructureTarget = { name: 'here', properties: { hostname: '127.0.0.1' }, containers: {}, targetProperty: 'hostname', clientInterface: 'local', hostname: '127.0.0.1' };
  const lines: string[] = [];
  const context = (m: DeployedMapping, undo = false) => ({ profile: 'default', mapping: m, target: here, undo, log: (line: string) => lines.push(line) });

  const bad = mapping({ healthCheck: { url: 'http://x/', status: 'ok' } });
  const refused = (await hooks.plan
    .promise({ profile: 'default', deployment: { profile: 'default', targets: {}, mappings: [bad], profiles: {} }, fromGeneration: undefined, transition: { activate: [bad], deactivate: [], unchanged: [] }, dryRun: false })
    .catch((e: unknown) => e)) as PluginError;
  t.ok(refused instanceof PluginError);
  t.match(refused, { code: 'ERR_DYSNOMIA_INPUT', exitCode: 2, plugin: '@dysnomia/plugin-health-check', tap: 'health-check', hook: 'hook plan' });
  t.equal(refused.message, 'plugin "@dysnomia/plugin-health-check" (tap "health-check") failed in hook plan: service "web": healthCheck: status must be an HTTP status (100-599), got "ok"');

  const url = await httpServer(t, () => 500);
  const failing = mapping({ healthCheck: { url, timeout: 1 } });
  const failed = (await hooks.afterActivate.promise(context(failing)).catch((e: unknown) => e)) as PluginError;
  t.match(failed, { code: 'ERR_DYSNOMIA_HOOK_FAILED', exitCode: 1, hook: 'hook afterActivate' });
  t.match(failed.message, new RegExp(`^plugin "@dysnomia/plugin-health-check" \\(tap "health-check"\\) failed in hook afterActivate: health check of web on here failed: expected ${url.replace(/[.]/g, '\\.')} answers 200; after \\d+\\.\\d s the last try answered 500$`));
  t.same(lines, [`health check: waiting up to 1 s until ${url} answers 200`]);

  lines.length = 0;
  await hooks.afterActivate.promise(context(failing, true));
  t.same(lines, [], 'a rollback step is not checked');
  await hooks.afterActivate.promise(context(mapping()));
  t.same(lines, [], 'a service without healthCheck is not checked');

  const server = createTcpServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await hooks.afterActivate.promise(context(mapping({ healthCheck: { port: (server.address() as AddressInfo).port } })));
  t.match(lines[1], /^health check passed after \d+\.\d s: 127\.0\.0\.1:\d+ accepts connections$/, 'the TCP host defaults to the target\'s hostname');
});

t.test('as a type it refuses, saying how it is used', async (t) => {
  t.throws(() => (healthCheck.activate as (ctx: unknown) => unknown)({}), { code: 'ERR_DYSNOMIA_INPUT', message: /give a service a "healthCheck" property/ });
});
