import { DysnomiaError } from '../errors.js';
import { assertComponentName, entryOf } from './entry-name.js';

const BRAND = Symbol.for('@dysnomia/engine:build-function-component');

/**
 * A component built by a function that writes its files into `out` (our
 * analog of a Nix derivation). The same name, function source and inputs give
 * the same store entry, built once.
 */
export interface BuildFunctionComponent {
  readonly [BRAND]: true;
  readonly name: string;
  readonly inputs: unknown;
  build(out: string, inputs: unknown): Promise<void> | void;
}

export function component(def: { name: string; inputs?: unknown; build(out: string, inputs: unknown): Promise<void> | void }): BuildFunctionComponent {
  assertComponentName(def.name);
  if (typeof def.build !== 'function') throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `component ${def.name}: build must be a function`);
  return { [BRAND]: true, name: def.name, inputs: def.inputs ?? {}, build: def.build };
}

export function isBuildFunctionComponent(value: unknown): value is BuildFunctionComponent {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

export interface PreparedInputs {
  /** The derivation key: hash(name, build source, canonical inputs). */
  key: string;
  /** Store entries the inputs name. */
  references: string[];
  /** The inputs handed to build(): store entries given by name become absolute paths. */
  resolved: unknown;
  /** The inputs as the key hashes them (store entries as `{ $store: 'entry/sub/path' }`): what travels to a target that builds it. */
  canonical: unknown;
}

/**
 * Walks the inputs (JSON values; nested build-function components are built
 * first by `addNested`), collecting the store entries they name. In the key a
 * store entry is `{ $store: 'entry/sub/path' }` whatever the store folder, so
 * the key is the same on every machine.
 */
export async function prepareInputs(
  def: BuildFunctionComponent,
  storeDir: string,
  entryPath: (entry: string) => string,
  addNested: (nested: BuildFunctionComponent) => Promise<string>,
): Promise<PreparedInputs> {
  const references = new Set<string>();
  const walk = async (value: unknown, where: string): Promise<{ canonical: unknown; resolved: unknown }> => {
    if (isBuildFunctionComponent(value)) value = await addNested(value);
    if (value === null || typeof value === 'boolean' || typeof value === 'number') return { canonical: value, resolved: value };
    if (typeof value === 'string') {
      const entry = entryOf(storeDir, value);
      if (entry === undefined) return { canonical: value, resolved: value };
      references.add(entry);
      const inside = value.startsWith('/') ? value.slice(storeDir.length + 1) : value;
      return { canonical: { $store: inside }, resolved: value.startsWith('/') ? value : entryPath(entry) };
    }
    if (Array.isArray(value)) {
      const items = await Promise.all(value.map((item, i) => walk(item, `${where}[${i}]`)));
      return { canonical: items.map((i) => i.canonical), resolved: items.map((i) => i.resolved) };
    }
    if (isPlainObject(value)) {
      const canonical: Record<string, unknown> = {};
      const resolved: Record<string, unknown> = {};
      for (const key of Object.keys(value).sort()) {
        const item = value[key];
        if (item === undefined) continue;
        const walked = await walk(item, `${where}.${key}`);
        canonical[key] = walked.canonical;
        resolved[key] = walked.resolved;
      }
      return { canonical, resolved };
    }
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `component ${def.name}: input ${where} is not a JSON value, a store entry or a component (${typeof value})`);
  };
  const { canonical, resolved } = await walk(def.inputs, 'inputs');
  // node:crypto on first use: the engine's entry holds this module, and most calls build nothing.
  const { createHash } = await import('node:crypto');
  const key = createHash('sha256')
    .update(JSON.stringify(['dysnomia-build-function-1', def.name, def.build.toString(), canonical]))
    .digest('hex');
  return { key, references: [...references].sort(), resolved, canonical };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
