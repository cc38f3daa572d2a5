#!/usr/bin/env node
import { prepareCliStart } from './cli-start.js';

// The engine is imported after prepareCliStart (source maps for --debug; a stale bundle made again).
await prepareCliStart(process.argv);
const [{ isOperation }, { runCli }, { isCoordinatorCommand, runCoordinatorCommand }] = await Promise.all([
  import('../plugin.js'),
  import('./run-cli.js'),
  import('./coordinator-commands.js'),
]);

await runCli('dysnomia', async (argv) => {
  const [first, ...rest] = argv;
  if (first === '-v' || first === '--version') return (await import('./version-text.js')).printVersion('dysnomia');
  if (first === 'init') return (await import('./init-command.js')).initCommand(rest);
  if (first === 'containers') return (await import('./containers-command.js')).containersCommand(rest);
  if (first === 'snapshots') return (await import('./snapshots-command.js')).snapshotsCommand(rest);
  if (first !== undefined && isCoordinatorCommand(first, rest)) return runCoordinatorCommand(first, rest);
  if (first === 'plugins') return (await import('./plugins-command.js')).pluginsCommand(rest);
  if (first === 'store') return (await import('./store-command.js')).storeCommand(rest);
  if (first === 'profile') return (await import('./profile-command.js')).profileCommand(rest);
  if (first === 'agent') return (await import('./agent-command.js')).agentCommand(rest);
  const operationWord = first !== undefined && isOperation(first) ? first : undefined;
  return (await import('./operation-command.js')).operationCommand(operationWord === undefined ? argv : rest, operationWord);
});
