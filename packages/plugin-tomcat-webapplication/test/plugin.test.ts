import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { OperationContext } from '@dysnomia/engine';
import plugin from '../src/index.js';
import type { CaptureResult } from '../src/index.js';

interface Fixture {
  dir: string;
  component: string;
  base: string;
  ctx: (properties?: Record<string, string | string[]>) => OperationContext;
  warnings: string[];
}

async function writeIn(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** A component with webapps/hello.war and conf/Catalina/hello.xml, and an empty Tomcat base. */
async function fixture(t: Test): Promise<Fixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tomcat-webapplication-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const component = path.join(dir, 'hello');
  await writeIn(path.join(component, 'webapps/hello.war'), 'WAR v1');
  await writeIn(path.join(component, 'conf/Catalina/hello.xml'), '<Context/>');
  await chmod(path.join(component, 'conf/Catalina/hello.xml'), 0o600);
  await chmod(path.join(component, 'webapps/hello.war'), 0o444);
  const base = path.join(dir, 'base');
  await mkdir(path.join(base, 'webapps'), { recursive: true });
  const warnings: string[] = [];
  const ctx = (properties: Record<string, string | string[]> = { catalinaBaseDir: base }): OperationContext => ({
    operation: 'activate',
    type: 'tomcat-webapplication',
    component,
    componentName: 'hello',
    container: { name: 'tomcat-test', properties, argument: 'tomcat-test' },
    stateDir: path.join(dir, 'state'),
    env: {},
    log: { debug() {}, info() {}, warn: (message: string) => warnings.push(message), error() {} },
    signal: new AbortController().signal,
    run: async () => {
      throw new Error('the plugin runs no programs');
    },
  });
  return { dir, component, base, ctx, warnings };
}

const exists = (file: string) => lstat(file).then(() => true, () => false);

t.test('activate copies the WARs and context files into the base, atomically and only once', async (t) => {
  const f = await fixture(t);
  t.equal(await plugin.activate(f.ctx()), undefined, 'activate prints nothing');
  t.equal(await readFile(path.join(f.base, 'webapps/hello.war'), 'utf8'), 'WAR v1');
  t.equal(await readFile(path.join(f.base, 'conf/Catalina/localhost/hello.xml'), 'utf8'), '<Context/>');
  t.same(await readdir(f.base), ['conf', 'webapps'], 'no staging folder left behind');
  t.same(await readdir(path.join(f.base, 'conf/Catalina')), ['localhost'], 'no staging folder left in conf/Catalina');
  t.equal((await stat(path.join(f.base, 'webapps/hello.war'))).mode & 0o777, 0o644);
  t.equal((await stat(path.join(f.base, 'conf/Catalina/localhost/hello.xml'))).mode & 0o777, 0o600, 'a private descriptor stays private');

  const before = await stat(path.join(f.base, 'webapps/hello.war'));
  await plugin.activate(f.ctx());
  const after = await stat(path.join(f.base, 'webapps/hello.war'));
  t.equal(after.ino, before.ino, 'an identical WAR is not rewritten (Tomcat would redeploy it)');
  t.equal(after.mtimeMs, before.mtimeMs);
});

t.test('activate replaces a different WAR of the same name by a rename', async (t) => {
  const f = await fixture(t);
  await writeFile(path.join(f.base, 'webapps/hello.war'), 'WAR v0');
  const old = await stat(path.join(f.base, 'webapps/hello.war'));
  await plugin.activate(f.ctx());
  const now = await stat(path.join(f.base, 'webapps/hello.war'));
  t.equal(await readFile(path.join(f.base, 'webapps/hello.war'), 'utf8'), 'WAR v1');
  t.not(now.ino, old.ino, 'a new file was renamed into place, not written over the old one');
});

t.test('a link in the base named like a WAR is replaced, its target left alone', async (t) => {
  const f = await fixture(t);
  const outside = path.join(f.dir, 'outside.war');
  await writeFile(outside, 'not yours');
  await symlink(outside, path.join(f.base, 'webapps/hello.war'));
  await plugin.activate(f.ctx());
  t.equal(await readFile(outside, 'utf8'), 'not yours', 'the file outside the base is untouched');
  t.notOk((await lstat(path.join(f.base, 'webapps/hello.war'))).isSymbolicLink(), 'the link became a regular file');
  await plugin.deactivate(f.ctx());
  t.equal(await readFile(outside, 'utf8'), 'not yours');
});

t.test('only webapps/*.war and visible files are deployed; a linked WAR is copied as a file', async (t) => {
  const f = await fixture(t);
  await writeIn(path.join(f.component, 'webapps/README.txt'), 'not a war');
  await writeIn(path.join(f.component, 'webapps/.hidden.war'), 'hidden');
  await mkdir(path.join(f.component, 'webapps/dir.war'));
  await writeIn(path.join(f.dir, 'elsewhere/linked.war'), 'LINKED');
  await symlink(path.join(f.dir, 'elsewhere/linked.war'), path.join(f.component, 'webapps/linked.war'));
  await plugin.activate(f.ctx());
  t.same((await readdir(path.join(f.base, 'webapps'))).sort(), ['hello.war', 'linked.war']);
  t.notOk((await lstat(path.join(f.base, 'webapps/linked.war'))).isSymbolicLink(), 'a copy, not a link into the component');
  t.equal(await readFile(path.join(f.base, 'webapps/linked.war'), 'utf8'), 'LINKED');
});

t.test('deactivate removes the files and the folder Tomcat expanded, and can be repeated', async (t) => {
  const f = await fixture(t);
  await plugin.activate(f.ctx());
  await writeIn(path.join(f.base, 'webapps/hello/META-INF/war-tracker'), '');
  await writeIn(path.join(f.base, 'webapps/other/index.html'), 'an exploded application of someone else');
  await plugin.deactivate(f.ctx());
  t.notOk(await exists(path.join(f.base, 'webapps/hello.war')));
  t.notOk(await exists(path.join(f.base, 'webapps/hello')), 'the expanded copy is gone, so a restarted Tomcat does not serve it');
  t.notOk(await exists(path.join(f.base, 'conf/Catalina/localhost/hello.xml')));
  t.ok(await exists(path.join(f.base, 'webapps/other/index.html')), 'a folder Tomcat did not expand from a WAR stays');
  await plugin.deactivate(f.ctx());
  t.same(f.warnings, [], 'nothing to warn about');
});

t.test('deactivate of a component never activated succeeds and touches nothing', async (t) => {
  const f = await fixture(t);
  await plugin.deactivate(f.ctx());
  t.same(await readdir(path.join(f.base, 'webapps')), []);
});

t.test("deactivate leaves another version's WAR of the same name in place", async (t) => {
  const f = await fixture(t);
  await writeFile(path.join(f.base, 'webapps/hello.war'), 'WAR v2');
  await plugin.deactivate(f.ctx());
  t.equal(await readFile(path.join(f.base, 'webapps/hello.war'), 'utf8'), 'WAR v2');
  t.match(f.warnings.join('\n'), /left .*hello\.war in place: its content is not hello's/);
});

t.test('deactivate when the Tomcat base is gone succeeds with a warning', async (t) => {
  const f = await fixture(t);
  await rm(f.base, { recursive: true });
  await plugin.deactivate(f.ctx());
  t.match(f.warnings.join('\n'), /container "tomcat-test": the Tomcat base is gone/);
});

t.test('a missing or wrong catalinaBaseDir is an error naming the container', async (t) => {
  const f = await fixture(t);
  await t.rejects(plugin.activate(f.ctx({})), { message: /container "tomcat-test" has no catalinaBaseDir property/ });
  await t.rejects(plugin.activate(f.ctx({ catalinaBaseDir: 'relative/base' })), { message: /catalinaBaseDir must be an absolute path, got "relative\/base"/ });
  await t.rejects(plugin.activate(f.ctx({ catalinaBaseDir: ['/a', '/b'] })), { message: /catalinaBaseDir must be one path/ });
  await t.rejects(plugin.deactivate(f.ctx({})), { message: /has no catalinaBaseDir property/ });
});

t.test('activate into a missing Tomcat base fails, naming the container and the folder', async (t) => {
  const f = await fixture(t);
  const missing = path.join(f.dir, 'no-such-base');
  await t.rejects(plugin.activate(f.ctx({ catalinaBaseDir: missing })), {
    message: `container "tomcat-test": the Tomcat base catalinaBaseDir=${missing} is not there (it does not exist); activate the Tomcat server that provides this container first`,
  });
  await rm(path.join(f.base, 'webapps'), { recursive: true });
  await t.rejects(plugin.activate(f.ctx()), { message: /catalinaBaseDir=.*base is not there \(.*base\/webapps does not exist\)/ });
  t.notOk(await exists(path.join(f.base, 'webapps')), 'nothing was created');
  t.notOk(await exists(missing));
});

t.test('a component with nothing to deploy is an error', async (t) => {
  const f = await fixture(t);
  await rm(path.join(f.component, 'webapps'), { recursive: true });
  await rm(path.join(f.component, 'conf'), { recursive: true });
  await t.rejects(plugin.activate(f.ctx()), { message: /component hello .* has nothing to deploy: no webapps\/\*\.war and no conf\/Catalina\/\* files/ });
});

t.test('capture lists what the base holds and the state of each of the component files', async (t) => {
  const f = await fixture(t);
  const capture = plugin.capture!.bind(plugin);
  await writeIn(path.join(f.base, 'webapps/other.war'), 'someone else');
  t.same((await capture(f.ctx())) as CaptureResult, {
    container: 'tomcat-test',
    catalinaBaseDir: f.base,
    webapps: ['other.war'],
    contexts: [],
    component: { name: 'hello', webapps: { 'hello.war': 'missing' }, contexts: { 'hello.xml': 'missing' } },
  });
  await plugin.activate(f.ctx());
  await writeFile(path.join(f.base, 'conf/Catalina/localhost/hello.xml'), '<Context reloadable="true"/>');
  t.same((await capture(f.ctx())) as CaptureResult, {
    container: 'tomcat-test',
    catalinaBaseDir: f.base,
    webapps: ['hello.war', 'other.war'],
    contexts: ['hello.xml'],
    component: { name: 'hello', webapps: { 'hello.war': 'deployed' }, contexts: { 'hello.xml': 'different' } },
  });
  await rm(f.base, { recursive: true });
  await t.rejects(capture(f.ctx()), { message: /container "tomcat-test": the Tomcat base .* is not there/ });
});

t.test('the plugin is not stateful and serves tomcat-webapplication', (t) => {
  t.equal(plugin.type, 'tomcat-webapplication');
  t.equal(plugin.stateful, false);
  t.equal(plugin.meta?.name, '@dysnomia/plugin-tomcat-webapplication');
  t.end();
});
