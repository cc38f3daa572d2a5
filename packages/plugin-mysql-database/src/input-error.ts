/**
 * A problem with the user's input (a container property, a component name):
 * the CLI should exit 2. The engine recognises that by DysnomiaError, but
 * importing @dysnomia/engine costs every CLI call ~100-200 ms (its entry
 * loads the store, SSH and deploy code), so the class is imported only when
 * such an error actually happens.
 */
export class InputProblem extends Error {}

/** Runs an operation; an InputProblem leaves it as the engine's DysnomiaError (exit status 2). */
export async function reportingInputProblems<T>(operation: () => Promise<T> | T): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (!(error instanceof InputProblem)) throw error;
    const { DysnomiaError } = await import('@dysnomia/engine');
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', error.message);
  }
}
