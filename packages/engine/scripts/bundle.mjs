// Bundles the engine into one file, dist/bundle.cjs, after `tsc -b` (the root
// `npm run build` runs both). Why and how: docs/architecture.md, "One bundle for
// the engine" and "The bundle runs with V8's code cache".
//
// 1. Every module of src/ goes into dist/bundle.cjs, each exported as one
//    namespace: those the CLI's operation path and the public entry load
//    statically (found by esbuild's metafile of a first pass) run when the
//    bundle loads; the others when first imported (a function giving a promise
//    of the namespace). CommonJS, because src/bundle-loader.cts runs it as a
//    vm.Script with V8's code cache, and only a script takes one; its import()
//    calls are rewritten to the loader's (code from a cache cannot import()).
// 2. dist/engine-bundle.cjs loads it once per process, with this build's key.
// 3. Every module's dist/X.js (tsc's output) becomes a facade re-exporting its
//    namespace from there, so whoever imports it by path or through the
//    package's exports (plugins: `@dysnomia/engine`; @dysnomia/deploy:
//    `internal/*`) gets the bundle's classes and state: one copy of the engine
//    per process. The bins' own programs with top-level await (NOT_BUNDLED)
//    stay tsc's output.
import { parse } from 'acorn';
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ENGINE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ENGINE, 'src');
const DIST = path.join(ENGINE, 'dist');
export const BUNDLE = path.join(DIST, 'bundle.cjs');
/** The module that loads the bundle (once per process: CommonJS modules are cached) and hands out its exports. */
const LOADER = path.join(DIST, 'engine-bundle.cjs');
/** What the bundle's modules know as their import.meta.url's base: the bundle's own file URL. */
const BUNDLE_URL = '__dysnomiaBundleUrl';
/** What import.meta.url becomes in each module: a constant the module declares (its file's URL in dist/). */
const MODULE_URL = '__dysnomiaModuleUrl';
/**
 * What every import() in the bundle calls instead: the loader's import of the same
 * specifier (relative ones against the bundle's URL). A script's own import() does not
 * work where its code came from V8's code cache (Node 20). Six characters, as `import`,
 * so the source map's columns stay true.
 */
const IMPORT = '__imp_';

/** The bundle's source with each import(...) expression calling IMPORT instead. */
function routeDynamicImports(source) {
  const starts = [];
  const visit = (node) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') {
      if (node.type === 'ImportExpression') starts.push(node.start);
      for (const key in node) if (key !== 'type') visit(node[key]);
    }
  };
  visit(parse(source, { ecmaVersion: 'latest', sourceType: 'script', allowReturnOutsideFunction: true, allowHashBang: true }));
  let out = '';
  let from = 0;
  for (const start of starts.sort((a, b) => a - b)) {
    if (source.slice(start, start + 6) !== 'import') throw new Error(`bundle: no import( at ${start}`);
    out += source.slice(from, start) + IMPORT;
    from = start + 6;
  }
  return { source: out + source.slice(from), count: starts.length };
}

/**
 * What one `dysnomia --operation` call and `import '@dysnomia/engine'` load:
 * these and their static imports run when the bundle loads. Every other
 * module of src/ is in the bundle too, but runs only when first imported
 * (esbuild's lazy init for a dynamic import's target): so the agent, the
 * store and every command come from the one file with its code cache, and
 * no module of the engine is ever loaded twice, from the bundle and from dist/.
 */
const ENTRIES = ['index.ts', 'cli/dysnomia-main.ts', 'cli/run-cli.ts'];
/** Programs of their own (top-level await; bin/ imports them): they stay tsc's output and import the bundle's modules. */
const NOT_BUNDLED = new Set(['cli/dysnomia-containers.ts', 'cli/dysnomia-snapshots.ts']);

/** Every module of src/ that goes into the bundle. */
function allModules() {
  return readdirSync(SRC, { recursive: true })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !NOT_BUNDLED.has(file.split(path.sep).join('/')))
    .map((file) => path.join(SRC, file))
    .sort();
}

const distPathOf = (srcFile) => path.join(DIST, path.relative(SRC, srcFile)).replace(/\.ts$/, '.js');
const relativeTo = (from, to) => {
  const relative = path.relative(from, to).split(path.sep).join('/');
  return relative.startsWith('.') ? relative : `./${relative}`;
};
/** A namespace name for a module: its path under src/ (cli/run-cli.ts → cli$run_cli). */
const namespaceOf = (srcFile) => `$${path.relative(SRC, srcFile).replace(/\.ts$/, '').replace(/[^A-Za-z0-9]/g, (c) => (c === '/' ? '$' : '_'))}`;

/**
 * With `inside` (the modules bundled), a dynamic import of one of them is bundled (run
 * when first imported); any other dynamic import stays an import (of the module's
 * place in dist/, relative to the bundle there). Without, every dynamic import stays
 * one: the first pass finds what the entries load statically.
 */
const pluginFor = (inside) => ({
  name: 'dysnomia-engine',
  setup(builder) {
    // A CommonJS module of src/ (.cts) stays a file of its own, which Node compiles (see src/store/evaluate-source.cts).
    builder.onResolve({ filter: /\.cjs$/ }, (args) => {
      const target = path.resolve(args.resolveDir, args.path);
      return args.path.startsWith('.') && target.startsWith(SRC) ? { path: relativeTo(DIST, path.join(DIST, path.relative(SRC, target))), external: true } : undefined;
    });
    builder.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      if (!args.path.startsWith('.') && !path.isAbsolute(args.path)) return { path: args.path, external: true };
      const target = path.resolve(args.resolveDir, args.path);
      const source = target.replace(/\.js$/, '.ts');
      if (inside?.has(source)) return { path: source };
      return { path: relativeTo(DIST, target.startsWith(SRC) ? distPathOf(source) : target), external: true };
    });
    // tapable (CommonJS) requires "util" for util.deprecate; an ESM bundle has no require.
    builder.onResolve({ filter: /^util$/ }, (args) => (args.importer.includes(`${path.sep}tapable${path.sep}`) ? { path: 'util', namespace: 'node-util' } : undefined));
    builder.onLoad({ filter: /.*/, namespace: 'node-util' }, () => ({ contents: "export { deprecate } from 'node:util';", loader: 'js' }));
    // Each module keeps the import.meta.url of its file in dist/, where it looks for package.json and its neighbours:
    // `define` swaps the expression (never text in a string: init writes models that use it) for MODULE_URL, which
    // each module declares first on its first line (so the source map's lines hold).
    builder.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(SRC)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta')) return { contents: source, loader: 'ts' };
      const url = `new URL(${JSON.stringify(relativeTo(DIST, distPathOf(args.path)))}, ${BUNDLE_URL}).href`;
      return { contents: `const ${MODULE_URL} = ${url}; ${source}`, loader: 'ts' };
    });
  },
});

const common = {
  bundle: true,
  define: { 'import.meta.url': MODULE_URL },
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // Class and function names as in dist/ (stack traces, constructor.name).
  keepNames: true,
  // tsc's settings for class fields, so the bundle behaves as dist/ did.
  tsconfig: path.join(ENGINE, 'tsconfig.json'),
};

/** The source files the entries reach through static imports. */
async function hotModules() {
  const result = await build({ ...common, plugins: [pluginFor(undefined)], entryPoints: ENTRIES.map((entry) => path.join(SRC, entry)), outdir: path.join(DIST, '.bundle-probe'), write: false, metafile: true });
  return Object.keys(result.metafile.inputs)
    .map((input) => path.resolve(input))
    .filter((file) => file.startsWith(SRC) && file.endsWith('.ts'))
    .sort();
}

function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

const FACADE_MARK = '// Made by scripts/bundle.mjs:';

/**
 * A module that left the bundle (no longer imported statically by its entries) still has
 * a facade in dist/ from an earlier run, and tsc does not emit an unchanged file again:
 * then the engine's project is compiled again in full, before its facades are written.
 */
function restoreModulesThatLeft(modules) {
  const bundled = new Set(modules.map(distPathOf));
  const left = readdirSync(DIST, { recursive: true })
    .map((file) => path.join(DIST, file))
    .filter((file) => file.endsWith('.js') && !bundled.has(file) && readFileSync(file, 'utf8').startsWith(FACADE_MARK));
  if (left.length === 0) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', path.join(ENGINE, 'tsconfig.json'), '--force'], { stdio: 'inherit' });
}

export async function bundle() {
  const hot = new Set(await hotModules());
  const modules = allModules();
  restoreModulesThatLeft(modules);
  // Hot modules as namespaces (they run when the bundle loads); the others as a function giving a promise of theirs.
  const entry = modules
    .map((file) => (hot.has(file) ? `export * as ${namespaceOf(file)} from ${JSON.stringify(file)};` : `export const ${namespaceOf(file)} = () => import(${JSON.stringify(file)});`))
    .join('\n');
  const result = await build({
    ...common,
    plugins: [pluginFor(new Set(modules))],
    stdin: { contents: entry, resolveDir: SRC, sourcefile: 'dysnomia-engine-bundle.js', loader: 'js' },
    outfile: BUNDLE,
    sourcemap: 'linked',
    write: false,
    banner: {
      js: [
        // First, so the whole bundle is strict code as the ES modules it was made from were.
        '"use strict";',
        '// @dysnomia/engine: the engine in one file, made by scripts/bundle.mjs from src/ (see docs/architecture.md).',
        // Both given by the loader (src/bundle-loader.ts) on the module object it runs the bundle with.
        `var ${BUNDLE_URL} = module.bundleUrl, ${IMPORT} = module.importModule;`,
      ].join('\n'),
    },
  });
  for (const output of result.outputFiles) {
    writeAtomically(output.path, output.path === BUNDLE ? routeDynamicImports(output.text).source : output.contents);
  }
  rmSync(path.join(DIST, 'bundle.js'), { force: true });
  rmSync(path.join(DIST, 'bundle.js.map'), { force: true });

  // The loader, with the key that names this build's bundle (its code caches are this build's only).
  const key = createHash('sha256').update(readFileSync(BUNDLE)).digest('hex').slice(0, 16);
  writeAtomically(LOADER, [
    `${FACADE_MARK} loads ${path.basename(BUNDLE)} once per process (with V8's code cache: src/bundle-loader.cts).`,
    `module.exports = require('./bundle-loader.cjs').loadBundle(require('node:path').join(__dirname, ${JSON.stringify(path.basename(BUNDLE))}), ${JSON.stringify(key)});`,
    '',
  ].join('\n'));
  rmSync(path.join(DIST, 'engine-bundle.js'), { force: true });

  // The facades: each bundled module's exports, read from the bundle itself.
  // Read the bundle the way --debug does: no code cache written for the build's own process.
  const require = createRequire(import.meta.url);
  process.env[require(path.join(DIST, 'bundle-loader.cjs')).CODE_CACHE_ENV] = 'off';
  const namespaces = require(LOADER);
  for (const file of modules) {
    const namespace = hot.has(file) ? namespaces[namespaceOf(file)] : await namespaces[namespaceOf(file)]();
    const names = Object.keys(namespace);
    const target = distPathOf(file);
    const from = JSON.stringify(relativeTo(path.dirname(target), LOADER));
    const exported = names.filter((name) => name !== 'default');
    const lines = [
      `${FACADE_MARK} this module is in ${path.basename(BUNDLE)}, and this file hands out that one copy.`,
      `import engine from ${from};`,
      hot.has(file) ? `const module = engine.${namespaceOf(file)};` : `const module = await engine.${namespaceOf(file)}();`,
      ...(exported.length > 0 ? [`export const { ${exported.join(', ')} } = module;`] : []),
      ...(names.includes('default') ? ['export default module.default;'] : []),
      '',
    ];
    writeAtomically(target, lines.join('\n'));
  }
  return modules;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const modules = await bundle();
  if (!process.argv.includes('--quiet')) console.log(`dist/${path.basename(BUNDLE)}: ${modules.length} modules of packages/engine/src`);
  // Modules run while reading their exports (the agent's build child waits for a message): nothing must keep the build running.
  process.exit(0);
}
