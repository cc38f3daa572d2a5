import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';

/**
 * Disnix's --extra-params: parameters handed to every model that is a
 * function (infrastructure, distribution, services, packages), beside the
 * arguments each one gets anyway, which win on a clash. Disnix takes a Nix
 * attribute set; here it is a JSON object.
 */
export type ExtraParams = Readonly<Record<string, unknown>>;

export function parseExtraParams(raw: string): ExtraParams {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `--extra-params: not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', '--extra-params takes a JSON object ({"name": value, …})');
  return Object.freeze(value as Record<string, unknown>);
}
