import path from 'node:path';
import type { BuildRecipe } from '../agent/protocol.js';
import { DysnomiaError, EXIT_BAD_INPUT, EXIT_OPERATION_FAILED } from '../errors.js';
import { component, prepareInputs } from './build-function.js';
import { isEntryName } from './entry-name.js';
import { evaluateGlobally } from './evaluate-source.cjs';
import type { Store } from './store.js';

/** The rule a build function that may be built on a target follows, as messages say it. */
export const SELF_CONTAINED_RULE =
  'a build function built on a target travels as its source text with its inputs, so it must be self-contained: no variables from around it (only its parameters and globals such as process), modules imported inside it with await import()';

type BuildFunction = (out: string, inputs: unknown) => Promise<void> | void;

/**
 * The build function again, from its source text: an arrow or function
 * expression as it is; method shorthand (`async build(out) {…}`), which is no
 * expression, as the one member of an object literal. Evaluated at the top
 * level (evaluate-source.cts), so a name it took from around it on the coordinator
 * is a ReferenceError here.
 */
export function functionFromSource(name: string, source: string): BuildFunction {
  let value: unknown;
  try {
    value = evaluateGlobally(`(${source}\n)`);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw notSelfContained(name, error);
    try {
      value = Object.values(evaluateGlobally(`({${source}\n})`) as object)[0];
    } catch {
      value = undefined;
    }
  }
  if (typeof value !== 'function') {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `component ${name}: its build function cannot be made again from its source text (${JSON.stringify(source.slice(0, 60))}); ${SELF_CONTAINED_RULE}`);
  }
  return value as BuildFunction;
}

export function notSelfContained(name: string, error: unknown): DysnomiaError {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new DysnomiaError('ERR_DYSNOMIA_INPUT', `component ${name}: its build function is not self-contained (${what}); ${SELF_CONTAINED_RULE}`, { exitCode: EXIT_BAD_INPUT });
}

/** `entry/sub/path` of this store as an absolute path; never outside the entry, and the entry must be here. */
async function storePath(store: Store, reference: string, what: string): Promise<string> {
  const [entry = '', ...rest] = reference.split('/');
  if (!isEntryName(entry) || rest.some((part) => part === '..' || part === '.' || part === '')) {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `${what}: not a store path: ${JSON.stringify(reference)}`);
  }
  if (!(await store.has(entry))) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${what}: ${entry} is not in the target's store`, { exitCode: EXIT_OPERATION_FAILED });
  return path.join(store.path(entry), ...rest);
}

/** The canonical inputs with their `{ $store }` references made paths of this store. */
async function resolveInputs(value: unknown, store: Store, name: string): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((item) => resolveInputs(item, store, name)));
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && keys[0] === '$store' && typeof record.$store === 'string') return storePath(store, record.$store, `component ${name}`);
  const resolved: Record<string, unknown> = {};
  for (const key of keys) resolved[key] = await resolveInputs(record[key], store, name);
  return resolved;
}

/**
 * Builds a recipe into this store, as the coordinator would have built it
 * there: the same key (checked), the same derivation index, so a second
 * request finds what the first built.
 */
export async function buildFromRecipe(store: Store, recipe: BuildRecipe, log: (message: string) => void): Promise<string> {
  if (recipe.recipe === 'npm') {
    const tarball = await storePath(store, recipe.tarball, 'npm package');
    return store.add(`npm:${tarball}`, { ...(recipe.name !== undefined ? { name: recipe.name } : {}), cwd: store.stateDir, log, npmOffline: true });
  }
  const build = functionFromSource(recipe.name, recipe.source);
  const def = component({ name: recipe.name, inputs: await resolveInputs(recipe.inputs, store, recipe.name), build });
  const prepared = await prepareInputs(def, store.dir, (entry) => store.path(entry), () => {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `component ${recipe.name}: a component in its inputs is sent built, not as a component`);
  });
  if (prepared.key !== recipe.key) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `component ${recipe.name}: the target makes another build key of it than the coordinator; ${SELF_CONTAINED_RULE}`, { exitCode: EXIT_OPERATION_FAILED });
  }
  try {
    return await store.add(def, { ...(recipe.entryName !== undefined ? { name: recipe.entryName } : {}), log });
  } catch (error) {
    const cause = error instanceof DysnomiaError ? error.cause : undefined;
    if (cause instanceof Error && cause.name === 'ReferenceError') throw notSelfContained(recipe.name, cause);
    throw error;
  }
}
