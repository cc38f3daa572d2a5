import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DysnomiaError, inputError } from '@dysnomia/engine/internal/errors.js';
import { describeImportError } from '@dysnomia/engine/internal/import-error.js';

/** A model file's value, and where in the file a value sits (JSON and YAML only). */
export interface ModelSource {
  file: string;
  value: unknown;
  /** The line of the value at `keys` (object keys / array indexes), or of its key with `ofKey`, when the format tells. */
  lineOf(keys: Array<string | number>, ofKey?: boolean): number | undefined;
}

/** A model larger than this is a mistake (or an attack), not a deployment. */
export const MAX_MODEL_BYTES = 16 * 1024 * 1024;
/** YAML aliases a model may use: enough for any real model, far too few for an alias bomb. */
const MAX_YAML_ALIASES = 100;

const JS = new Set(['.js', '.mjs', '.cjs']);
const TS = new Set(['.ts', '.mts', '.cts']);
const YAML = new Set(['.yaml', '.yml']);

/**
 * Loads an infrastructure, packages (or later services/distribution) model:
 * JS (default export), TS (compiled with the `typescript` package when it is
 * installed, since Node 20 cannot run TS), JSON or YAML.
 */
export async function loadModelFile(file: string, kind: string): Promise<ModelSource> {
  const absolute = path.resolve(file);
  const extension = path.extname(absolute).toLowerCase();
  // Checked before anything reads it: a FIFO or a device would block a read forever.
  const info = await stat(absolute).catch(() => undefined);
  if (info === undefined) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${kind} model ${absolute}: no such file`);
  if (!info.isFile()) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${kind} model ${absolute}: not a regular file`);
  if (info.size > MAX_MODEL_BYTES) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${kind} model ${absolute}: ${info.size} bytes is more than a model may have (${MAX_MODEL_BYTES})`);
  let text: string | undefined;
  if (!JS.has(extension)) {
    try {
      text = await readFile(absolute, 'utf8');
    } catch (error) {
      throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${kind} model ${absolute}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
  }
  if (JS.has(extension)) return { file: absolute, value: await importModule(absolute, absolute, kind), lineOf: () => undefined };
  if (TS.has(extension)) return { file: absolute, value: await importTypeScript(absolute, text!, kind), lineOf: () => undefined };
  if (YAML.has(extension) || extension === '.json') return parseData(absolute, text!, extension === '.json');
  throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${kind} model ${absolute}: unknown format "${extension || '(no extension)'}" (use .js, .mjs, .ts, .json, .yaml or .yml)`);
}

async function importModule(url: string, file: string, kind: string): Promise<unknown> {
  try {
    await readFile(file);
  } catch (error) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${kind} model ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(url).href)) as Record<string, unknown>;
  } catch (error) {
    const reason = describeImportError(error, url);
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', reason.startsWith(`${url}:`) ? reason.replace(url, file) : `${file}: cannot load the ${kind} model: ${reason}`, { cause: error });
  }
  if (!('default' in module)) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${file}: the ${kind} model has no default export`);
  const value = module.default;
  if (value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function') {
    try {
      return await value;
    } catch (error) {
      throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${file}: the ${kind} model's default export is a promise that failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return value;
}

async function importTypeScript(file: string, text: string, kind: string): Promise<unknown> {
  let ts: typeof import('typescript');
  try {
    ts = (await import('typescript')).default;
  } catch {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${file}: a .ts ${kind} model needs the typescript package (npm install typescript), or write it as .js/.mjs`);
  }
  const output = ts.transpileModule(text, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  });
  const problem = output.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (problem) {
    const line = problem.file && problem.start !== undefined ? problem.file.getLineAndCharacterOfPosition(problem.start).line + 1 : undefined;
    throw inputError('ERR_DYSNOMIA_INPUT', { file, ...(line ? { line } : {}) }, ts.flattenDiagnosticMessageText(problem.messageText, '\n'));
  }
  // Beside the model, so its relative imports of .js/.mjs files resolve as written.
  const compiled = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${Date.now()}.mjs`);
  await writeFile(compiled, output.outputText);
  try {
    return await importModule(compiled, file, kind);
  } finally {
    await rm(compiled, { force: true });
  }
}

let yamlModule: typeof import('yaml') | undefined;
/** The YAML parser, loaded on first use: JSON needs it only for an error's line (and synchronously then: modelError is). */
const yaml = () => (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

async function parseData(file: string, text: string, json: boolean): Promise<ModelSource> {
  let lineCounter: import('yaml').LineCounter | undefined;
  const parse = () => yaml().parseDocument(text, { lineCounter: (lineCounter ??= new (yaml().LineCounter)()), uniqueKeys: true, prettyErrors: true });
  let value: unknown;
  let document: ReturnType<typeof parse> | undefined;
  if (json) {
    try {
      value = JSON.parse(text);
    } catch (error) {
      const position = /at position (\d+)/.exec((error as Error).message);
      const line = position ? text.slice(0, Number(position[1])).split('\n').length : undefined;
      throw inputError('ERR_DYSNOMIA_INPUT', { file, ...(line ? { line } : {}) }, `invalid JSON: ${(error as Error).message.replace(/ in JSON at position \d+.*$/, '')}`);
    }
  } else {
    document = parse();
    const error = document.errors[0];
    if (error) {
      const line = error.linePos?.[0]?.line;
      throw inputError('ERR_DYSNOMIA_INPUT', { file, ...(line ? { line } : {}) }, `invalid YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    try {
      value = document.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    } catch (error) {
      throw inputError('ERR_DYSNOMIA_INPUT', { file }, `invalid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return {
    file,
    value,
    // Positions come from the YAML parser (JSON is YAML), parsed for JSON only when an error needs a line: large models load faster.
    lineOf(keys, ofKey) {
      const doc = (document ??= parse());
      const { isMap, isNode, isScalar } = yaml();
      const linePos = (offset: number) => lineCounter!.linePos(offset);
      const last = keys[keys.length - 1];
      if (ofKey && last !== undefined) {
        const parent = keys.length === 1 ? doc.contents : doc.getIn(keys.slice(0, -1), true);
        const pair = isMap(parent) ? parent.items.find((item) => isScalar(item.key) && item.key.value === last) : undefined;
        if (pair && isNode(pair.key) && pair.key.range) return linePos(pair.key.range[0]).line;
      }
      for (let depth = keys.length; depth >= 0; depth--) {
        const node = depth === 0 ? doc.contents : doc.getIn(keys.slice(0, depth), true);
        if (isNode(node) && node.range) return linePos(node.range[0]).line;
      }
      return undefined;
    },
  };
}

/**
 * Runs a model's checks, so that what a JS model does while it is read (a
 * getter that throws, a value that is not what it seems) is a model error
 * naming the file, never an internal error.
 */
export async function readingModel<T>(source: ModelSource, kind: string, check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof DysnomiaError) throw error;
    throw modelError(source, [], `reading the ${kind} model failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** An error about a model value: `file:line: message` when the line is known. */
export function modelError(source: ModelSource, keys: Array<string | number>, message: string, ofKey = false): DysnomiaError {
  const line = source.lineOf(keys, ofKey);
  return inputError('ERR_DYSNOMIA_INPUT', { file: source.file, ...(line ? { line } : {}) }, message);
}
