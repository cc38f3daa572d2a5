// npm resolution of plugin packages, with the cache the CLI keeps in the state
// folder: a cached answer is used only while Node would give the same one.
import { mkdir, mkdtemp, readFile, realpath, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { NpmResolutionCache } from '../src/modules/npm-resolution-cache.js';
import { resolvePackageFrom } from '../src/modules/npm-resolve.js';

async function project(t: { teardown(fn: () => unknown): void }) {
  const root = await realpath(await mkdtemp(path.join(os.tmpdir(), 'dysnomia-npm-resolve-')));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const install = async (dir: string, version: string, entry = 'index.js') => {
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'dysnomia-plugin-x', version, type: 'module', exports: `./${entry}` }));
    await writeFile(path.join(dir, entry), 'export default {};\n');
  };
  await install(path.join(root, 'node_modules/dysnomia-plugin-x'), '1.0.0');
  await mkdir(path.join(root, 'app/sub'), { recursive: true });
  const cache = () => new NpmResolutionCache(path.join(root, 'state/cache/npm-resolution.json'));
  return { root, install, cache };
}

t.test('a package is resolved as Node would, and remembered', async (t) => {
  const { root, cache } = await project(t);
  const first = await resolvePackageFrom('dysnomia-plugin-x', path.join(root, 'app'), cache());
  t.same(first, { dir: path.join(root, 'node_modules/dysnomia-plugin-x'), entry: path.join(root, 'node_modules/dysnomia-plugin-x/index.js'), pkg: { name: 'dysnomia-plugin-x', version: '1.0.0', type: 'module', exports: './index.js' } });
  const saved = JSON.parse(await readFile(path.join(root, 'state/cache/npm-resolution.json'), 'utf8')) as { entries: Record<string, { entry: string }> };
  t.same(Object.values(saved.entries).map((e) => e.entry), [first?.entry], 'the state folder remembers it');
  t.same(await resolvePackageFrom('dysnomia-plugin-x', path.join(root, 'app'), cache()), first, 'a new process gets the same answer');
});

t.test('a changed package.json is resolved again', async (t) => {
  const { root, install, cache } = await project(t);
  await resolvePackageFrom('dysnomia-plugin-x', path.join(root, 'app'), cache());
  await install(path.join(root, 'node_modules/dysnomia-plugin-x'), '2.0.0', 'main.js');
  const again = await resolvePackageFrom('dysnomia-plugin-x', path.join(root, 'app'), cache());
  t.equal(again?.pkg.version, '2.0.0');
  t.same(again, await resolvePackageFrom('dysnomia-plugin-x', path.join(root, 'app')), 'what resolution without the cache gives');
});

t.test('a package installed nearer the folder wins over the remembered one', async (t) => {
  const { root, install, cache } = await project(t);
  const from = path.join(root, 'app/sub');
  await resolvePackageFrom('dysnomia-plugin-x', from, cache());
  await install(path.join(root, 'app/node_modules/dysnomia-plugin-x'), '3.0.0');
  t.equal((await resolvePackageFrom('dysnomia-plugin-x', from, cache()))?.pkg.version, '3.0.0');
});

t.test('a remembered package that is gone is resolved again', async (t) => {
  const { root, cache } = await project(t);
  await resolvePackageFrom('dysnomia-plugin-x', path.join(root, 'app'), cache());
  await unlink(path.join(root, 'node_modules/dysnomia-plugin-x/index.js'));
  t.same(await resolvePackageFrom('dysnomia-plugin-x', path.join(root, 'app'), cache()), await resolvePackageFrom('dysnomia-plugin-x', path.join(root, 'app')), 'its entry file is gone: as without the cache');
  await rm(path.join(root, 'node_modules'), { recursive: true });
  t.equal(await resolvePackageFrom('dysnomia-plugin-x', path.join(root, 'app'), cache()), undefined, 'its folder is gone');
});

t.test('a state folder that cannot be written only means no cache', async (t) => {
  const { root } = await project(t);
  await writeFile(path.join(root, 'state'), 'a file where the folder would be');
  const unwritable = new NpmResolutionCache(path.join(root, 'state/cache/npm-resolution.json'));
  t.equal((await resolvePackageFrom('dysnomia-plugin-x', path.join(root, 'app'), unwritable))?.pkg.version, '1.0.0');
  t.equal((await resolvePackageFrom('dysnomia-plugin-x', path.join(root, 'app'), unwritable))?.pkg.version, '1.0.0');
});

t.test('a package importing itself by its own name is resolved by Node', async (t) => {
  const { root } = await project(t);
  const self = path.join(root, 'self');
  await mkdir(self);
  await writeFile(path.join(self, 'package.json'), JSON.stringify({ name: 'dysnomia-plugin-self', type: 'module', exports: './entry.js' }));
  await writeFile(path.join(self, 'entry.js'), 'export default {};\n');
  t.equal((await resolvePackageFrom('dysnomia-plugin-self', self))?.entry, path.join(self, 'entry.js'));
  t.equal(await resolvePackageFrom('dysnomia-plugin-none', self), undefined);
});
