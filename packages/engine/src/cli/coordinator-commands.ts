import { DysnomiaError } from '../errors.js';

/** One coordinator command: its arguments after the command word, the exit status back. */
export type CoordinatorCommand = (argv: string[]) => Promise<number>;

/** What @dysnomia/deploy's `cli` entry offers the engine's CLI: each command under the word that runs it. */
export interface CoordinatorCommands {
  commands: Readonly<Record<string, CoordinatorCommand>>;
}

/** The package holding what runs on a coordinator; the engine depends on it, a target's runtime leaves it out. */
export const DEPLOY_PACKAGE = '@dysnomia/deploy';

/** The words that name a coordinator command. Kept here so the engine need not load @dysnomia/deploy to route. */
export const COORDINATOR_COMMAND_WORDS: readonly string[] = Object.freeze(['deploy', 'capture-infra', 'visualize', 'state', 'query', 'reconstruct', 'diagnose', 'clean-snapshots']);

/**
 * Operation words that are also coordinator commands (Disnix's disnix-snapshot,
 * disnix-restore, disnix-collect-garbage): with an infrastructure model
 * (`-i`/`--infrastructure`) they act on machines, otherwise on one component here.
 */
export const OPERATIONS_ON_MACHINES: readonly string[] = Object.freeze(['snapshot', 'restore', 'collect-garbage']);

/** Whether `dysnomia WORD ARGS` is a coordinator command. */
export function isCoordinatorCommand(word: string | undefined, args: readonly string[]): boolean {
  if (word === undefined) return false;
  if (COORDINATOR_COMMAND_WORDS.includes(word)) return true;
  return OPERATIONS_ON_MACHINES.includes(word) && args.some((arg) => arg === '-i' || arg === '--infrastructure' || arg.startsWith('--infrastructure='));
}

/**
 * The coordinator's commands from @dysnomia/deploy, found as Node finds the
 * engine's own dependencies. A runtime on a target has no such package: there
 * the commands say so.
 */
export async function coordinatorCommands(): Promise<CoordinatorCommands> {
  // A variable, not a literal: the engine is built before the package it imports at run time.
  const entry: string = `${DEPLOY_PACKAGE}/cli`;
  try {
    return (await import(entry)) as CoordinatorCommands;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !String((error as Error).message).includes(DEPLOY_PACKAGE)) throw error;
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `this command runs where one deploys from, and needs ${DEPLOY_PACKAGE}: npm install ${DEPLOY_PACKAGE}`);
  }
}

/** Runs coordinator command WORD with ARGS. */
export async function runCoordinatorCommand(word: string, args: string[]): Promise<number> {
  const command = (await coordinatorCommands()).commands[word];
  if (command === undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `${DEPLOY_PACKAGE} has no command "${word}": the installed version may be older than the engine's`);
  return command(args);
}
