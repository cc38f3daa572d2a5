#!/usr/bin/env node
import { runCli } from './run-cli.js';

const OPERATION_WORDS = new Set(['activate', 'deactivate', 'lock', 'unlock', 'snapshot', 'restore', 'collect-garbage', 'capture']);


await runCli('dysnomia', async (argv) => {
  const [first, ...rest] = argv;
  if (first === '-v' || first === '--version') return (await import('./version-text.js')).printVersion('dysnomia');
  if (first === 'containers') return (await import('./containers-command.js')).containersCommand(rest);
  if (first === 'snapshots') return (await import('./snapshots-command.js')).snapshotsCommand(rest);
  if (first === 'plugins') return (await import('./plugins-command.js')).pluginsCommand(rest);
  const operationWord = first !== undefined && OPERATION_WORDS.has(first) ? first : undefined;
  return (await import('./operation-command.js')).operationCommand(operationWord === undefined ? argv : rest, operationWord);
});
