import { DysnomiaError } from '../errors.js';

// Placeholder until the command lands: a straight answer instead of an unknown-operation error.
export async function visualizeCommand(_argv: string[]): Promise<number> {
  throw new DysnomiaError('ERR_DYSNOMIA_USAGE', '"dysnomia visualize" is not part of this version yet');
}
