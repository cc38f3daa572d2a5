import { DysnomiaError } from '@dysnomia/engine';

/**
 * A problem with the user's input (a container property, a component name):
 * the CLI should exit 2. The modules that find such problems throw this plain
 * class; the plugin's operations turn it into the engine's DysnomiaError.
 */
export class InputProblem extends Error {}

/** Runs an operation; an InputProblem leaves it as the engine's DysnomiaError (exit status 2). */
export async function reportingInputProblems<T>(operation: () => Promise<T> | T): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (!(error instanceof InputProblem)) throw error;
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', error.message);
  }
}
