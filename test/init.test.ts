import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { dysnomia, NO_REGISTRY_ENV, REPO_ROOT, tempDir } from './helpers/cli.js';

/** The `dysnomia …` command on the line of `printed` that starts with `  dysnomia WORDS`, as arguments. */
function printedCommand(t: Test, printed: string, words: string): string[] {
  const line = printed.split('\n').find((l) => l.startsWith(`  dysnomia ${words}`));
  t.ok(line, `the output shows a "dysnomia ${words}" command`);
  return (line ?? '').trim().split(/\s+/).slice(1);
}

t.test('dysnomia init writes a deployment to this machine that deploys and undeploys as printed', async (t) => {
  const dir = await tempDir(t, 'dysnomia-init-');
  const home = path.join(dir, 'home');
  const project = path.join(dir, 'project');
  await mkdir(home);
  await mkdir(project);
  const env = { HOME: home };

  const init = await dysnomia(['init'], { cwd: project, env });
  t.equal(init.code, 0, init.stderr);
  t.match(init.stdout, `Wrote a deployment to this machine in ${project}`);
  t.same((await readdir(project)).sort(), ['distribution.mjs', 'dysnomia.config.mjs', 'infrastructure.mjs', 'services', 'services.mjs']);
  t.equal((await stat(path.join(project, 'services/card/bin/wrapper'))).mode & 0o777, 0o755, 'the wrappers are executable');
  t.match(await readFile(path.join(project, 'infrastructure.mjs'), 'utf8'), /^\/\/ The infrastructure model/, 'the models are commented');

  const deployArgs = printedCommand(t, init.stdout, 'deploy -s');
  const deploy = await dysnomia(deployArgs, { cwd: project, env });
  t.equal(deploy.code, 0, deploy.stderr);
  t.match(deploy.stdout, /localhost: activate greeting in wrapper\n(.*\n)*?localhost: activate card in wrapper\n/, 'the greeting before the card that depends on it');
  t.equal(await readFile(path.join(project, 'output/greeting.txt'), 'utf8'), 'Hello from the greeting service\n');
  t.equal(await readFile(path.join(project, 'output/card.txt'), 'utf8'), 'A card that says:\nHello from the greeting service\n', 'the card read the greeting: dependsOn ordered them');

  const again = await dysnomia(deployArgs, { cwd: project, env });
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, '0 to deactivate, 0 to activate, 2 unchanged', 'the same deploy again changes nothing');

  const undeploy = await dysnomia(printedCommand(t, init.stdout, 'deploy --undeploy'), { cwd: project, env });
  t.equal(undeploy.code, 0, undeploy.stderr);
  t.match(undeploy.stdout, /deactivate card in wrapper\n(.*\n)*?localhost: deactivate greeting in wrapper\n/, 'the card goes first');
  t.same(await readdir(path.join(project, 'output')), [], 'both files were removed');
  // The one thing outside: V8's code cache of the engine (packages/engine/src/bundle-loader.cts), which is no state.
  const outside = (await readdir(home, { recursive: true })).filter((file) => !/^\.cache(\/dysnomia(\/(engine|deploy)-[^/]+\.cache)?)?$/.test(file));
  t.same(outside, [], 'nothing was written outside the project (its state is in .dysnomia/) but the code cache');
  t.ok((await readdir(path.join(project, '.dysnomia'))).includes('coordinator'));
});

t.test('dysnomia init refuses a folder holding any of its files, nothing written; --force overwrites', async (t) => {
  const project = await tempDir(t, 'dysnomia-init-');
  await writeFile(path.join(project, 'services.mjs'), 'mine\n');
  const refused = await dysnomia(['init'], { cwd: project });
  t.equal(refused.code, 2);
  t.match(refused.stderr, `dysnomia: error: ${project} already has services.mjs: nothing was written (--force overwrites them)`);
  t.notMatch(refused.stderr, /^\s+at /m);
  t.notMatch(refused.stderr, /Try 'dysnomia --help'/, 'not a usage error: the folder is the problem');
  t.same(await readdir(project), ['services.mjs'], 'nothing else was written');
  t.equal(await readFile(path.join(project, 'services.mjs'), 'utf8'), 'mine\n');

  const forced = await dysnomia(['init', '--force'], { cwd: project });
  t.equal(forced.code, 0, forced.stderr);
  t.match(await readFile(path.join(project, 'services.mjs'), 'utf8'), /^\/\/ The services model/, 'overwritten');

  const plugin = await dysnomia(['init', '--plugin', 'Not A Name'], { cwd: project });
  t.equal(plugin.code, 2);
  t.match(plugin.stderr, '--plugin "Not A Name": not a type name for an npm package');
  const extra = await dysnomia(['init', 'somewhere'], { cwd: project });
  t.equal(extra.code, 2);
  t.match(extra.stderr, 'unexpected argument "somewhere"');
});

/** Runs `npm run SCRIPT` in `dir` with no registry reachable, as `env -i` with only what npm needs. */
function npmRun(dir: string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...NO_REGISTRY_ENV };
  const clean = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  return new Promise((resolve) => {
    execFile('/usr/bin/env', ['-i', ...clean, 'npm', 'run', script], { cwd: dir, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

t.test('dysnomia init --plugin writes a TypeScript plugin package that builds and passes its own test as generated', async (t) => {
  const dir = await tempDir(t, 'dysnomia-init-plugin-');
  const init = await dysnomia(['init', '--plugin', '@acme/static-site'], { cwd: dir });
  t.equal(init.code, 0, init.stderr);
  const pkg = path.join(dir, 'dysnomia-plugin-static-site');
  t.match(init.stdout, `Wrote the plugin package @acme/dysnomia-plugin-static-site (type "static-site") in ${pkg}`);
  const manifest = JSON.parse(await readFile(path.join(pkg, 'package.json'), 'utf8'));
  t.match(manifest, {
    name: '@acme/dysnomia-plugin-static-site',
    type: 'module',
    peerDependencies: { '@dysnomia/engine': '^1.0.0' },
    devDependencies: { '@dysnomia/engine': '^1.0.0', typescript: '~5.9.3', '@types/node': '^20.19.0' },
  });
  t.match(JSON.parse(await readFile(path.join(pkg, 'tsconfig.json'), 'utf8')), { compilerOptions: { strict: true, module: 'NodeNext' } });

  // What `npm install` would bring, taken from this repository instead of a registry.
  await mkdir(path.join(pkg, 'node_modules/@dysnomia'), { recursive: true });
  await mkdir(path.join(pkg, 'node_modules/@types'), { recursive: true });
  await mkdir(path.join(pkg, 'node_modules/.bin'), { recursive: true });
  await symlink(path.join(REPO_ROOT, 'node_modules/typescript'), path.join(pkg, 'node_modules/typescript'));
  await symlink(path.join(REPO_ROOT, 'node_modules/@types/node'), path.join(pkg, 'node_modules/@types/node'));
  await symlink(path.join(REPO_ROOT, 'packages/engine'), path.join(pkg, 'node_modules/@dysnomia/engine'));
  await symlink('../typescript/bin/tsc', path.join(pkg, 'node_modules/.bin/tsc'));

  const build = await npmRun(pkg, 'build');
  t.equal(build.code, 0, `${build.stdout}\n${build.stderr}`);
  t.ok((await stat(path.join(pkg, 'dist/index.js'))).isFile(), 'tsc wrote dist/index.js');
  t.ok((await stat(path.join(pkg, 'dist/index.d.ts'))).isFile(), 'and its declarations');
  const test = await npmRun(pkg, 'test');
  t.equal(test.code, 0, `${test.stdout}\n${test.stderr}`);
  t.match(test.stdout, /^# pass 2$/m, "both of the package's tests passed");
  t.match(test.stdout, /^# fail 0$/m);

  // docs/plugins.md's complete TypeScript example builds in the generated package, as the page says.
  const docs = await readFile(path.join(REPO_ROOT, 'docs/plugins.md'), 'utf8');
  const example = /### A complete example \(TypeScript\)\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(docs)?.[1];
  t.match(example, /definePlugin\(\{\n {2}type: 'static-site'/, "found docs/plugins.md's example");
  const generated = await readFile(path.join(pkg, 'src/index.ts'), 'utf8');
  await writeFile(path.join(pkg, 'src/index.ts'), example ?? '');
  const docsBuild = await npmRun(pkg, 'build');
  t.equal(docsBuild.code, 0, `the example builds: ${docsBuild.stdout}\n${docsBuild.stderr}`);
  await writeFile(path.join(pkg, 'src/index.ts'), generated);
  t.equal((await npmRun(pkg, 'build')).code, 0);

  // The built plugin also works from the command line, given as a path.
  const component = path.join(dir, 'site');
  await mkdir(component);
  await writeFile(path.join(component, 'index.html'), 'hi\n');
  await writeFile(path.join(dir, 'web'), `targetDir=${path.join(dir, 'www')}\n`);
  const activate = await dysnomia(['activate', '-c', './site', '-C', './web', '-t', './dysnomia-plugin-static-site'], { cwd: dir, env: { DYSNOMIA_STATEDIR: path.join(dir, 'state') } });
  t.equal(activate.code, 0, activate.stderr);
  t.equal(await readFile(path.join(dir, 'www/site/index.html'), 'utf8'), 'hi\n');
});

t.test('dysnomia init --plugin NAME: an unscoped name, and one already spelt dysnomia-plugin-NAME', async (t) => {
  const dir = await tempDir(t, 'dysnomia-init-plugin-');
  for (const given of ['journal', 'dysnomia-plugin-journal']) {
    const init = await dysnomia(['init', '--plugin', given, '--force'], { cwd: dir });
    t.equal(init.code, 0, init.stderr);
    const manifest = JSON.parse(await readFile(path.join(dir, 'dysnomia-plugin-journal/package.json'), 'utf8'));
    t.equal(manifest.name, 'dysnomia-plugin-journal', given);
    t.match(await readFile(path.join(dir, 'dysnomia-plugin-journal/src/index.ts'), 'utf8'), "type: \"journal\"");
  }
  const again = await dysnomia(['init', '--plugin', 'journal'], { cwd: dir });
  t.equal(again.code, 2, 'without --force, a package folder already written is refused');
  t.match(again.stderr, 'already has package.json, tsconfig.json, src/index.ts, test/plugin.test.js, README.md, .gitignore: nothing was written');
});
