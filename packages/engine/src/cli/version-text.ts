import { ENGINE_API_VERSION, engineVersion } from '../version.js';

export function printVersion(program: string): number {
  process.stdout.write(`${program} (@dysnomia/engine ${engineVersion()}, plugin API ${ENGINE_API_VERSION})\n`);
  return 0;
}
