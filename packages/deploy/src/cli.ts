/*
 * The coordinator's commands, as the engine's `dysnomia` CLI runs them
 * (`dysnomia deploy|capture-infra|visualize|state`): the engine finds this
 * package, which it depends on, and imports this entry only for these.
 */
export { deployCommand, HELP as DEPLOY_HELP } from './cli/deploy-command.js';
export { captureInfraCommand } from './cli/capture-infra-command.js';
export { visualizeCommand } from './cli/visualize-command.js';
export { stateCommand } from './cli/state-command.js';
