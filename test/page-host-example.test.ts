import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { dysnomia, NO_REGISTRY_ENV, REPO_ROOT } from './helpers/cli.js';
import { failureText, parseEvents, sshTarget, twoMachines } from './helpers/deploy-fixtures.js';
import { freePorts } from './helpers/ports.js';
import { assertTomcatInstalled, httpGet, waitForHttp } from './helpers/tomcat.js';
import { DEFAULT_JAVA_OPTS } from '../examples/tomcat-server/index.mjs';

// examples/page-host: three layers in one command over sshd machines. A Tomcat server (layer 1),
// a page host web application in it that is itself a container (layer 2), and pages deployed
// into that container by a third-party plugin installed with npm in the example's folder (layer 3).
t.setTimeout(900_000);
assertTomcatInstalled();
const run = promisify(execFile);
const example = path.join(REPO_ROOT, 'examples/page-host');
// As a user would: the plugin installed with npm beside the models (no registry: a folder dependency).
await run('npm', ['install', '--offline', '--legacy-peer-deps', '--no-package-lock', '--no-audit', '--no-fund'], { cwd: example, env: { ...process.env, ...NO_REGISTRY_ENV } });

const { dir, env: coordinatorEnv, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-page-host-');
const [httpPort, shutdownPort] = (await freePorts(2)) as [number, number];
const pagesDir = path.join(dir, 'machines/test1/pages');
const baseEnv = {
  ...coordinatorEnv,
  PAGEHOST_TOMCAT_PORT: String(httpPort),
  PAGEHOST_TOMCAT_SHUTDOWN_PORT: String(shutdownPort),
  PAGEHOST_TOMCAT_BASE: path.join(dir, 'machines/test1/tomcat'),
  PAGEHOST_PAGES_DIR: pagesDir,
  PAGEHOST_TITLE: 'Pages v1',
};
const infrastructure = path.join(dir, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test2: sshTarget(test2, knownHosts, state2) }, null, 2));
const layers = path.join(example, 'layers.json');
const deploy = (args: string[], extra: Record<string, string> = {}) => dysnomia(['deploy', '--layers', layers, ...args], { env: { ...baseEnv, ...extra } });
const pageUrl = (name: string) => `http://127.0.0.1:${httpPort}/pagehost/?page=${name}`;
const operations = (stdout: string) =>
  parseEvents(stdout)
    .filter((e) => e.event === 'step' && e.status === 'done' && !e.undo && (e.action === 'activate' || e.action === 'deactivate'))
    .map((e) => `${e.action} ${e.service}`)
    .sort();
const generations = async () => {
  const read = async (profile: string) => (await readFile(path.join(coordinatorEnv.DYSNOMIA_STATEDIR, 'deployments', profile, 'current'), 'utf8')).trim();
  return { servers: await read('servers'), hosts: await read('hosts'), pages: await read('pages'), layers: await read('layers') };
};

t.teardown(async () => {
  await deploy(['--undeploy']).catch(() => undefined);
  await run('pkill', ['-9', '-f', dir]).catch(() => undefined);
});

t.test('three layers in one command: a page of layer 3 answers through the layer-2 host in the layer-1 Tomcat', async (t) => {
  const result = await deploy(['-i', infrastructure, '--json']);
  t.equal(result.code, 0, failureText(result));
  t.same(parseEvents(result.stdout).filter((e) => e.event === 'layer').map((e) => e.layer), ['servers', 'hosts', 'pages']);
  const hello = await waitForHttp(pageUrl('hello'), (a) => a.status === 200, { what: 'the hello page through the page host' });
  t.match(hello.body, '<title>Pages v1</title>', 'served by the layer-2 host');
  t.match(hello.body, 'Hello from the third layer.', 'the layer-3 page');
  t.match((await httpGet(pageUrl('about'))).body, 'Served by a page host in a Tomcat server.');
  t.same(await readdir(pagesDir).then((names) => names.sort()), ['about.html', 'hello.html'], 'the plugin put the pages in the host’s folder');
});

t.test('a change to the layer-2 host redeploys it and the pages in it, and nothing else', async (t) => {
  const result = await deploy(['-i', infrastructure, '--json'], { PAGEHOST_TITLE: 'Pages v2' });
  t.equal(result.code, 0, failureText(result));
  t.same(operations(result.stdout), ['activate about', 'activate hello', 'activate pagehost', 'deactivate about', 'deactivate hello', 'deactivate pagehost'], 'the Tomcat server is left alone');
  await waitForHttp(pageUrl('hello'), (a) => a.status === 200 && a.body.includes('<title>Pages v2</title>'), { what: 'the hello page under the new title' });
});

t.test('an activation failing in layer 3 rolls back all three layers to the previous deployment', async (t) => {
  const before = await generations();
  const refusing = path.join(dir, 'refusing-page');
  await mkdir(refusing, { recursive: true });
  await writeFile(path.join(refusing, 'refusing.html'), '<p>never served</p>\n');
  await writeFile(path.join(refusing, 'refuse'), '');
  // Every layer changes: the Tomcat server (its JVM options), the host (its title), and a page that refuses.
  const result = await deploy(['-i', infrastructure, '--json'], {
    PAGEHOST_TITLE: 'Pages v3',
    PAGEHOST_TOMCAT_JAVA_OPTS: `${DEFAULT_JAVA_OPTS} -Dpagehost.try=3`,
    PAGEHOST_EXTRA_PAGE: refusing,
  });
  t.equal(result.code, 1);
  t.match(result.stderr, /refuses to be served/);
  t.match(result.stderr, /layer pages failed, so the layers this run changed went back: hosts \(deployment generation 2\), servers \(deployment generation 1\)/);
  t.same(await generations(), before, 'every layer and the layered record are where they were');
  const hello = await waitForHttp(pageUrl('hello'), (a) => a.status === 200, { what: 'the hello page after the rollback' });
  t.match(hello.body, '<title>Pages v2</title>', 'the previous host answers again, in the previous Tomcat');
  t.equal((await httpGet(pageUrl('refusing'))).status, 404, 'the refusing page is not served');
  const tomcatOpts = await run('pgrep', ['-af', `${dir}/machines/test1/tomcat`]).then((r) => r.stdout, () => '');
  t.notMatch(tomcatOpts, 'pagehost.try=3', 'the Tomcat running is the previous one');
});

t.test('undeploy leaves no process, container or record on any target', async (t) => {
  const result = await deploy(['--undeploy', '--json']);
  t.equal(result.code, 0, failureText(result));
  t.same(parseEvents(result.stdout).filter((e) => e.event === 'layer').map((e) => e.layer), ['pages', 'hosts', 'servers']);
  await t.rejects(httpGet(pageUrl('hello')), 'Tomcat is stopped');
  t.same(await readdir(pagesDir).catch(() => []), [], 'no page left');
  for (const state of [state1, state2]) {
    const left = await dysnomia(['containers', '--query-activated-components'], { env: { DYSNOMIA_STATEDIR: state } });
    t.equal(left.stdout, '', `nothing activated in ${state}`);
    const containers = await dysnomia(['containers', '--query-containers'], { env: { DYSNOMIA_STATEDIR: state } });
    t.notMatch(containers.stdout, /tomcat-pages|pages/, 'no provided container left');
  }
  t.equal(await run('pgrep', ['-f', `${dir}/machines`]).then((r) => r.stdout.trim(), () => ''), '', 'no process left');
});
