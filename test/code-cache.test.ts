// The engine's bundle runs with V8's code cache (packages/engine/src/bundle-loader.cts):
// written to the user's cache folder, private, one per command word; a command
// gives the same result with the cache as without it, including the import()s
// the bundle makes from cached code (commands, plugin files, npm plugins).
import { mkdir, readdir, readFile, realpath, stat, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';

async function setUp(t: Test) {
  const root = await realpath(await tempDir(t, 'dysnomia-code-cache-'));
  const modules = path.join(root, 'modules');
  await mkdir(modules);
  await mkdir(path.join(root, 'comp', 'bin'), { recursive: true });
  const marker = path.join(root, 'ran');
  // A plugin file the engine imports, and an npm plugin (wrapper) whose bin/wrapper leaves a marker.
  await writeFile(
    path.join(modules, 'plain.mjs'),
    `import { appendFileSync } from 'node:fs';\nexport default { type: 'plain', engine: '^1.0.0', activate(ctx) { appendFileSync(${JSON.stringify(marker)}, 'plain '); }, deactivate() {} };\n`,
  );
  await writeFile(path.join(root, 'comp', 'bin', 'wrapper'), `#!/bin/sh\nprintf 'wrapper-%s ' "$1" >> ${JSON.stringify(marker)}\n`);
  await chmod(path.join(root, 'comp', 'bin', 'wrapper'), 0o755);
  const env = (extra: Record<string, string> = {}) => ({ DYSNOMIA_MODULES_PATH: modules, DYSNOMIA_STATEDIR: path.join(root, 'state'), HOME: root, ...extra });
  const activate = (type: string, extra?: Record<string, string>) =>
    dysnomia(['activate', '--type', type, '--component', './comp', '--environment'], { env: env(extra), cwd: root });
  return { root, marker, env, activate, cacheDir: path.join(root, '.cache', 'dysnomia') };
}

t.test('the first call of a command writes its private cache; later calls use it and behave the same', async (t) => {
  const { marker, activate, cacheDir } = await setUp(t);
  for (let round = 0; round < 3; round++) {
    for (const type of ['plain', 'wrapper']) {
      const result = await activate(type);
      t.equal(result.code, 0, `round ${round}, ${type}: ${result.stderr}`);
      t.equal(result.stderr, '', `round ${round}, ${type}: nothing on stderr (no warning)`);
    }
  }
  t.equal(await readFile(marker, 'utf8'), 'plain wrapper-activate '.repeat(3), 'every call ran its module, cached or not');

  const files = await readdir(cacheDir);
  t.equal(files.length, 1, 'one cache for the command word "activate"');
  t.match(files[0], /^engine-[0-9a-f]{16}-.+-dysnomia-activate\.cache$/);
  t.equal((await stat(cacheDir)).mode & 0o777, 0o700, 'the folder is private');
  t.equal((await stat(path.join(cacheDir, files[0]!))).mode & 0o777, 0o600, 'the cache is private');

  const version = await dysnomia(['--version'], { env: { HOME: path.dirname(path.dirname(cacheDir)) } });
  t.equal(version.code, 0);
  t.equal((await readdir(cacheDir)).length, 2, '--version has its own cache, so it does not stand in for activate');

  const typo = await dysnomia(['depoy'], { env: { HOME: path.dirname(path.dirname(cacheDir)) } });
  t.equal(typo.code, 2);
  t.equal((await readdir(cacheDir)).length, 2, 'a command that failed leaves no cache (a mistyped word would be one each)');
});

t.test('a cache V8 refuses (another build, damaged) is replaced, and the command runs', async (t) => {
  const { marker, activate, cacheDir } = await setUp(t);
  t.equal((await activate('plain')).code, 0);
  const [name] = await readdir(cacheDir);
  const file = path.join(cacheDir, name!);
  const good = await readFile(file);
  await writeFile(file, Buffer.alloc(good.length, 7), { mode: 0o600 });
  const result = await activate('plain');
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stderr, '');
  t.not((await readFile(file))[0], 7, 'written again at exit');
  t.equal(await readFile(marker, 'utf8'), 'plain plain ');
});

t.test('a cache others can write is not read, and one is written in a private file instead', async (t) => {
  const { activate, cacheDir } = await setUp(t);
  t.equal((await activate('plain')).code, 0);
  const [name] = await readdir(cacheDir);
  const file = path.join(cacheDir, name!);
  await chmod(file, 0o666);
  const result = await activate('plain');
  t.equal(result.code, 0, result.stderr);
  t.equal((await stat(file)).mode & 0o777, 0o600, 'replaced by a private one');
});

t.test('DYSNOMIA_CODE_CACHE=off writes nothing; XDG_CACHE_HOME moves the folder', async (t) => {
  const { root, activate, cacheDir } = await setUp(t);
  t.equal((await activate('plain', { DYSNOMIA_CODE_CACHE: 'off' })).code, 0);
  await t.rejects(stat(cacheDir), { code: 'ENOENT' });
  const xdg = path.join(root, 'xdg');
  t.equal((await activate('plain', { XDG_CACHE_HOME: xdg })).code, 0);
  t.equal((await readdir(path.join(xdg, 'dysnomia'))).length, 1);
  await t.rejects(stat(cacheDir), { code: 'ENOENT' });
});

t.test('--debug compiles the bundle with its source map: traces name src/*.ts lines, and no cache is written', async (t) => {
  const { root, activate, cacheDir } = await setUp(t);
  const result = await dysnomia(['activate', '--type', 'nothing-by-this-name', '--component', './comp', '--environment', '--debug'], {
    env: { HOME: root, DYSNOMIA_STATEDIR: path.join(root, 'state') },
    cwd: root,
  });
  t.equal(result.code, 2);
  t.match(result.stderr, /packages\/engine\/src\/engine\.ts:\d+:\d+/);
  await t.rejects(stat(cacheDir), { code: 'ENOENT' });
  t.equal((await activate('plain')).code, 0, 'and a plain call afterwards works');
});
