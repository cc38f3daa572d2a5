import { statSync } from 'node:fs';
import path from 'node:path';

const DIST = path.join(__dirname, '..');

/**
 * What each command does before it loads the engine (which is one bundle,
 * dist/bundle.cjs: see scripts/bundle.mjs), so this module imports none of it.
 * CommonJS, like bin/dysnomia.js, so an operation loads no ES module before
 * the engine's bundle (which the loader runs as a script).
 *
 * - With --debug, stack traces name src/*.ts lines where the source maps are
 *   (a checkout; the npm package ships none). Node reads a module's map only
 *   if this is on when the module loads.
 * - In a checkout (tsc's build info is there, never in the npm package), a
 *   `tsc -b` run after the last `npm run build` left a bundle (the engine's
 *   or @dysnomia/deploy's) older than dist/: they are made again first, else
 *   the command would run old code, and any module tsc rewrote would hold a
 *   second copy of its classes.
 */
export function prepareCliStart(argv: readonly string[]): void {
  if (argv.includes('--debug')) process.setSourceMapsEnabled(true);
  if (!BUNDLED_PACKAGES.some(isStale)) return;
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const result = spawnSync(process.execPath, [path.join(DIST, '../scripts/bundle.mjs'), '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) {
    process.stderr.write(`dysnomia: the engine's bundle is older than its TypeScript build and could not be made again: run npm run build\n`);
    process.exit(1);
  }
}

/** `dysnomia`: bin/dysnomia.js calls this; the engine's bundle routes the command (cli/dysnomia-main.ts). */
export function startDysnomia(): void {
  prepareCliStart(process.argv);
  // dist/engine-bundle.cjs is written by scripts/bundle.mjs; each bundled module is a namespace named by its path under src/.
  const engine = require('../engine-bundle.cjs') as { $cli$dysnomia_main: { runDysnomia(): Promise<void> } };
  void engine.$cli$dysnomia_main.runDysnomia();
}

/** The packages scripts/bundle.mjs bundles, by their root: in a checkout, @dysnomia/deploy is packages/deploy beside the engine. */
const BUNDLED_PACKAGES = [path.join(DIST, '..'), path.join(DIST, '../../deploy')];

/** Built by tsc after its bundle was made (only a checkout has tsc's build info). */
function isStale(root: string): boolean {
  const built = modifiedAt(path.join(root, 'tsconfig.tsbuildinfo'));
  return built !== undefined && built > (modifiedAt(path.join(root, 'dist/bundle.cjs')) ?? -1);
}

/** Without throwing: in an npm install both build infos are missing, on every call. */
function modifiedAt(file: string): number | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false })?.mtimeMs;
  } catch {
    return undefined;
  }
}
