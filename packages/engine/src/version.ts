import { readFileSync } from 'node:fs';

/**
 * The plugin API version plugins check their `engine` range against. It moves
 * with the contract in docs/plugins.md, not with every engine release.
 */
export const ENGINE_API_VERSION = '1.0.0';

let packageVersion: string | undefined;

/** The engine package's own version, read once from its package.json. */
export function engineVersion(): string {
  packageVersion ??= (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return packageVersion;
}
