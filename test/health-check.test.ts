// The first-party health-check plugin in a real deployment: a web application
// in a private Tomcat 10 that passes its check is deployed; a new version whose
// check answers 500 fails the deployment, and the previous version is back.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { unzipSync, zipSync } from 'fflate';
import { buildHelloWebapp, helloWar } from '../examples/hello-webapp/index.mjs';
import { dysnomia, tempDir } from './helpers/cli.js';
import { failureText, parseEvents } from './helpers/deploy-fixtures.js';
import { httpGet, startTomcat, waitForHttp } from './helpers/tomcat.js';

/** hello.war with a greeting, plus health.jsp answering 500: a version that deploys but is not healthy. */
async function buildUnhealthyWebapp(outDir: string, greeting: string): Promise<string> {
  const entries = unzipSync(await helloWar({ greeting }));
  entries['health.jsp'] = new TextEncoder().encode('<% response.setStatus(500); %>database unreachable\n');
  await mkdir(path.join(outDir, 'webapps'), { recursive: true });
  await writeFile(path.join(outDir, 'webapps/hello.war'), zipSync(entries));
  return outDir;
}

const greets = (greeting: string) => (answer: { status: number; body: string }) => answer.status === 200 && answer.body.includes(`greeting: ${greeting}`);

t.test('a failing health check fails the deployment and brings the previous web application back', async (t) => {
  const tomcat = await startTomcat(t, { name: 'tomcat-health' });
  const dir = await tempDir(t, 'dysnomia-health-check-');
  const state = path.join(dir, 'state');
  await buildHelloWebapp(path.join(dir, 'v1'), { greeting: 'version one' });
  await buildUnhealthyWebapp(path.join(dir, 'v2'), 'version two');
  // The plugin is found from the engine's install, as a user's `npm install @dysnomia/plugin-health-check` would be.
  await writeFile(path.join(dir, 'dysnomia.config.json'), JSON.stringify({ plugins: ['@dysnomia/plugin-health-check'], stateDir: 'state' }));
  await writeFile(
    path.join(dir, 'infrastructure.json'),
    JSON.stringify({ here: { properties: { hostname: '127.0.0.1', stateDir: state }, clientInterface: 'local', containers: { [tomcat.name]: { type: 'tomcat-webapplication', catalinaBaseDir: tomcat.catalinaBase, tomcatPort: tomcat.httpPort } } } }),
  );
  await writeFile(path.join(dir, 'distribution.json'), JSON.stringify({ hello: { targets: [{ target: 'here', container: tomcat.name }] } }));
  const deploy = async (version: string, healthCheck: Record<string, unknown>) => {
    await writeFile(path.join(dir, 'services.json'), JSON.stringify({ hello: { pkg: `./${version}`, type: 'tomcat-webapplication', healthCheck } }));
    return dysnomia(['deploy', '-s', 'services.json', '-i', 'infrastructure.json', '-d', 'distribution.json', '--json'], { cwd: dir });
  };
  const checkLines = (stdout: string) => parseEvents(stdout).filter((e) => e.event === 'output' && String(e.line).startsWith('health check')).map((e) => String(e.line));

  const first = await deploy('v1', { url: tomcat.url('/hello/'), status: 200, timeout: 60 });
  t.equal(first.code, 0, failureText(first));
  t.match(checkLines(first.stdout), [`health check: waiting up to 60 s until ${tomcat.url('/hello/')} answers 200`, /^health check passed after \d+\.\d s: /]);
  t.ok(greets('version one')(await httpGet(tomcat.url('/hello/hello.jsp'))), 'version one is served once the deployment is done');

  // Version two deploys (Tomcat serves it) but its health page answers 500.
  const second = await deploy('v2', { url: tomcat.url('/hello/health.jsp'), status: 200, timeout: 15 });
  t.equal(second.code, 1, 'the deployment failed');
  t.match(
    second.stderr,
    new RegExp(
      `activating hello on here \\(container ${tomcat.name}\\) failed: plugin "@dysnomia/plugin-health-check" \\(tap "health-check"\\) failed in hook afterActivate: ` +
        `health check of hello on here failed: expected ${tomcat.url('/hello/health.jsp').replace(/[.]/g, '\\.')} answers 200; after \\d+\\.\\d s the last try answered 500`,
    ),
  );
  t.match(second.stderr, 'rolled back to the previous deployment (deployment generation 1)');
  const back = await waitForHttp(tomcat.url('/hello/hello.jsp'), greets('version one'), { what: 'version one again', timeoutMs: 60_000 });
  t.equal(back.status, 200, 'the previous version answers again, checked over HTTP');
  t.equal((await waitForHttp(tomcat.url('/hello/health.jsp'), (a) => a.status === 404, { what: 'no health.jsp in version one', timeoutMs: 60_000 })).status, 404);
  t.same((await readdir(path.join(state, 'deployments/default'))).filter((f) => /^\d+\.json$/.test(f)), ['1.json'], 'no new generation was recorded');

  const bad = await deploy('v2', { url: 'ftp://127.0.0.1/' });
  t.equal(bad.code, 2, 'a malformed check is bad input');
  t.match(bad.stderr, 'failed in hook plan: service "hello": healthCheck: url must be an http:// or https:// URL, got "ftp://127.0.0.1/"');
  t.ok(greets('version one')(await httpGet(tomcat.url('/hello/hello.jsp'))), 'nothing changed');
});
