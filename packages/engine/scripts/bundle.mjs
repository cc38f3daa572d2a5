// Bundles each of @dysnomia/engine and @dysnomia/deploy into one file, dist/bundle.cjs,
// after `tsc -b` (the root `npm run build` runs both). Why and how: docs/architecture.md,
// "One bundle for the engine" and "The bundle runs with V8's code cache".
//
// 1. Every module of a package's src/ goes into its dist/bundle.cjs, each exported as
//    one namespace: those its entries load statically (found by esbuild's metafile of
//    a first pass) run when the bundle loads; the others when first imported (a
//    function that runs the module the first time and gives its namespace).
//    CommonJS, because the engine's src/bundle-loader.cts runs it as a vm.Script with
//    V8's code cache, and only a script takes one; its import() calls are rewritten to
//    the loader's (code from a cache cannot import()).
// 2. dist/<name>-bundle.cjs loads it once per process, with this build's key.
// 3. Every module's dist/X.js (tsc's output) becomes a facade re-exporting its
//    namespace from there, so whoever imports it by path or through the package's
//    exports (plugins: `@dysnomia/engine`; @dysnomia/deploy: `internal/*`) gets the
//    bundle's classes and state: one copy of each module per process. The deploy
//    bundle takes the engine's modules from the engine's bundle, never a copy. The
//    bins' own programs with top-level await (notBundled) stay tsc's output.
import { parse } from 'acorn';
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ENGINE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
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
const FACADE_MARK = '// Made by scripts/bundle.mjs:';
/** How a bundle reaches the engine's modules: through the engine's own loader (one copy per process). */
const ENGINE_BUNDLE_SPECIFIER = '@dysnomia/engine/internal/engine-bundle.cjs';

/**
 * The packages bundled (the engine first: the others' bundles use its modules). `loaderModule`: how
 * the package's generated loader requires the engine's src/bundle-loader.cts. `entries`: what one `dysnomia --operation` call and `import
 * '@dysnomia/engine'` load (engine), or what a coordinator command loads before its
 * own module (deploy): these and their static imports run when the bundle loads; the
 * rest runs when first imported. So the agent, the store, every command come from one
 * file with its code cache, and no module is ever loaded twice, from a bundle and from dist/.
 */
const PACKAGES = [
  {
    name: 'engine',
    root: ENGINE,
    entries: ['index.ts', 'cli/dysnomia-main.ts', 'cli/run-cli.ts'],
    // Programs of their own (top-level await; bin/ imports them): they stay tsc's output and import the bundle's modules.
    notBundled: ['cli/dysnomia-containers.ts', 'cli/dysnomia-snapshots.ts'],
    loaderModule: './bundle-loader.cjs',
  },
  {
    name: 'deploy',
    root: path.join(ENGINE, '../deploy'),
    entries: ['cli.ts'],
    // The worker thread's program (top-level await).
    notBundled: ['remote/store-send-worker.ts'],
    loaderModule: '@dysnomia/engine/internal/bundle-loader.cjs',
  },
];

const relativeTo = (from, to) => {
  const relative = path.relative(from, to).split(path.sep).join('/');
  return relative.startsWith('.') ? relative : `./${relative}`;
};

/** Where a package's files are, and the names its modules get. */
function layoutOf(pkg) {
  const src = path.join(pkg.root, 'src');
  const dist = path.join(pkg.root, 'dist');
  return {
    src,
    dist,
    bundle: path.join(dist, 'bundle.cjs'),
    /** The module that loads the bundle (once per process: CommonJS modules are cached) and hands out its exports. */
    loader: path.join(dist, `${pkg.name}-bundle.cjs`),
    distPathOf: (srcFile) => path.join(dist, path.relative(src, srcFile)).replace(/\.ts$/, '.js'),
    /** A namespace name for a module: its path under src/ (cli/run-cli.ts → $cli$run_cli). */
    namespaceOf: (srcFile) => `$${path.relative(src, srcFile).replace(/\.ts$/, '').replace(/[^A-Za-z0-9]/g, (c) => (c === '/' ? '$' : '_'))}`,
  };
}

/** The engine's layout: other packages' bundles take the engine's modules from its bundle. */
const ENGINE_LAYOUT = layoutOf(PACKAGES[0]);

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
  return out + source.slice(from);
}

/** Every module of a package's src/ that goes into its bundle. */
function allModules(pkg, { src }) {
  const notBundled = new Set(pkg.notBundled);
  return readdirSync(src, { recursive: true })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !notBundled.has(file.split(path.sep).join('/')))
    .map((file) => path.join(src, file))
    .sort();
}

/**
 * With `inside` (the modules bundled), a dynamic import of one of them is bundled (run
 * when first imported); any other dynamic import stays an import (of the module's
 * place in dist/, relative to the bundle there). Without, every dynamic import stays
 * one: the first pass finds what the entries load statically.
 */
const pluginFor = (pkg, layout, inside) => ({
  name: 'dysnomia-bundle',
  setup(builder) {
    const { src, dist, distPathOf } = layout;
    // A CommonJS module of src/ (.cts) stays a file of its own, which Node compiles (see src/store/evaluate-source.cts).
    builder.onResolve({ filter: /\.cjs$/ }, (args) => {
      const target = path.resolve(args.resolveDir, args.path);
      return args.path.startsWith('.') && target.startsWith(src) ? { path: relativeTo(dist, path.join(dist, path.relative(src, target))), external: true } : undefined;
    });
    builder.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const bare = !args.path.startsWith('.') && !path.isAbsolute(args.path);
      if (args.path === ENGINE_BUNDLE_SPECIFIER) return { path: args.path, external: true };
      // The engine's modules, in another package's bundle: the engine bundle's own (engine-module below).
      if (pkg.name !== 'engine' && /^@dysnomia\/engine(\/internal\/.+)?$/.test(args.path) && args.kind !== 'dynamic-import') return { path: args.path, namespace: 'engine-module' };
      // Other packages stay packages (tapable, the engine's one static dependency, goes in).
      if (bare) return args.path === 'tapable' && pkg.name === 'engine' ? undefined : { path: args.path, external: true };
      if (args.kind !== 'dynamic-import') return undefined;
      const target = path.resolve(args.resolveDir, args.path);
      const source = target.replace(/\.js$/, '.ts');
      if (inside?.has(source)) return { path: source };
      return { path: relativeTo(dist, target.startsWith(src) ? distPathOf(source) : target), external: true };
    });
    builder.onLoad({ filter: /.*/, namespace: 'engine-module' }, (args) => {
      const file = args.path === '@dysnomia/engine' ? path.join(ENGINE_LAYOUT.src, 'index.ts') : path.join(ENGINE_LAYOUT.src, args.path.replace(/^@dysnomia\/engine\/internal\//, '').replace(/\.js$/, '.ts'));
      const namespace = ENGINE_LAYOUT.namespaceOf(file);
      // A namespace the engine's bundle runs at load, or a function running it the first time.
      return { contents: `const engine = require(${JSON.stringify(ENGINE_BUNDLE_SPECIFIER)}); const module_ = engine.${namespace}; module.exports = typeof module_ === "function" ? module_() : module_;`, loader: 'js' };
    });
    // Each module keeps the import.meta.url of its file in dist/, where it looks for package.json and its neighbours:
    // `define` swaps the expression (never text in a string: init writes models that use it) for MODULE_URL, which
    // each module declares first on its first line (so the source map's lines hold).
    builder.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(src)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta')) return { contents: source, loader: 'ts' };
      const url = `new URL(${JSON.stringify(relativeTo(dist, distPathOf(args.path)))}, ${BUNDLE_URL}).href`;
      return { contents: `const ${MODULE_URL} = ${url}; ${source}`, loader: 'ts' };
    });
  },
});

const commonOptions = (pkg) => ({
  bundle: true,
  define: { 'import.meta.url': MODULE_URL },
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // Class and function names as in dist/ (stack traces, constructor.name).
  keepNames: true,
  // tsc's settings for class fields, so the bundle behaves as dist/ did.
  tsconfig: path.join(pkg.root, 'tsconfig.json'),
});

/** The source files the entries reach through static imports. */
async function hotModules(pkg, layout) {
  const result = await build({
    ...commonOptions(pkg),
    plugins: [pluginFor(pkg, layout, undefined)],
    entryPoints: pkg.entries.map((entry) => path.join(layout.src, entry)),
    outdir: path.join(layout.dist, '.bundle-probe'),
    write: false,
    metafile: true,
  });
  return Object.keys(result.metafile.inputs)
    .map((input) => path.resolve(input))
    .filter((file) => file.startsWith(layout.src) && file.endsWith('.ts'))
    .sort();
}

function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

/**
 * A module that left the bundle (notBundled now, or gone) may still have a facade in
 * dist/ from an earlier run, and tsc does not emit an unchanged file again: then the
 * package's project is compiled again in full, before its facades are written.
 */
function restoreModulesThatLeft(pkg, layout, modules) {
  const bundled = new Set(modules.map(layout.distPathOf));
  const left = readdirSync(layout.dist, { recursive: true })
    .map((file) => path.join(layout.dist, file))
    .filter((file) => file.endsWith('.js') && !bundled.has(file) && readFileSync(file, 'utf8').startsWith(FACADE_MARK));
  if (left.length === 0) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', path.join(pkg.root, 'tsconfig.json'), '--force'], { stdio: 'inherit' });
}

/** Bundles one package, writes its loader and its facades; gives the modules bundled. */
async function bundlePackage(pkg) {
  const layout = layoutOf(pkg);
  const hot = new Set(await hotModules(pkg, layout));
  const modules = allModules(pkg, layout);
  restoreModulesThatLeft(pkg, layout, modules);
  // Hot modules as namespaces (they run when the bundle loads); the others as a function that runs the module
  // the first time and gives its namespace (esbuild turns a require of a bundled ES module into its lazy init).
  const entry = modules
    .map((file) => (hot.has(file) ? `export * as ${layout.namespaceOf(file)} from ${JSON.stringify(file)};` : `export const ${layout.namespaceOf(file)} = () => require(${JSON.stringify(file)});`))
    .join('\n');
  const result = await build({
    ...commonOptions(pkg),
    plugins: [pluginFor(pkg, layout, new Set(modules))],
    stdin: { contents: entry, resolveDir: layout.src, sourcefile: `dysnomia-${pkg.name}-bundle.js`, loader: 'js' },
    outfile: layout.bundle,
    sourcemap: 'linked',
    write: false,
    banner: {
      js: [
        // First, so the whole bundle is strict code as the ES modules it was made from were.
        '"use strict";',
        `// @dysnomia/${pkg.name} in one file, made by packages/engine/scripts/bundle.mjs from src/ (see docs/architecture.md).`,
        // Both given by the loader (the engine's src/bundle-loader.cts) on the module object it runs the bundle with.
        `var ${BUNDLE_URL} = module.bundleUrl, ${IMPORT} = module.importModule;`,
      ].join('\n'),
    },
  });
  for (const output of result.outputFiles) {
    writeAtomically(output.path, output.path === layout.bundle ? routeDynamicImports(output.text) : output.contents);
  }

  // The loader, with the key that names this build's bundle (its code caches are this build's only).
  const key = createHash('sha256').update(readFileSync(layout.bundle)).digest('hex').slice(0, 16);
  writeAtomically(layout.loader, [
    `${FACADE_MARK} loads ${path.basename(layout.bundle)} once per process (with V8's code cache: the engine's src/bundle-loader.cts).`,
    '// The import() the bundle\'s own import()s become: here, beside the bundle, so package names are found from this package.',
    `module.exports = require(${JSON.stringify(pkg.loaderModule)}).loadBundle(require('node:path').join(__dirname, ${JSON.stringify(path.basename(layout.bundle))}), ${JSON.stringify(key)}, ${JSON.stringify(pkg.name)}, (specifier) => import(specifier));`,
    '',
  ].join('\n'));

  // The facades: each bundled module's exports, read from the bundle itself.
  const namespaces = createRequire(import.meta.url)(layout.loader);
  for (const file of modules) {
    const namespace = hot.has(file) ? namespaces[layout.namespaceOf(file)] : namespaces[layout.namespaceOf(file)]();
    const names = Object.keys(namespace);
    const target = layout.distPathOf(file);
    const from = JSON.stringify(relativeTo(path.dirname(target), layout.loader));
    const exported = names.filter((name) => name !== 'default');
    const lines = [
      `${FACADE_MARK} this module is in ${path.basename(layout.bundle)}, and this file hands out that one copy.`,
      `import bundle from ${from};`,
      hot.has(file) ? `const module = bundle.${layout.namespaceOf(file)};` : `const module = bundle.${layout.namespaceOf(file)}();`,
      ...(exported.length > 0 ? [`export const { ${exported.join(', ')} } = module;`] : []),
      ...(names.includes('default') ? ['export default module.default;'] : []),
      '',
    ];
    writeAtomically(target, lines.join('\n'));
  }
  return modules;
}

export async function bundle() {
  // Read the bundles the way --debug does: no code cache written for the build's own process.
  process.env[createRequire(import.meta.url)(path.join(ENGINE_LAYOUT.dist, 'bundle-loader.cjs')).CODE_CACHE_ENV] = 'off';
  const counts = [];
  for (const pkg of PACKAGES) counts.push(`${pkg.name} ${(await bundlePackage(pkg)).length}`);
  return counts;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const counts = await bundle();
  if (!process.argv.includes('--quiet')) console.log(`dist/bundle.cjs of each package, modules bundled: ${counts.join(', ')}`);
  // Modules run while reading their exports (the agent's build child waits for a message): nothing must keep the build running.
  process.exit(0);
}
