// A third-party plugin installed with npm into the user's project is found by
// its package name (dysnomia-plugin-<type>) from the working folder, runs
// every operation through the CLI, and an incompatible one is refused before
// it runs.
import { execFile } from 'node:child_process';
import { lstat, mkdir, readFile, realpath, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, REPO_ROOT, tempDir } from './helpers/cli.js';

const EXAMPLE = path.join(REPO_ROOT, 'examples/dysnomia-plugin-hello');

/** Runs npm in `cwd`; resolves with its exit status and output. */
function npm(args: string[], cwd: string, cache: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      args,
      { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', npm_config_cache: cache, npm_config_update_notifier: 'false' } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr }),
    );
  });
}

const exists = (p: string) => lstat(p).then(() => true, () => false);

t.test('a plugin npm-installed into the project serves its type', async (t) => {
  const root = await realpath(await tempDir(t, 'dysnomia-npm-plugin-'));
  const project = path.join(root, 'user-project');
  const stateDir = path.join(root, 'state');
  const targetDir = path.join(root, 'target');
  await mkdir(project);
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true }, null, 2));

  const install = await npm(
    ['install', EXAMPLE, '--no-audit', '--no-fund', '--offline', '--ignore-scripts', '--install-links=false', '--loglevel=error'],
    project,
    path.join(root, 'npm-cache'),
  );
  t.equal(install.code, 0, `npm install of the example folder succeeds\n${install.output}`);
  const installed = path.join(project, 'node_modules/dysnomia-plugin-hello');
  t.ok((await lstat(installed)).isSymbolicLink(), 'a folder install makes a symlink');
  t.equal(await realpath(installed), await realpath(EXAMPLE), 'the symlink points at examples/dysnomia-plugin-hello');
  const manifest = JSON.parse(await readFile(path.join(project, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  t.match(manifest.dependencies?.['dysnomia-plugin-hello'], /^file:/, 'the project depends on the plugin');

  // The component lives in the project; the container file names the target folder.
  const component = path.join(project, 'greeter');
  await mkdir(component);
  await writeFile(path.join(component, 'greeting.txt'), 'Hello from the user project!\n');
  await writeFile(path.join(project, 'web-container'), `# where hello components go\ntargetDir=${targetDir}\n`);
  const env = { DYSNOMIA_STATEDIR: stateDir };
  const run = (operation: string, cwd = project, extra: string[] = []) =>
    dysnomia(['--operation', operation, '--type', 'hello', '--component', './greeter', '--container', './web-container', ...extra], { env, cwd });
  const deployed = path.join(targetDir, 'greeter.txt');
  const activatedMarker = path.join(stateDir, 'activated/web-container/greeter');
  const garbageMarker = path.join(stateDir, 'garbage/web-container/greeter');

  t.test('activate writes the greeting into targetDir', async (t) => {
    const first = await run('activate');
    t.equal(first.code, 0, `first activate exits 0\n${first.stderr}`);
    t.equal(await readFile(deployed, 'utf8'), 'Hello from the user project!\n');
    t.same(await readdir(targetDir), ['greeter.txt'], 'only the deployed file, no temporary file left');
    t.equal((await readFile(activatedMarker, 'utf8')).trim(), component, 'stateful: the engine marks the component activated');
    const second = await run('activate');
    t.equal(second.code, 0, `a repeated activate exits 0\n${second.stderr}`);
    t.equal(await readFile(deployed, 'utf8'), 'Hello from the user project!\n');
    t.notMatch(second.stderr, /error/i);
  });

  t.test('capture prints the deployed files as JSON', async (t) => {
    const capture = await run('capture');
    t.equal(capture.code, 0, capture.stderr);
    t.same(JSON.parse(capture.stdout), { deployed: ['greeter.txt'] });
  });

  t.test('deactivate removes the file, and can be repeated', async (t) => {
    const first = await run('deactivate');
    t.equal(first.code, 0, `first deactivate exits 0\n${first.stderr}`);
    t.equal(await exists(deployed), false, 'the deployed file is gone');
    t.equal(await exists(activatedMarker), false, 'the activated marker is gone');
    t.equal((await readFile(garbageMarker, 'utf8')).trim(), component, 'the component is marked as garbage');
    const second = await run('deactivate');
    t.equal(second.code, 0, `a repeated deactivate exits 0\n${second.stderr}`);
    t.equal(await exists(deployed), false);
    const capture = await run('capture');
    t.equal(capture.code, 0, capture.stderr);
    t.same(JSON.parse(capture.stdout), { deployed: [] });
  });

  t.test('collect-garbage runs the plugin and clears the garbage marker', async (t) => {
    const gc = await run('collect-garbage');
    t.equal(gc.code, 0, gc.stderr);
    t.match(gc.stderr, 'hello: nothing to collect for greeter in web-container');
    t.equal(await exists(garbageMarker), false);
  });

  t.test("the plugin's own error reaches the user with its name and the operation", async (t) => {
    await writeFile(path.join(project, 'no-target'), 'colour=blue\n');
    const result = await dysnomia(['--operation', 'activate', '--type', 'hello', '--component', './greeter', '--container', './no-target'], { env, cwd: project });
    t.equal(result.code, 1, result.stderr);
    t.match(result.stderr, `plugin "dysnomia-plugin-hello" failed in activate: container "no-target" (${path.join(project, 'no-target')}) has no targetDir property`);
    t.notMatch(result.stderr, /^ {4}at /m, 'no stack trace');
  });

  t.test('from another folder the type is not found: the plugin came from the project', async (t) => {
    const elsewhere = await realpath(await tempDir(t, 'dysnomia-no-project-'));
    await mkdir(path.join(elsewhere, 'greeter'));
    await writeFile(path.join(elsewhere, 'greeter/greeting.txt'), 'unused\n');
    await writeFile(path.join(elsewhere, 'web-container'), `targetDir=${targetDir}\n`);
    const result = await dysnomia(['--operation', 'activate', '--type', 'hello', '--component', './greeter', '--container', './web-container'], {
      env: { DYSNOMIA_STATEDIR: path.join(elsewhere, 'state') },
      cwd: elsewhere,
    });
    t.equal(result.code, 2, result.stderr);
    t.match(result.stderr, 'no module found for type "hello"');
    t.match(result.stderr, '@dysnomia/plugin-hello');
    t.match(result.stderr, 'dysnomia-plugin-hello');
    t.match(result.stderr, elsewhere, 'the working folder is among the places searched');
    t.notMatch(result.stderr, /^ {4}at /m, 'no stack trace');
    t.equal(await exists(path.join(targetDir, 'greeter.txt')), false, 'nothing was deployed');
  });
});

t.test('a plugin for another engine API is refused before it runs', async (t) => {
  const project = await realpath(await tempDir(t, 'dysnomia-old-plugin-'));
  const marker = path.join(project, 'activate-ran');
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true }, null, 2));
  const pluginDir = path.join(project, 'node_modules/dysnomia-plugin-oldhello');
  await mkdir(pluginDir, { recursive: true });
  await writeFile(
    path.join(pluginDir, 'package.json'),
    JSON.stringify({ name: 'dysnomia-plugin-oldhello', version: '2.3.0', type: 'module', exports: './index.js', keywords: ['dysnomia-plugin'] }, null, 2),
  );
  // A plain object: from a temp folder the plugin could not import @dysnomia/engine.
  await writeFile(
    path.join(pluginDir, 'index.js'),
    [
      "import { writeFileSync } from 'node:fs';",
      'export default {',
      "  type: 'oldhello',",
      "  engine: '^2.0.0',",
      `  activate() { writeFileSync(${JSON.stringify(marker)}, 'activate ran'); },`,
      `  deactivate() { writeFileSync(${JSON.stringify(marker)}, 'deactivate ran'); },`,
      '};',
      '',
    ].join('\n'),
  );
  await mkdir(path.join(project, 'comp'));
  await writeFile(path.join(project, 'container'), `targetDir=${path.join(project, 'target')}\n`);

  const result = await dysnomia(['--operation', 'activate', '--type', 'oldhello', '--component', './comp', '--container', './container'], {
    env: { DYSNOMIA_STATEDIR: path.join(project, 'state') },
    cwd: project,
  });
  t.equal(result.code, 2, result.stderr);
  t.match(result.stderr, 'plugin "dysnomia-plugin-oldhello"');
  t.match(result.stderr, 'requires engine API ^2.0.0');
  t.match(result.stderr, 'this engine provides API 1.0.0');
  t.notMatch(result.stderr, /^ {4}at /m, 'no stack trace');
  t.equal(result.stdout, '');
  t.equal(await exists(marker), false, "the plugin's activate never ran");
  t.equal(await exists(path.join(project, 'state/activated')), false, 'no marker was written');
  t.equal(
    await stat(path.join(project, 'target')).then(() => true, () => false),
    false,
    'nothing was deployed',
  );
});
