import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DysnomiaError } from '../errors.js';
import { runNpm } from '../store/npm-source.js';
import { SourceCache } from '../deploy/source-cache.js';
import { component } from '../store/build-function.js';
import type { Store } from '../store/store.js';
import { engineVersion } from '../version.js';

/** The plugins every target gets beside the engine. */
export const RUNTIME_PLUGINS = ['@dysnomia/plugin-package'];
/** First-party plugins a target also gets when they are installed beside the engine here (services of their types activate there). */
export const OPTIONAL_RUNTIME_PLUGINS = ['@dysnomia/plugin-wrapper', '@dysnomia/plugin-process', '@dysnomia/plugin-mysql-database', '@dysnomia/plugin-tomcat-webapplication'];

/** Where the engine's CLI sits inside the runtime entry (an npm global-style prefix). */
export const RUNTIME_ENGINE_BIN = 'lib/node_modules/@dysnomia/engine/bin/dysnomia.js';

/** This engine's package folder (the one holding package.json, bin/ and dist/). */
export function enginePackageDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
}

/** A plugin package's folder, found as the engine would import it. */
async function pluginPackageDir(name: string): Promise<string> {
  const dir = await findPluginPackageDir(name);
  if (dir === undefined) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `the plugin ${name} is not installed beside the engine; install it (npm install ${name}) to deploy to remote targets`);
  return dir;
}

async function findPluginPackageDir(name: string): Promise<string | undefined> {
  for (const base of [enginePackageDir(), process.cwd()]) {
    let main: string;
    try {
      main = createRequire(path.join(base, 'package.json')).resolve(name);
    } catch {
      continue;
    }
    for (let dir = path.dirname(main); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const manifest = await readFile(path.join(dir, 'package.json'), 'utf8').catch(() => undefined);
      if (manifest !== undefined && (JSON.parse(manifest) as { name?: string }).name === name) return dir;
    }
  }
  return undefined;
}

/** A hash of what `npm pack` would put in the package (package.json and its "files"), cheap to recompute. */
async function packageContentHash(dir: string): Promise<string> {
  const manifestText = await readFile(path.join(dir, 'package.json'), 'utf8');
  const manifest = JSON.parse(manifestText) as { files?: string[] };
  const hash = createHash('sha256').update(manifestText);
  const walk = async (relative: string): Promise<void> => {
    const absolute = path.join(dir, relative);
    const info = await stat(absolute).catch(() => undefined);
    if (!info) return;
    if (info.isDirectory()) {
      for (const name of (await readdir(absolute)).sort()) await walk(path.join(relative, name));
      return;
    }
    if (relative.endsWith('.tsbuildinfo')) return;
    hash.update(`\0${relative}\0${info.mode & 0o111 ? 'x' : '-'}\0`).update(await readFile(absolute));
  };
  for (const entry of [...(manifest.files ?? [])].sort()) await walk(entry);
  return hash.digest('hex');
}

/** npm, with failures saying they happened while building the engine for the targets. */
const npm = (args: string[], cwd: string): Promise<string> => runNpm(args, cwd, 'building the engine for the targets: ');

/**
 * `npm pack` of the engine and the plugins, installed with their production
 * dependencies (from npm's cache when it has them) into one prefix, so the
 * plugins resolve this very engine as their peer dependency. No install
 * scripts: the engine needs no native module on a target.
 */
async function installRuntime(out: string, packageDirs: string[]): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-runtime-'));
  try {
    const tarballs: string[] = [];
    for (const dir of packageDirs) {
      const packed = JSON.parse(await npm(['pack', dir, '--pack-destination', work, '--json'], work)) as Array<{ filename: string }>;
      tarballs.push(path.join(work, path.basename(packed[0]!.filename)));
    }
    await npm(
      ['install', '--global', '--prefix', out, '--omit=dev', '--omit=optional', '--ignore-scripts', '--legacy-peer-deps', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs],
      work,
    );
    await rm(path.join(out, 'lib/node_modules/.package-lock.json'), { force: true });
    await pruneRuntime(out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Files nothing loads at run time: type declarations, source maps, C sources of native addons. */
const UNUSED_FILE = /\.(d\.[mc]?ts|map|c|cc|h|inl|gyp|gypi)$/;
/** Optional native helpers of ssh2 (speed-ups it does without); installed without scripts they are never built. */
const UNBUILT_ADDONS = new Set(['cpu-features', 'nan', 'buildcheck']);

/**
 * Leaves out of the runtime what never runs on a target, which was about half
 * its files: every target's bootstrap copies, hashes and imports each file.
 */
async function pruneRuntime(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (UNBUILT_ADDONS.has(entry.name) && path.basename(dir) === 'node_modules') await rm(file, { recursive: true, force: true });
      else await pruneRuntime(file);
    } else if (entry.isFile() && UNUSED_FILE.test(entry.name)) await rm(file, { force: true });
  }
}

/**
 * The store entry holding this engine and the plugins targets need, built
 * once per engine and plugin content (a build-function component keyed by
 * their hashes), then sent to targets like any other entry.
 */
export async function addRuntimeEntry(store: Store, log: (message: string) => void): Promise<string> {
  const optional = (await Promise.all(OPTIONAL_RUNTIME_PLUGINS.map(async (name) => [name, await findPluginPackageDir(name)] as const))).filter(
    (found): found is readonly [string, string] => found[1] !== undefined,
  );
  const names = [...RUNTIME_PLUGINS, ...optional.map(([name]) => name)];
  const dirs = [enginePackageDir(), ...(await Promise.all(RUNTIME_PLUGINS.map(pluginPackageDir))), ...optional.map(([, dir]) => dir)];
  // Reading every file of the packages costs more than a no-op deploy should: unchanged folders (by stat) reuse their hash.
  const cache = new SourceCache(store, path.join(store.stateDir, 'deploy-cache', 'runtime-hashes.json'));
  const hashes: string[] = [];
  for (const dir of dirs) hashes.push(await cache.memo(dir, () => packageContentHash(dir)));
  await cache.save();
  const inputs = { engine: hashes[0], plugins: Object.fromEntries(names.map((name, i) => [name, hashes[i + 1]])) };
  return store.add(
    component({
      name: `dysnomia-runtime-${engineVersion()}`,
      inputs,
      build: (out) => installRuntime(out, dirs),
    }),
    { log },
  );
}
