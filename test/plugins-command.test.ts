import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { RECORDER_MODULE, writeExecutable, writeFileIn } from './helpers/fixtures.js';

/** A plugin whose activate leaves a file named after its type in the component. */
const pluginSource = (type: string, engine: string) => `import { writeFile } from 'node:fs/promises';
export default { type: '${type}', engine: '${engine}', activate: (ctx) => writeFile(ctx.component + '/activated-by-${type}', ''), deactivate() {} };
`;

async function installPackage(project: string, name: string, type: string, engine: string, version = '2.3.4') {
  const dir = path.join(project, 'node_modules', name);
  await writeFileIn(path.join(dir, 'package.json'), JSON.stringify({ name, version, type: 'module', main: 'index.js' }));
  await writeFileIn(path.join(dir, 'index.js'), pluginSource(type, engine));
}

interface Listed {
  type?: string;
  kind: string;
  name: string;
  version?: string;
  compatible?: boolean;
  status: string;
  foundBy: string;
  error?: string;
}

t.test('dysnomia plugins lists every module with its version, compatibility and which one is used', async (t) => {
  const project = await tempDir(t);
  await writeFileIn(path.join(project, 'package.json'), JSON.stringify({ name: 'project', private: true }));
  await installPackage(project, 'dysnomia-plugin-greeter', 'greeter', '^1.0.0');
  await installPackage(project, 'dysnomia-plugin-future', 'future', '^2.0.0', '9.0.0');
  await installPackage(project, '@acme/dysnomia-plugin-acme', 'acme', '^1.0.0');
  await installPackage(project, 'dysnomia-plugin-broken', 'broken', 'not-a-range');
  await writeExecutable(path.join(project, 'modules/greeter'), RECORDER_MODULE);
  await writeFileIn(path.join(project, 'modules/misnamed.mjs'), pluginSource('other', '^1.0.0'));
  await writeFileIn(path.join(project, 'modules/noexec'), '#!/bin/sh\n');
  await writeFileIn(path.join(project, 'dysnomia.config.json'), JSON.stringify({ plugins: ['dysnomia-plugin-not-installed'] }));
  const env = { DYSNOMIA_MODULES_PATH: path.join(project, 'modules'), DYSNOMIA_STATEDIR: path.join(project, 'state') };

  const result = await dysnomia(['plugins', '--json'], { cwd: project, env });
  t.equal(result.code, 0, result.stderr);
  const listed = JSON.parse(result.stdout) as Listed[];
  const byName = (name: string) => listed.find((m) => m.name === name);
  t.match(byName(path.join(project, 'modules/greeter')), { type: 'greeter', kind: 'executable', status: 'active' });
  t.match(byName('dysnomia-plugin-greeter'), { type: 'greeter', kind: 'plugin', version: '2.3.4', compatible: true, status: 'shadowed' });
  t.match(byName('dysnomia-plugin-future'), { type: 'future', version: '9.0.0', compatible: false, status: 'incompatible' });
  t.match(byName(path.join(project, 'modules/misnamed.mjs')), { type: 'other', status: 'error', error: 'found as "misnamed" but serves type "other": rename it to other, or fix its type' });
  t.match(byName(path.join(project, 'modules/noexec')), { type: 'noexec', status: 'error', error: `not executable: chmod +x ${path.join(project, 'modules/noexec')}` });
  t.match(byName('dysnomia-plugin-not-installed'), { status: 'error', foundBy: 'config "plugins"', error: /is not installed/ });
  t.match(byName('@acme/dysnomia-plugin-acme'), { type: 'acme', status: 'unlisted' });
  const broken = listed.find((m) => m.status === 'error' && m.foundBy.startsWith('npm'));
  t.match(broken?.error, /"engine" must be a semver range/);
  t.match(listed.find((m) => m.name === '@dysnomia/plugin-package'), { type: 'package', status: 'active', compatible: true }, "the engine's own first-party plugins are seen too");

  const table = await dysnomia(['plugins'], { cwd: project, env });
  t.equal(table.code, 0);
  const row = table.stdout.split('\n').find((line) => line.startsWith('future'));
  t.match(row, /^future\s+plugin\s+9\.0\.0\s+NO \(needs \^2\.0\.0\)\s+incompatible/);

  const noexec = await dysnomia(['activate', '-c', project, '-t', 'noexec', '-E'], { cwd: project, env });
  t.equal(noexec.code, 2, 'the config lists a missing plugin: operations refuse to start');
  await writeFileIn(path.join(project, 'dysnomia.config.json'), '{}');
  const notExecutable = await dysnomia(['activate', '-c', project, '-t', 'noexec', '-E'], { cwd: project, env });
  t.equal(notExecutable.code, 2);
  t.match(notExecutable.stderr, `- ${path.join(project, 'modules/noexec')} (exists, but is not executable: chmod +x ${path.join(project, 'modules/noexec')})`);
  t.match(table.stdout, /^acme .*list it in the config "plugins"/m);
});

t.test('a scoped third-party plugin is used once the config lists it', async (t) => {
  const project = await tempDir(t);
  await installPackage(project, '@acme/dysnomia-plugin-acme', 'acme', '^1.0.0');
  await writeFileIn(path.join(project, 'box'), 'type=acme\n');
  const unlisted = await dysnomia(['activate', '-c', project, '-C', './box'], { cwd: project, env: { DYSNOMIA_STATEDIR: path.join(project, 'state') } });
  t.equal(unlisted.code, 2);
  t.match(unlisted.stderr, 'no module found for type "acme"');
  await writeFileIn(path.join(project, 'dysnomia.config.json'), JSON.stringify({ plugins: ['@acme/dysnomia-plugin-acme'] }));
  const listed = await dysnomia(['activate', '-c', project, '-C', './box', '--debug'], { cwd: project, env: { DYSNOMIA_STATEDIR: path.join(project, 'state') } });
  t.equal(listed.code, 0, listed.stderr);
  t.ok(existsSync(path.join(project, 'activated-by-acme')), 'the listed plugin ran');
});
