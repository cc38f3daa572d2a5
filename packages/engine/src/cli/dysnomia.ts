#!/usr/bin/env node
import { DysnomiaError } from '../errors.js';
import { isOperation } from '../plugin.js';
import { runCli } from './run-cli.js';

/** Commands DESIGN.md names that later work adds; named here so users get a straight answer. */
const NOT_YET = new Set(['capture-infra', 'visualize']);

await runCli('dysnomia', async (argv) => {
  const [first, ...rest] = argv;
  if (first === '-v' || first === '--version') return (await import('./version-text.js')).printVersion('dysnomia');
  if (first === 'containers') return (await import('./containers-command.js')).containersCommand(rest);
  if (first === 'snapshots') return (await import('./snapshots-command.js')).snapshotsCommand(rest);
  if (first === 'plugins') return (await import('./plugins-command.js')).pluginsCommand(rest);
  if (first === 'deploy') return (await import('./deploy-command.js')).deployCommand(rest);
  if (first === 'store') return (await import('./store-command.js')).storeCommand(rest);
  if (first === 'profile') return (await import('./profile-command.js')).profileCommand(rest);
  if (first !== undefined && NOT_YET.has(first)) {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `"dysnomia ${first}" is not part of this version yet (it comes with the deployment orchestrator)`);
  }
  const operationWord = first !== undefined && isOperation(first) ? first : undefined;
  return (await import('./operation-command.js')).operationCommand(operationWord === undefined ? argv : rest, operationWord);
});
