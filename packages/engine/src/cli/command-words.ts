import { OPERATIONS } from '../plugin.js';
import { COORDINATOR_COMMAND_WORDS } from './coordinator-commands.js';

/** The words `dysnomia WORD` routes to a command of the engine's own (cli/dysnomia.ts). */
export const ENGINE_COMMAND_WORDS: readonly string[] = Object.freeze(['init', 'containers', 'snapshots', 'plugins', 'store', 'profile', 'agent']);

/** Every word `dysnomia` takes first: its own commands, the coordinator's and the operations. */
export function commandWords(): string[] {
  return [...ENGINE_COMMAND_WORDS, ...COORDINATOR_COMMAND_WORDS, ...OPERATIONS];
}
