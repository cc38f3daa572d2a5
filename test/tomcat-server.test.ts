import { execFile } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { buildTomcatServer } from '../examples/tomcat-server/index.mjs';
import { REPO_ROOT, dysnomia, tempDir } from './helpers/cli.js';
import { freePorts, httpGet, startTomcat } from './helpers/tomcat.js';

// examples/tomcat-server: a Tomcat 10 instance as a wrapper component, through the CLI.

const run = promisify(execFile);
const BUILD = path.join(REPO_ROOT, 'examples/tomcat-server/build.mjs');

/** relative path → [mode, content] for every file under dir. */
async function snapshotTree(dir: string, prefix = ''): Promise<Record<string, [number, string]>> {
  const tree: Record<string, [number, string]> = {};
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = path.join(prefix, entry.name);
    if (entry.isDirectory()) Object.assign(tree, await snapshotTree(dir, relative));
    else tree[relative] = [(await stat(path.join(dir, relative))).mode & 0o777, await readFile(path.join(dir, relative), 'utf8')];
  }
  return tree;
}

/** The command line of a live process, or undefined when there is none (or only a zombie). */
async function commandLine(pid: number): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return text === '' ? undefined : text.split('\0').filter(Boolean);
}

const wrapperEnv = (stateDir: string) => ({ DYSNOMIA_STATEDIR: stateDir });

t.test('the builder is pure and writes the wrapper, server.xml and the container', async (t) => {
  const dir = await tempDir(t);
  const params = { name: 'tomcat-production', httpPort: 8080, shutdownPort: 8005, catalinaBase: '/var/tomcat-production' };
  await buildTomcatServer(path.join(dir, 'one'), params);
  await buildTomcatServer(path.join(dir, 'two'), { ...params });
  const one = await snapshotTree(path.join(dir, 'one'));
  t.same(one, await snapshotTree(path.join(dir, 'two')), 'same parameters, same files and modes');
  t.same(Object.keys(one).sort(), ['bin/wrapper', 'conf/server.xml', 'etc/dysnomia/containers/tomcat-production']);
  t.equal(one['bin/wrapper']?.[0], 0o755);
  t.equal(
    one['etc/dysnomia/containers/tomcat-production']?.[1],
    '# Tomcat 10 instance tomcat-production (examples/tomcat-server): deploy tomcat-webapplication components here.\n' +
      "type=tomcat-webapplication\ncatalinaBaseDir='/var/tomcat-production'\ntomcatPort=8080\n",
  );
  const serverXml = one['conf/server.xml']?.[1] ?? '';
  t.match(serverXml, /<Server port="8005" shutdown="SHUTDOWN">/);
  t.match(serverXml, /<Connector port="8080" protocol="HTTP\/1.1"/);
  t.match(serverXml, /backgroundProcessorDelay="1"/);
  t.match(serverXml, /autoDeploy="true"/);
  t.equal(serverXml.match(/<Connector /g)?.length, 1, 'one connector: HTTP, no AJP');

  await buildTomcatServer(path.join(dir, 'three'), { ...params, httpPort: 8081 });
  t.not((await snapshotTree(path.join(dir, 'three')))['conf/server.xml']?.[1], serverXml, 'another port, another server.xml');
  await t.rejects(buildTomcatServer(path.join(dir, 'bad'), { ...params, name: '../escape' }), { message: /name must be letters, digits/ });
  await t.rejects(buildTomcatServer(path.join(dir, 'bad'), { ...params, httpPort: 70000 }), { message: /httpPort must be a TCP port number/ });
  await t.rejects(buildTomcatServer(path.join(dir, 'bad'), { ...params, catalinaBase: 'relative' }), { message: /catalinaBase must be an absolute path/ });
});

t.test('build.mjs writes the component; bad arguments exit 2 and name the argument', async (t) => {
  const dir = await tempDir(t);
  const out = path.join(dir, 'out');
  const built = await run(process.execPath, [BUILD, '--name', 'tc', '--http-port', '9090', '--catalina-base', path.join(dir, 'base'), out]);
  t.equal(built.stdout, `${out}\ncontainer: ${out}/etc/dysnomia/containers/tc\n`);
  t.match(await readFile(path.join(out, 'etc/dysnomia/containers/tc'), 'utf8'), /^tomcatPort=9090$/m);
  const bad = await run(process.execPath, [BUILD, '--name', 'tc', '--http-port', 'eighty', '--catalina-base', '/b', out]).catch((error) => error);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^build\.mjs: --http-port must be a number, got "eighty"/);
  t.notMatch(bad.stderr, /    at /, 'no stack trace');
});

t.test('activate starts Tomcat (repeatable), deactivate stops it (repeatable), through the CLI', async (t) => {
  const tomcat = await startTomcat(t, { name: 'tomcat-cycle' });
  const pid = await tomcat.pid();
  if (pid === undefined) throw new Error('no pid file after activate');
  const cmdline = await commandLine(pid);
  t.ok(cmdline?.includes(`-Dcatalina.base=${tomcat.catalinaBase}`), 'the pid file names Java running with this CATALINA_BASE');
  t.match(await readFile(path.join(tomcat.catalinaBase, 'conf/server.xml'), 'utf8'), `<Connector port="${tomcat.httpPort}"`);
  t.ok((await stat(path.join(tomcat.catalinaBase, 'conf/web.xml'))).isFile(), 'the base got the default web.xml');
  const root = await httpGet(tomcat.url('/'));
  t.equal(root.status, 404, 'Tomcat answers HTTP (no ROOT application: 404)');
  const { stdout: listening } = await run('ss', ['-ltnH', `sport = :${tomcat.httpPort}`]);
  // Java shows it as the IPv4-mapped [::ffff:127.0.0.1].
  t.match(listening, new RegExp(`(^|\\s|\\[::ffff:)127\\.0\\.0\\.1\\]?:${tomcat.httpPort}\\s`), 'by default it listens on 127.0.0.1 only');
  t.notMatch(listening, new RegExp(`(\\*|0\\.0\\.0\\.0|\\[::\\]):${tomcat.httpPort}`), 'not on every interface');

  const again = await tomcat.activate();
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, `already running (pid ${pid})`);
  t.equal(await tomcat.pid(), pid, 'the second activate started nothing new');

  const stopped = await tomcat.deactivate();
  t.equal(stopped.code, 0, stopped.stderr);
  t.match(stopped.stdout, 'stopped');
  t.equal(await commandLine(pid), undefined, 'the Java process is gone');
  t.equal(await tomcat.pid(), undefined, 'the pid file is gone');
  await t.rejects(httpGet(tomcat.url('/')), 'nothing answers on the port any more');

  const stoppedAgain = await tomcat.deactivate();
  t.equal(stoppedAgain.code, 0, stoppedAgain.stderr);
  t.match(stoppedAgain.stdout, 'not running');

  const restarted = await tomcat.activate();
  t.equal(restarted.code, 0, restarted.stderr);
  t.not(await tomcat.pid(), pid, 'activate after deactivate starts a new Tomcat in the same base');
  t.equal((await httpGet(tomcat.url('/'))).status, 404);
});

t.test('two instances run at once, each with its own base, ports and process', async (t) => {
  const [a, b] = await Promise.all([startTomcat(t, { name: 'tomcat-a' }), startTomcat(t, { name: 'tomcat-b' })]);
  t.not(a.httpPort, b.httpPort);
  const [pidA, pidB] = [await a.pid(), await b.pid()];
  t.ok(pidA !== undefined && pidB !== undefined && pidA !== pidB, 'two Tomcat processes');
  t.equal((await httpGet(a.url('/'))).status, 404);
  t.equal((await httpGet(b.url('/'))).status, 404);
  t.equal((await a.deactivate()).code, 0);
  await t.rejects(httpGet(a.url('/')), 'a is stopped');
  t.equal((await httpGet(b.url('/'))).status, 404, 'b still answers');
  t.ok(await commandLine(pidB!), 'b still runs');
});

t.test('activate fails clearly when Tomcat is not installed or the port is taken', async (t) => {
  const dir = await tempDir(t);
  const wrapperContainer = path.join(dir, 'wrapper');
  await writeFile(wrapperContainer, '');
  const [port] = (await freePorts(1)) as [number];
  const activate = (component: string) =>
    dysnomia(['--operation', 'activate', '--type', 'wrapper', '--component', component, '--container', wrapperContainer], { env: wrapperEnv(path.join(dir, 'state')) });

  const noHome = await buildTomcatServer(path.join(dir, 'no-home'), {
    name: 'no-home', httpPort: port, catalinaBase: path.join(dir, 'base1'), catalinaHome: path.join(dir, 'no-tomcat-here'),
  });
  const missing = await activate(noHome.component);
  t.equal(missing.code, 1);
  t.match(missing.stderr, `no Tomcat in ${path.join(dir, 'no-tomcat-here')} (CATALINA_HOME): install it: apt-get install tomcat10`);

  const squatter = http.createServer((_request, response) => response.end('someone else'));
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
  t.teardown(() => {
    squatter.closeAllConnections();
    return new Promise((resolve) => squatter.close(resolve));
  });
  const taken = await buildTomcatServer(path.join(dir, 'taken'), { name: 'taken', httpPort: port, catalinaBase: path.join(dir, 'base2') });
  const refused = await activate(taken.component);
  t.equal(refused.code, 1);
  t.match(refused.stderr, `tomcat-server taken: port ${port} already answers: another server uses it`);
  t.equal(await readFile(path.join(dir, 'base2/tomcat.pid'), 'utf8').catch(() => 'none'), 'none', 'no Tomcat was started');

  // A listener that does not speak HTTP passes that check; Tomcat then cannot bind and exits.
  const [silentPort] = (await freePorts(1)) as [number];
  const connections = new Set<net.Socket>();
  const silent = net.createServer((socket) => connections.add(socket));
  await new Promise<void>((resolve) => silent.listen(silentPort, resolve));
  t.teardown(() => {
    for (const socket of connections) socket.destroy();
    return new Promise((resolve) => silent.close(resolve));
  });
  const blocked = await buildTomcatServer(path.join(dir, 'blocked'), { name: 'blocked', httpPort: silentPort, catalinaBase: path.join(dir, 'base3') });
  const exited = await activate(blocked.component);
  t.equal(exited.code, 1);
  t.match(exited.stderr, 'tomcat-server blocked: Tomcat exited while starting');
  t.match(exited.stderr, 'java.net.BindException: Address already in use', "the reason from Tomcat's log");
  t.equal(await readFile(path.join(dir, 'base3/tomcat.pid'), 'utf8').catch(() => 'none'), 'none', 'no stale pid file');
});
