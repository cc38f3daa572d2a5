import { lstat, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { buildHelloWebapp } from '../examples/hello-webapp/index.mjs';
import { dysnomia, tempDir } from './helpers/cli.js';
import { startTomcat, waitForHttp } from './helpers/tomcat.js';
import type { TomcatInstance } from './helpers/tomcat.js';

// The tomcat-webapplication plugin through the CLI, against private Tomcat 10
// instances built from examples/tomcat-server, with examples/hello-webapp.

/** Runs OP on `component` in the instance's container, found by name as a user who installed the server component would. */
function operation(tomcat: TomcatInstance, op: string, component: string) {
  return dysnomia(['--operation', op, '--component', component, '--container', tomcat.name], {
    env: { DYSNOMIA_STATEDIR: tomcat.stateDir, DYSNOMIA_CONTAINERS_PATH: tomcat.containersDir },
  });
}

const exists = (file: string) => lstat(file).then(() => true, () => false);
const servesGreeting = (greeting: string) => (answer: { status: number; body: string }) =>
  answer.status === 200 && answer.body.includes(`greeting: ${greeting}`);

t.test('activate deploys the WAR (the JSP runs), repeats do nothing, deactivate undeploys it', async (t) => {
  const tomcat = await startTomcat(t, { name: 'tomcat-web' });
  const dir = await tempDir(t);
  const { component } = await buildHelloWebapp(path.join(dir, 'hello'), { greeting: 'Hello from the test' });
  const deployed = path.join(tomcat.catalinaBase, 'webapps/hello.war');

  const first = await operation(tomcat, 'activate', component);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stderr, `deployed hello.war into ${tomcat.catalinaBase}/webapps`);
  const jsp = await waitForHttp(tomcat.url('/hello/hello.jsp'), servesGreeting('Hello from the test'), { what: 'the JSP page' });
  t.match(jsp.body, 'six times seven: 42', 'Jasper compiled and ran the JSP');
  t.match(jsp.body, /served by: Apache Tomcat\/10\./);
  const page = await waitForHttp(tomcat.url('/hello/'), (answer) => answer.status === 200, { what: 'the static page' });
  t.match(page.body, 'hello-webapp static page');
  t.ok(await exists(path.join(tomcat.stateDir, 'activated/tomcat-web/hello')), 'the activated marker is there');

  const before = await stat(deployed);
  const second = await operation(tomcat, 'activate', component);
  t.equal(second.code, 0, second.stderr);
  t.notMatch(second.stderr, 'deployed', 'nothing deployed the second time');
  const after = await stat(deployed);
  t.same([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'the deployed WAR was not touched, so Tomcat did not redeploy it');
  t.equal((await waitForHttp(tomcat.url('/hello/hello.jsp'), servesGreeting('Hello from the test'))).status, 200);

  const captured = await operation(tomcat, 'capture', component);
  t.equal(captured.code, 0, captured.stderr);
  t.same(JSON.parse(captured.stdout), {
    container: 'tomcat-web',
    catalinaBaseDir: tomcat.catalinaBase,
    webapps: ['hello.war'],
    contexts: [],
    component: { name: 'hello', webapps: { 'hello.war': 'deployed' }, contexts: {} },
  });

  const removed = await operation(tomcat, 'deactivate', component);
  t.equal(removed.code, 0, removed.stderr);
  t.notOk(await exists(deployed), 'the WAR is gone from webapps/');
  await waitForHttp(tomcat.url('/hello/hello.jsp'), (answer) => answer.status === 404, { what: '404 after deactivate' });
  t.equal((await waitForHttp(tomcat.url('/hello/'), (answer) => answer.status === 404, { what: '404 after deactivate' })).status, 404);
  t.notOk(await exists(path.join(tomcat.stateDir, 'activated/tomcat-web/hello')), 'the activated marker is gone');

  const again = await operation(tomcat, 'deactivate', component);
  t.equal(again.code, 0, again.stderr);
  const empty = await operation(tomcat, 'capture', component);
  t.same(JSON.parse(empty.stdout).component, { name: 'hello', webapps: { 'hello.war': 'missing' }, contexts: {} });
  t.same(JSON.parse(empty.stdout).webapps, []);
});

t.test('a missing Tomcat base or catalinaBaseDir fails with exit 1, naming the container', async (t) => {
  const dir = await tempDir(t);
  const { component } = await buildHelloWebapp(path.join(dir, 'hello'));
  const noBase = path.join(dir, 'tomcat-gone');
  await writeFile(noBase, `type=tomcat-webapplication\ncatalinaBaseDir=${path.join(dir, 'no-such-base')}\n`);
  const noProperty = path.join(dir, 'tomcat-unset');
  await writeFile(noProperty, 'type=tomcat-webapplication\ntomcatPort=8080\n');
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'state') };

  const gone = await dysnomia(['--operation', 'activate', '--component', component, '--container', noBase], { env });
  t.equal(gone.code, 1);
  t.equal(
    gone.stderr,
    'dysnomia: error: plugin "@dysnomia/plugin-tomcat-webapplication" failed in activate: container "tomcat-gone": ' +
      `the Tomcat base catalinaBaseDir=${path.join(dir, 'no-such-base')} is not there (it does not exist); ` +
      'activate the Tomcat server that provides this container first\n',
  );
  t.notOk(await exists(path.join(dir, 'state/activated/tomcat-gone/hello')), 'no activated marker');

  const captured = await dysnomia(['--operation', 'capture', '--component', component, '--container', noBase], { env });
  t.equal(captured.code, 1);
  t.match(captured.stderr, 'failed in capture: container "tomcat-gone"');

  const unset = await dysnomia(['--operation', 'activate', '--component', component, '--container', noProperty], { env });
  t.equal(unset.code, 2, 'a container without catalinaBaseDir is bad input');
  t.match(unset.stderr, 'plugin "@dysnomia/plugin-tomcat-webapplication" failed in activate: container "tomcat-unset" has no catalinaBaseDir property');
  t.notMatch(unset.stderr, /    at /, 'no stack trace');
});

t.test('two Tomcat instances at once each serve their own application', async (t) => {
  const [a, b] = await Promise.all([startTomcat(t, { name: 'tomcat-left' }), startTomcat(t, { name: 'tomcat-right' })]);
  const dir = await tempDir(t);
  const left = await buildHelloWebapp(path.join(dir, 'left/hello'), { greeting: 'left side' });
  const right = await buildHelloWebapp(path.join(dir, 'right/hello'), { greeting: 'right side' });
  t.equal((await operation(a, 'activate', left.component)).code, 0);
  t.equal((await operation(b, 'activate', right.component)).code, 0);
  await waitForHttp(a.url('/hello/hello.jsp'), servesGreeting('left side'), { what: "the left instance's application" });
  await waitForHttp(b.url('/hello/hello.jsp'), servesGreeting('right side'), { what: "the right instance's application" });

  t.equal((await operation(a, 'deactivate', left.component)).code, 0);
  await waitForHttp(a.url('/hello/hello.jsp'), (answer) => answer.status === 404, { what: '404 on the left after deactivate' });
  const stillRight = await waitForHttp(b.url('/hello/hello.jsp'), servesGreeting('right side'));
  t.match(stillRight.body, 'greeting: right side', 'the right instance still serves its application');
});
