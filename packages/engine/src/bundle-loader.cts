import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

/** Set to `off` to compile the engine's bundle afresh on every start (no code cache read or written). */
export const CODE_CACHE_ENV = 'DYSNOMIA_CODE_CACHE';
const STALE_CACHE_MS = 7 * 24 * 3600 * 1000;

/**
 * Loads a package's bundle (dist/bundle.cjs, CommonJS) and gives its
 * exports; dist/<name>-bundle.cjs calls it once per process, and every facade
 * of a bundled module (ES modules too) gets the bundle from there. CommonJS
 * itself, so the CLI reaches the engine without Node's ESM loader.
 *
 * Compiling a bundle (the engine's is ~430 KB) was a third of a CLI call's
 * own time and Node 20 has no compile cache, so the bundle runs as a
 * vm.Script with V8's code cache: read from the user's cache folder, and written there at
 * exit when it was missing or V8 refused it (another Node, other flags).
 * One cache per command word, so a `dysnomia --version` does not leave the
 * cache of `dysnomia activate` without the functions an activation compiles.
 * With source maps on (--debug) Node compiles the bundle as any CommonJS
 * module, so stack traces name src/*.ts lines.
 *
 * `key` names the bundle's contents (the build writes it): V8 only checks a
 * cache against the source's length, so a cache of another build must never
 * be offered. `name` (engine, deploy) starts its caches' names.
 */
export function loadBundle(file: string, key: string, name: string, importer: (specifier: string) => Promise<unknown>): Record<string, unknown> {
  const bundleUrl = pathToFileURL(file).href;
  // The bundle's import(...) calls, rewritten by the build to call this (see scripts/bundle.mjs): through `importer`,
  // an import() in the file that called this, beside the bundle, so a package name is found from the bundle's package.
  const importModule = (specifier: string) => importer(specifier.startsWith('.') ? new URL(specifier, bundleUrl).href : specifier);
  const folder = codeCacheFolder();
  if (process.sourceMapsEnabled || folder === undefined) {
    // Node's own CommonJS compile, which reads the source map when they are on.
    // paths: where its require() looks for packages, as for any module in the bundle's folder.
    const paths = createRequire(file).resolve.paths('x') ?? [];
    const module = Object.assign(new Module(file), { filename: file, paths, bundleUrl, importModule }) as unknown as NodeModule & { _compile(source: string, file: string): void };
    module._compile(readFileSync(file, 'utf8'), file);
    return module.exports as Record<string, unknown>;
  }

  const cacheFile = path.join(folder, `${name}-${key}-${process.versions.v8}-${process.arch}-${commandWord()}.cache`);
  const cachedData = readOwnFile(cacheFile);
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`, {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  const module = { exports: {} as Record<string, unknown>, bundleUrl, importModule };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, path.dirname(file));
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit, so the cache holds the functions this command compiled, not only the bundle's top level;
    // only after a success, so a mistyped command word leaves no cache behind.
    process.once('exit', (code) => {
      if (code === 0) writeCodeCache(folder, cacheFile, `${name}-`, key, () => script.createCachedData());
    });
  }
  return module.exports;
}

/** $XDG_CACHE_HOME/dysnomia or ~/.cache/dysnomia; none without a home, or when DYSNOMIA_CODE_CACHE=off. */
function codeCacheFolder(): string | undefined {
  if (process.env[CODE_CACHE_ENV] === 'off') return undefined;
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME ? path.join(process.env.HOME, '.cache') : undefined);
  return base === undefined || !path.isAbsolute(base) ? undefined : path.join(base, 'dysnomia');
}

/** The program and its command's first word (`activate`, `agent`, `deploy`; `version`; `-` for an operation given by options). */
function commandWord(): string {
  const program = path.basename(process.argv[1] ?? '').replace(/\.[cm]?js$/, '');
  const word = process.argv[2] ?? '';
  const kind = /^[a-z][a-z-]{0,30}$/.test(word) ? word : word === '-v' || word === '--version' ? 'version' : '-';
  return `${/^[a-z][a-z-]{0,40}$/.test(program) ? program : 'node'}-${kind}`;
}

/**
 * Code V8 runs as it stands, so it is read only from a file and folder that
 * are this user's and that no one else can write.
 */
function readOwnFile(file: string): Buffer | undefined {
  try {
    if (!isPrivate(path.dirname(file)) || !isPrivate(file)) return undefined;
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

function isPrivate(file: string): boolean {
  const info = statSync(file, { throwIfNoEntry: false });
  return info !== undefined && info.uid === process.getuid?.() && (info.mode & 0o022) === 0;
}

/** Best effort: a cache that cannot be written only costs the next start its compile time. */
function writeCodeCache(folder: string, file: string, prefix: string, key: string, data: () => Buffer): void {
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    if (!isPrivate(folder)) return;
    // Caches of other builds left unused for a week go (two installs in use keep theirs).
    const unusedSince = Date.now() - STALE_CACHE_MS;
    for (const name of readdirSync(folder)) {
      if (!name.startsWith(prefix) || name.startsWith(`${prefix}${key}-`)) continue;
      const other = path.join(folder, name);
      const info = statSync(other, { throwIfNoEntry: false });
      if (info !== undefined && Math.max(info.atimeMs, info.mtimeMs) < unusedSince) unlinkSync(other);
    }
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, data(), { mode: 0o600 });
    renameSync(temporary, file);
  } catch {
    // Nothing to do: the next start compiles the bundle again.
  }
}
