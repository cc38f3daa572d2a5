import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import t from 'tap';
import { InstalledPackages } from '../packages/engine/src/remote/installed-packages.js';
import { NO_REGISTRY_ENV, REPO_ROOT, tempDir } from './helpers/cli.js';
import { manifestOf, startLocalRegistry, tarballOfFolder } from './helpers/local-registry.js';
import type { RegistryPackage } from './helpers/local-registry.js';

// Every workspace package packed as `npm publish` would, checked as npm users meet it;
// then one `npm install @dysnomia/engine` into an empty project from a registry this test
// serves on 127.0.0.1 (the packed packages and their installed dependencies), with an empty cache.
t.setTimeout(300_000);
const run = promisify(execFile);

const rootManifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
const dir = await tempDir(t, 'dysnomia-publishable-');
const tarballs = path.join(dir, 'tarballs');
await mkdir(tarballs);

/** Environment for npm: none of the npm_* variables of the `npm test` this runs under, and no registry unless given. */
function npmEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return { ...env, ...NO_REGISTRY_ENV, ...extra };
}

interface Packed {
  folder: string;
  manifest: Record<string, unknown> & { name: string; version: string };
  files: string[];
  tarball: Buffer;
}
const packed: Packed[] = [];
for (const folder of rootManifest.workspaces) {
  const cwd = path.join(REPO_ROOT, folder);
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tarballs], { cwd, env: npmEnv({ npm_config_cache: path.join(dir, 'npm-cache-pack') }) });
  const [result] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed.push({ folder, manifest: await manifestOf(cwd), files: result!.files.map((f) => f.path), tarball: await readFile(path.join(tarballs, result!.filename)) });
}

const REPOSITORY = /^git\+https:\/\/github\.com\/[\w.-]+\/[\w.-]+\.git$/;

for (const pkg of packed) {
  t.test(`${pkg.manifest.name} is publishable as it is`, async (t) => {
    const m = pkg.manifest as Record<string, any>;
    t.match(m.repository, { type: 'git', url: REPOSITORY, directory: pkg.folder }, 'repository names the folder');
    t.match(m.homepage, /^https:\/\//, 'homepage');
    t.match(m.bugs, { url: /^https:\/\/.*\/issues$/ }, 'bugs');
    t.type(m.author, 'string', 'author');
    t.equal(m.license, 'MIT');
    t.ok(pkg.files.includes('LICENSE'), 'ships its LICENSE');
    t.ok(pkg.files.includes('README.md'), 'ships a README');
    t.same(pkg.files.filter((f) => f.endsWith('.map')), [], 'no source maps pointing to sources that are not shipped');
    t.same(pkg.files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.tsbuildinfo')), [], 'no sources, tests or build info');
    const license = await readFile(path.join(REPO_ROOT, pkg.folder, 'LICENSE'), 'utf8');
    t.match(license, /^MIT License/, 'the LICENSE is the MIT text');
    const readme = await readFile(path.join(REPO_ROOT, pkg.folder, 'README.md'), 'utf8');
    t.match(readme, new RegExp(`^# ${pkg.manifest.name.replace('/', '\\/')}\\n`), 'the README says what it is');
    t.match(readme, /npm install /, 'and how to install it');
    t.same([...readme.matchAll(/\]\((?!https?:\/\/|#)([^)]+)\)/g)].map((l) => l[1]), [], 'links work from npm: none relative to the repository');
    const { messages } = await publint({ pack: { tarball: pkg.tarball.buffer.slice(pkg.tarball.byteOffset, pkg.tarball.byteOffset + pkg.tarball.byteLength) as ArrayBuffer }, level: 'warning', strict: true });
    t.same(messages.map((message) => formatMessage(message, pkg.manifest, { color: false })), [], 'publint finds nothing');
  });
}

t.test('one install gives a working CLI with the five first-party types', async (t) => {
  // The registry serves the packed packages and every package they depend on, as installed here.
  const installed = new InstalledPackages();
  const roots = ['packages/engine', 'packages/deploy'].map((folder) => installed.load(path.join(REPO_ROOT, folder)));
  const ours = new Set(packed.map((p) => p.manifest.name));
  const served: RegistryPackage[] = packed.map((p) => ({ manifest: p.manifest, tarball: p.tarball }));
  for (const pkg of InstalledPackages.closure(roots)) {
    if (ours.has(pkg.name)) continue;
    served.push({ manifest: await manifestOf(pkg.dir), tarball: await tarballOfFolder(pkg.dir) });
  }
  const registry = await startLocalRegistry(served);
  t.teardown(() => registry.close());

  const project = path.join(dir, 'project');
  await mkdir(project);
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'my-deployment', private: true, type: 'module' }));
  const env = npmEnv({ npm_config_registry: registry.url, npm_config_offline: 'false', npm_config_cache: path.join(dir, 'npm-cache-install'), HOME: path.join(dir, 'home') });
  await run('npm', ['install', '@dysnomia/engine', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project, env });
  // npm asks for optional dependencies and optional peers too (native addons, typescript), and does without them.
  const optional = new Set(served.flatMap(({ manifest }) => [
    ...Object.keys((manifest.optionalDependencies as Record<string, string> | undefined) ?? {}),
    ...Object.entries((manifest.peerDependenciesMeta as Record<string, { optional?: boolean }> | undefined) ?? {}).filter(([, meta]) => meta.optional).map(([name]) => name),
  ]));
  t.same([...new Set(registry.misses)].filter((name) => !optional.has(name)), [], 'every package the install needs came from the packed set and its dependencies');

  const { stdout } = await run(path.join(project, 'node_modules/.bin/dysnomia'), ['plugins', '--json'], { cwd: project, env });
  const modules = JSON.parse(stdout) as Array<{ type?: string; name: string; status: string }>;
  const active = modules.filter((m) => m.status === 'active').map((m) => `${m.type} ${m.name}`).sort();
  t.same(active, ['mysql-database @dysnomia/plugin-mysql-database', 'package @dysnomia/plugin-package', 'process @dysnomia/plugin-process', 'tomcat-webapplication @dysnomia/plugin-tomcat-webapplication', 'wrapper @dysnomia/plugin-wrapper'], 'dysnomia plugins lists the five types');
  const deploy = await run(path.join(project, 'node_modules/.bin/dysnomia'), ['deploy', '--help'], { cwd: project, env });
  t.match(deploy.stdout, /^Usage: dysnomia deploy/, 'and the coordinator commands are there');

  // A new user's first steps (README): dysnomia init in the project, then the deploy it prints.
  const bin = path.join(project, 'node_modules/.bin/dysnomia');
  const init = await run(bin, ['init'], { cwd: project, env });
  // The engine is the project's own, not on PATH: the printed commands run it through npx.
  const printed = init.stdout.split('\n').find((line) => line.startsWith('  npx dysnomia deploy -s'));
  t.ok(printed, `init printed the deploy command, through npx:\n${init.stdout}`);
  t.match(init.stdout, /^ {2}npx dysnomia deploy --undeploy$/m);
  await run(bin, (printed ?? '').trim().split(/\s+/).slice(2), { cwd: project, env });
  t.equal(await readFile(path.join(project, 'output/card.txt'), 'utf8'), 'A card that says:\nHello from the greeting service\n', 'the installed engine deployed what init wrote');
  await run(bin, ['deploy', '--undeploy'], { cwd: project, env });
  t.same(await readdir(path.join(project, 'output')), [], 'and undeployed it');
});
