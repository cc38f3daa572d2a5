import type { ExtraParams } from './extra-params.js';
import { hasOwn, nameProblem } from '@dysnomia/engine/internal/names.js';
import { didYouMean } from '@dysnomia/engine/internal/suggest.js';
import path from 'node:path';
import { isBuildFunctionComponent } from '@dysnomia/engine/internal/store/build-function.js';
import type { BuildFunctionComponent } from '@dysnomia/engine/internal/store/build-function.js';
import type { Infrastructure } from './infrastructure.js';
import { loadModelFile, modelError, readingModel } from './load-model.js';
import type { ModelSource } from './load-model.js';

/** A package as the store takes it: a folder or tarball (absolute), `npm:<spec>`, or a built component. */
export type PackageSource = string | BuildFunctionComponent;

/** target name → the packages to install into its profile, in the model's order. */
export type PackagesModel = Record<string, PackageSource[]>;

/**
 * Loads a packages model (Disnix's `-P`): an object mapping target names to
 * lists of packages, or (JS/TS) a function `({ infrastructure }) => ({ … })`.
 * Relative paths are relative to the model file; `npm:./x.tgz` too.
 */
export async function loadPackagesModel(file: string, infrastructure: Infrastructure, extraParams: ExtraParams = {}): Promise<PackagesModel> {
  const source = await loadModelFile(file, 'packages');
  return readingModel(source, 'packages', () => parsePackages(source, infrastructure, extraParams));
}

async function parsePackages(source: ModelSource, infrastructure: Infrastructure, extraParams: ExtraParams): Promise<PackagesModel> {
  const dir = path.dirname(source.file);
  let value = source.value;
  if (typeof value === 'function') {
    try {
      value = await (value as (args: { infrastructure: Infrastructure }) => unknown)({ ...extraParams, infrastructure });
    } catch (error) {
      throw modelError(source, [], `the packages model function failed: ${(error as Error).message}`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw modelError(source, [], 'the packages model must map target names to lists of packages');
  }
  const model: PackagesModel = {};
  for (const [target, list] of Object.entries(value as Record<string, unknown>)) {
    const badName = nameProblem(target, 'target');
    if (badName) throw modelError(source, [target], badName, true);
    if (!hasOwn(infrastructure, target)) {
      throw modelError(source, [target], `target "${target}" is not in the infrastructure model${didYouMean(target, Object.keys(infrastructure))} (targets: ${Object.keys(infrastructure).join(', ')})`, true);
    }
    if (!Array.isArray(list)) throw modelError(source, [target], `target "${target}": the packages must be a list`);
    model[target] = list.map((item: unknown, index) => {
      if (isBuildFunctionComponent(item)) return item;
      if (typeof item === 'string' && item !== '') return resolvePackage(item, dir);
      // A target object from the infrastructure, as Disnix models sometimes hold, is a common slip: say what is expected.
      throw modelError(source, [target, index], `target "${target}", package ${index + 1}: expected a path, a tarball, "npm:<spec>" or a component(...), got ${describe(item)}`);
    });
  }
  return model;
}

/** A package spec with its relative path (also inside `npm:./x.tgz`) resolved against the model's folder. */
export function resolvePackage(spec: string, dir: string): string {
  if (spec.startsWith('npm:')) {
    const inner = spec.slice(4);
    return inner.startsWith('./') || inner.startsWith('../') ? `npm:${path.resolve(dir, inner)}` : spec;
  }
  return path.resolve(dir, spec);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? 'an object' : typeof value === 'string' ? 'an empty string' : typeof value;
}
