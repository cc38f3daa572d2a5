import { DysnomiaError } from '../errors.js';
import type { Infrastructure } from '../models/infrastructure.js';
import type { PackageSource, PackagesModel } from '../models/packages.js';
import { resolvePkg } from '../models/services.js';
import type { ServicesModel } from '../models/services.js';

/** The only service type this version deploys without the orchestrator: installed into the profile, nothing activated. */
export const PACKAGE_TYPE = 'package';

/**
 * Refuses a distributed service of a type other than `package` before
 * anything is built or sent: activating it is the orchestrator's job.
 */
export function assertOnlyPackageServices(model: ServicesModel): void {
  for (const key of model.activationOrder) {
    const service = model.services[key]!;
    if (service.type === PACKAGE_TYPE || service.targets.length === 0) continue;
    throw new DysnomiaError(
      'ERR_DYSNOMIA_INPUT',
      `${model.file}: service "${key}" has type "${service.type}": activating services of that type needs the deployment orchestrator, which is not part of this version yet (only services of type "package" deploy now)`,
    );
  }
}

/**
 * The packages model equivalent of the services of type `package`: each
 * target gets the package of every service distributed to it (once, however
 * many containers it is mapped to), in activation order. pkg functions are
 * called once per service.
 */
export async function servicesToPackages(model: ServicesModel, infrastructure: Infrastructure): Promise<PackagesModel> {
  assertOnlyPackageServices(model);
  const packages: PackagesModel = {};
  const perTarget = new Map<string, Set<string>>();
  for (const key of model.activationOrder) {
    for (const { target } of model.services[key]!.targets) {
      if (!perTarget.has(target)) perTarget.set(target, new Set());
      perTarget.get(target)!.add(key);
    }
  }
  const resolved = new Map<string, PackageSource>();
  // Targets in the infrastructure's order, so progress and events read the same way as with -P.
  for (const target of Object.keys(infrastructure)) {
    const keys = perTarget.get(target);
    if (keys === undefined) continue;
    const list: PackageSource[] = [];
    for (const key of keys) {
      if (!resolved.has(key)) resolved.set(key, await resolvePkg(model, key, infrastructure));
      list.push(resolved.get(key)!);
    }
    packages[target] = list;
  }
  return packages;
}

/** The targets services are distributed to, with no package resolved (for the profile operations). */
export function distributedTargets(model: ServicesModel, infrastructure: Infrastructure): PackagesModel {
  const used = new Set(Object.values(model.services).flatMap((service) => service.targets.map((t) => t.target)));
  return Object.fromEntries(Object.keys(infrastructure).filter((name) => used.has(name)).map((name) => [name, []]));
}
