// Plugin files in DYSNOMIA_MODULES_PATH, outside any npm install: one that
// imports @dysnomia/engine (itself or through a file of its own) gets the very
// engine the CLI runs (its DysnomiaError keeps exit status 2, which only an
// instanceof check of the CLI's own class gives), and a self-contained one
// runs as well.
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';

async function setUp(t: Test) {
  const root = await realpath(await tempDir(t, 'dysnomia-modules-path-'));
  const modules = path.join(root, 'modules');
  await mkdir(modules);
  await mkdir(path.join(root, 'comp'));
  const run = (type: string) =>
    dysnomia(['--operation', 'activate', '--type', type, '--component', './comp', '--environment'], {
      env: { DYSNOMIA_MODULES_PATH: modules, DYSNOMIA_STATEDIR: path.join(root, 'state') },
      cwd: root,
    });
  return { root, modules, run };
}

t.test('a self-contained plugin file runs', async (t) => {
  const { root, modules, run } = await setUp(t);
  const marker = path.join(root, 'ran');
  await writeFile(
    path.join(modules, 'plain.mjs'),
    [
      "import { writeFileSync } from 'node:fs';",
      '// No import of the engine: definePlugin is optional.',
      `export default { type: 'plain', engine: '^1.0.0', activate(ctx) { writeFileSync(${JSON.stringify(marker)}, ctx.componentName); }, deactivate() {} };`,
      '',
    ].join('\n'),
  );
  const result = await run('plain');
  t.equal(result.code, 0, result.stderr);
  t.equal(await readFile(marker, 'utf8'), 'comp');
});

t.test('a plugin file importing @dysnomia/engine gets the running engine', async (t) => {
  const { modules, run } = await setUp(t);
  await writeFile(
    path.join(modules, 'refuses.mjs'),
    [
      "import { definePlugin, DysnomiaError } from '@dysnomia/engine';",
      'export default definePlugin({',
      "  type: 'refuses', engine: '^1.0.0',",
      "  activate() { throw new DysnomiaError('ERR_DYSNOMIA_INPUT', 'the component is not one for me'); },",
      '  deactivate() {},',
      '});',
      '',
    ].join('\n'),
  );
  const result = await run('refuses');
  t.equal(result.code, 2, `bad input from the plugin exits 2\n${result.stderr}`);
  t.match(result.stderr, 'the component is not one for me');
  t.notMatch(result.stderr, /internal error|^ {4}at /m, 'no stack trace: the CLI knows the error class');
});

t.test('a plugin file whose own module imports @dysnomia/engine gets it too', async (t) => {
  const { modules, run } = await setUp(t);
  await mkdir(path.join(modules, 'lib'));
  await writeFile(path.join(modules, 'lib/refusal.mjs'), "import { DysnomiaError } from '@dysnomia/engine';\nexport const refuse = () => { throw new DysnomiaError('ERR_DYSNOMIA_INPUT', 'refused by a helper'); };\n");
  await writeFile(path.join(modules, 'helped.mjs'), "import { refuse } from './lib/refusal.mjs';\nexport default { type: 'helped', engine: '^1.0.0', activate: refuse, deactivate() {} };\n");
  const result = await run('helped');
  t.equal(result.code, 2, result.stderr);
  t.match(result.stderr, 'refused by a helper');
});
