import { DysnomiaError } from '../errors.js';

/** What @dysnomia/deploy's `cli` entry offers the engine's CLI. */
export interface CoordinatorCommands {
  deployCommand(argv: string[]): Promise<number>;
  captureInfraCommand(argv: string[]): Promise<number>;
  visualizeCommand(argv: string[]): Promise<number>;
  stateCommand(argv: string[]): Promise<number>;
}

/** The package holding what runs on a coordinator; the engine depends on it, a target's runtime leaves it out. */
export const DEPLOY_PACKAGE = '@dysnomia/deploy';

/**
 * The coordinator's commands (deploy, capture-infra, visualize, state) from
 * @dysnomia/deploy, found as Node finds the engine's own dependencies. A
 * runtime on a target has no such package: there the commands say so.
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
