import { isOperation } from '../plugin.js';
import { ENGINE_COMMAND_WORDS } from './command-words.js';
import { isCoordinatorCommand, runCoordinatorCommand } from './coordinator-commands.js';
import { operationCommand } from './operation-command.js';
import { runCli } from './run-cli.js';
import { printVersion } from './version-text.js';

/**
 * `dysnomia`: picks the command by its first word. The operation path and
 * --version are imported here (so they are in the engine's bundle, which the
 * entry loads as one file); every other command when it is asked for.
 */
export async function runDysnomia(): Promise<void> {
  await runCli('dysnomia', async (argv) => {
    const [first, ...rest] = argv;
    if (first === '-v' || first === '--version') return printVersion('dysnomia');
    if (first === 'init') return (await import('./init-command.js')).initCommand(rest);
    if (first === 'containers') return (await import('./containers-command.js')).containersCommand(rest);
    if (first === 'snapshots') return (await import('./snapshots-command.js')).snapshotsCommand(rest);
    if (first !== undefined && isCoordinatorCommand(first, rest)) return runCoordinatorCommand(first, rest);
    if (first === 'plugins') return (await import('./plugins-command.js')).pluginsCommand(rest);
    if (first === 'store') return (await import('./store-command.js')).storeCommand(rest);
    if (first === 'profile') return (await import('./profile-command.js')).profileCommand(rest);
    if (first === 'agent') return (await import('./agent-command.js')).agentCommand(rest);
    const operationWord = first !== undefined && isOperation(first) ? first : undefined;
    return operationCommand(operationWord === undefined ? argv : rest, operationWord);
  }, { helpCommand });
}

/** A command's usage error points to its own --help (`dysnomia deploy --help`); an operation's to dysnomia's. */
function helpCommand(argv: string[]): string {
  const [first, ...rest] = argv;
  return first !== undefined && (ENGINE_COMMAND_WORDS.includes(first) || isCoordinatorCommand(first, rest)) ? `dysnomia ${first}` : 'dysnomia';
}
