import { statSync } from 'node:fs';

const DIST = new URL('../', import.meta.url);

/**
 * What each command does before it loads the engine (which is one bundle,
 * dist/bundle.js: see scripts/bundle.mjs), so this module imports none of it.
 *
 * - With --debug, stack traces name src/*.ts lines where the source maps are
 *   (a checkout; the npm package ships none). Node reads a module's map only
 *   if this is on when the module loads.
 * - In a checkout (tsc's build info is there, never in the npm package), a
 *   `tsc -b` run after the last `npm run build` left a bundle older than
 *   dist/: it is made again first, else the command would run the old
 *   engine, and any module tsc rewrote would hold a second copy of its classes.
 */
export async function prepareCliStart(argv: readonly string[]): Promise<void> {
  if (argv.includes('--debug')) process.setSourceMapsEnabled(true);
  const built = modifiedAt(new URL('../tsconfig.tsbuildinfo', DIST));
  if (built === undefined || built <= (modifiedAt(new URL('bundle.js', DIST)) ?? -1)) return;
  const { spawnSync } = await import('node:child_process');
  const script = new URL('../scripts/bundle.mjs', DIST).pathname;
  const result = spawnSync(process.execPath, [script, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) {
    process.stderr.write(`dysnomia: the engine's bundle is older than its TypeScript build and could not be made again: run npm run build\n`);
    process.exit(1);
  }
}

function modifiedAt(file: URL): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}
