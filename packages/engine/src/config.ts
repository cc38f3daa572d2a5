import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeImportError } from './import-error.js';
import { DysnomiaError } from './errors.js';
import { isFile } from './probe.js';

/** The settings a config file may hold, after validation; paths are absolute. */
export interface DysnomiaConfig {
  /** The config file, when one was found. */
  file?: string;
  /** Folder that relative paths and npm plugin names are resolved from. */
  dir: string;
  modulesPath: string[];
  containersPath: string[];
  /** Plugins listed explicitly: package names, or absolute paths. */
  plugins: string[];
  stateDir?: string;
  /** Where the coordinator keeps deployment records and its profile locks (default: files in the state folder). */
  state?: StateConfig;
}

export type StateConfig = { backend: 'file' } | { backend: 'postgres'; url: string };

export const CONFIG_SEARCH_PLACES = [
  'package.json',
  '.dysnomiarc',
  '.dysnomiarc.json',
  '.dysnomiarc.yaml',
  '.dysnomiarc.yml',
  '.dysnomiarc.js',
  '.dysnomiarc.mjs',
  '.dysnomiarc.cjs',
  '.dysnomiarc.ts',
  'dysnomia.config.js',
  'dysnomia.config.mjs',
  'dysnomia.config.cjs',
  'dysnomia.config.ts',
  'dysnomia.config.json',
];

const KEYS = new Set(['modulesPath', 'containersPath', 'plugins', 'stateDir', 'state']);

/**
 * Finds and loads the config: `explicitFile` when given, else the first of
 * CONFIG_SEARCH_PLACES from `cwd` up to the project root (the nearest
 * package.json). No config is not an error: the defaults apply.
 */
export async function loadConfig(cwd: string, explicitFile?: string): Promise<DysnomiaConfig> {
  const file = explicitFile ? path.resolve(cwd, explicitFile) : await findConfigFile(cwd);
  if (file === undefined) return { dir: cwd, modulesPath: [], containersPath: [], plugins: [] };
  // cosmiconfig is loaded only when there is a file: its import costs ~25 ms on every CLI call.
  const { cosmiconfig } = await import('cosmiconfig');
  const explorer = cosmiconfig('dysnomia', { searchPlaces: CONFIG_SEARCH_PLACES, searchStrategy: 'project' });
  let result;
  try {
    result = await explorer.load(file);
  } catch (error) {
    // cosmiconfig's own message for a broken JS config can be misleading; importing it says what and where.
    const reason = /\.[cm]?js$/.test(file) ? await import(pathToFileURL(file).href).then(() => (error as Error).message, (importError: unknown) => describeImportError(importError, file)) : (error as Error).message;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DysnomiaError('ERR_DYSNOMIA_CONFIG', `${file}: config file not found`);
    }
    const message = reason.startsWith(`${file}:`) ? `cannot load config: ${reason}` : `${file}: cannot load config: ${reason}`;
    throw new DysnomiaError('ERR_DYSNOMIA_CONFIG', message, { cause: error });
  }
  if (!result || result.isEmpty) return { dir: path.dirname(file), modulesPath: [], containersPath: [], plugins: [] };
  return validateConfig(result.config, result.filepath);
}

export function validateConfig(raw: unknown, file: string): DysnomiaConfig {
  const dir = path.dirname(file);
  const fail = (problem: string) => new DysnomiaError('ERR_DYSNOMIA_CONFIG', `${file}: ${problem}`);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw fail('the config must be an object');
  const config = raw as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (!KEYS.has(key)) throw fail(`unknown key "${key}" (known keys: ${[...KEYS].join(', ')})`);
  }
  const stringList = (key: string): string[] => {
    const value = config[key];
    if (value === undefined) return [];
    if (typeof value === 'string') return value.split(':').filter(Boolean);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
    throw fail(`"${key}" must be a list of strings`);
  };
  const absolute = (p: string) => path.resolve(dir, p);
  const isPathLike = (p: string) => p.startsWith('.') || path.isAbsolute(p);
  if (config.stateDir !== undefined && typeof config.stateDir !== 'string') throw fail('"stateDir" must be a string');
  const state = config.state === undefined ? undefined : stateConfig(config.state, fail);
  return {
    file,
    dir,
    modulesPath: stringList('modulesPath').map(absolute),
    containersPath: stringList('containersPath').map(absolute),
    plugins: stringList('plugins').map((p) => (isPathLike(p) ? absolute(p) : p)),
    ...(typeof config.stateDir === 'string' ? { stateDir: absolute(config.stateDir) } : {}),
    ...(state ? { state } : {}),
  };
}

/** `state: { backend: 'file' }` or `{ backend: 'postgres', url }`; a URL never carries the password (the message never quotes it). */
function stateConfig(value: unknown, fail: (problem: string) => DysnomiaError): StateConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail('"state" must be an object: { backend: "file" } or { backend: "postgres", url: "postgres://USER@HOST:PORT/DATABASE" }');
  const state = value as Record<string, unknown>;
  for (const key of Object.keys(state)) if (key !== 'backend' && key !== 'url') throw fail(`"state": unknown key "${key}" (known keys: backend, url)`);
  if (state.backend === 'file' || state.backend === undefined) {
    if (state.url !== undefined) throw fail('"state": a url goes with backend "postgres"');
    return { backend: 'file' };
  }
  if (state.backend !== 'postgres') throw fail(`"state.backend" must be "file" or "postgres", got ${JSON.stringify(state.backend)}`);
  const problem = postgresUrlProblem(state.url);
  if (problem) throw fail(`"state.url" ${problem}`);
  return { backend: 'postgres', url: state.url as string };
}

/** What is wrong with a PostgreSQL URL for the state backend, if anything; the URL itself is never quoted (it may hold a password). */
export function postgresUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a PostgreSQL URL: postgres://USER@HOST:PORT/DATABASE';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL; write postgres://USER@HOST:PORT/DATABASE';
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return `must start with postgres:// or postgresql://, not ${url.protocol}//`;
  if (url.password !== '' || url.searchParams.has('password')) {
    return 'holds a password, and neither a config file nor a command line is a place for one: put it in PGPASSFILE, ~/.pgpass or PGPASSWORD (the URL is not shown here)';
  }
  return undefined;
}

/**
 * The first of CONFIG_SEARCH_PLACES from `cwd` upwards, stopping at the
 * project root (the first folder with a package.json), as cosmiconfig's
 * "project" search does. package.json counts only when it has a "dysnomia" key.
 */
export async function findConfigFile(cwd: string): Promise<string | undefined> {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    let isProjectRoot = false;
    for (const place of CONFIG_SEARCH_PLACES) {
      const candidate = path.join(dir, place);
      // Synchronous looks (probe.ts): ~45 misses a call, each a stat rather than an error object with its stack.
      if (!isFile(candidate)) continue;
      if (place !== 'package.json') return candidate;
      const text = await readFile(candidate, 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      isProjectRoot = true;
      if (hasDysnomiaKey(text)) return candidate;
    }
    if (isProjectRoot || dir === path.dirname(dir)) return undefined;
  }
}

function hasDysnomiaKey(packageJson: string): boolean {
  try {
    const parsed = JSON.parse(packageJson) as unknown;
    return typeof parsed === 'object' && parsed !== null && 'dysnomia' in parsed;
  } catch {
    return false;
  }
}
