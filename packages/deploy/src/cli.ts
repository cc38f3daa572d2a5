/*
 * The coordinator's commands, as the engine's `dysnomia` CLI runs them
 * (`dysnomia deploy|capture-infra|visualize|state|…`): the engine finds this
 * package, which it depends on, and imports this entry only for these. Each
 * command is imported when it runs, so one command loads only its own code.
 * A word added here must also be in the engine's COORDINATOR_COMMAND_WORDS
 * (or OPERATIONS_ON_MACHINES).
 */
import type { CoordinatorCommand } from '@dysnomia/engine/internal/cli/coordinator-commands.js';

export const commands: Readonly<Record<string, CoordinatorCommand>> = Object.freeze({
  deploy: async (argv) => (await import('./cli/deploy-command.js')).deployCommand(argv),
  'capture-infra': async (argv) => (await import('./cli/capture-infra-command.js')).captureInfraCommand(argv),
  visualize: async (argv) => (await import('./cli/visualize-command.js')).visualizeCommand(argv),
  query: async (argv) => (await import('./cli/query-command.js')).queryCommand(argv),
  reconstruct: async (argv) => (await import('./cli/reconstruct-command.js')).reconstructCommand(argv),
  state: async (argv) => (await import('./cli/state-command.js')).stateCommand(argv),
  diagnose: async (argv) => (await import('./cli/diagnose-command.js')).diagnoseCommand(argv),
  'collect-garbage': async (argv) => (await import('./cli/collect-garbage-command.js')).collectGarbageCommand(argv),
  snapshot: async (argv) => (await import('./cli/snapshots-on-machines-command.js')).snapshotsOnMachinesCommand('snapshot', argv),
  restore: async (argv) => (await import('./cli/snapshots-on-machines-command.js')).snapshotsOnMachinesCommand('restore', argv),
  'clean-snapshots': async (argv) => (await import('./cli/snapshots-on-machines-command.js')).snapshotsOnMachinesCommand('clean-snapshots', argv),
});
