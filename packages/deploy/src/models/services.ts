import type { ExtraParams } from './extra-params.js';
import path from 'node:path';
import { inputError } from '@dysnomia/engine/internal/errors.js';
import { controlCharacterAt, hasOwn, nameProblem } from '@dysnomia/engine/internal/names.js';
import { isBuildFunctionComponent } from '@dysnomia/engine/internal/store/build-function.js';
import { didYouMean } from '@dysnomia/engine/internal/suggest.js';
import { distributionArgument, parseMappings } from './distribution.js';
import type { Distribution, DistributionArgument } from './distribution.js';
import type { Infrastructure, InfrastructureTarget } from './infrastructure.js';
import { loadModelFile, modelError, readingModel } from './load-model.js';
import type { ModelSource } from './load-model.js';
import { resolvePackage } from './packages.js';
import { currentSystem } from './system.js';
import type { PackageSource } from './packages.js';

/** A `pkg` given as a function of the inter-dependencies (dependsOn and connectsTo), as Disnix's pkg functions. */
export type PkgFunction = (dependencies: Record<string, InterDependency>) => unknown;

/** Where a service runs: a target and the container on it (the service's type unless the distribution names one). */
export interface ServiceTarget {
  target: string;
  container: string;
}

/** An inter-dependency of a service: the service (by key) and the targets its dependant uses. */
export interface DependencyRef {
  service: string;
  targets: ServiceTarget[];
}

export interface Service {
  /** The key in the services model. */
  key: string;
  name: string;
  type: string;
  pkg: PackageSource | PkgFunction;
  /** Parameter name → dependency: passed to the pkg function, and activated first. */
  dependsOn: Record<string, DependencyRef>;
  /** Parameter name → dependency: passed to the pkg function, no ordering. */
  connectsTo: Record<string, DependencyRef>;
  /** Parameter name → dependency: activated first, not passed. */
  activatesAfter: Record<string, DependencyRef>;
  /** Containers this service provides once deployed: name → properties. */
  providesContainers: Record<string, Record<string, unknown>>;
  /** The other keys of the declaration; dependants see them. */
  properties: Record<string, unknown>;
  /** Disnix's deployState: its state (snapshot, transfer, restore) moves with it when its mapping moves; undefined: deploy's --deploy-state decides. */
  deployState?: boolean;
  /** Its mappings from the distribution model ([] when not distributed). */
  targets: ServiceTarget[];
}

export interface ServicesModel {
  file: string;
  services: Record<string, Service>;
  /** Service keys with every dependsOn/activatesAfter dependency before its dependants. */
  activationOrder: string[];
}

/** A target as a pkg function sees it: the infrastructure target without its containers, and the selected container's properties. */
export interface InterDependencyTarget extends Omit<InfrastructureTarget, 'containers'> {
  selectedContainer: string;
  container: Record<string, unknown>;
}

/** A dependency as a pkg function gets it: the declaration's fields, its targets, `target` (the first), and its own inter-dependencies as `connectsTo`. */
export interface InterDependency extends Record<string, unknown> {
  name: string;
  type: string;
  targets: InterDependencyTarget[];
  target: InterDependencyTarget;
  connectsTo?: Record<string, InterDependency>;
}

export interface ServicesArguments {
  distribution: DistributionArgument;
  invDistribution: Record<string, InfrastructureTarget & { services: Record<string, unknown> }>;
  infrastructure: Infrastructure;
  system: string;
}

const RESERVED = new Set(['name', 'pkg', 'type', 'dependsOn', 'connectsTo', 'activatesAfter', 'providesContainer', 'providesContainers', 'targets', 'deployState']);
const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);


export async function loadServices(file: string, infrastructure: Infrastructure, distribution: Distribution, extraParams: ExtraParams = {}): Promise<ServicesModel> {
  const source = await loadModelFile(file, 'services');
  return readingModel(source, 'services', () => parseServices(source, infrastructure, distribution, extraParams));
}

/**
 * Checks a services model against the infrastructure and distribution: every
 * service has a name (default: its key), a type and a pkg; dependsOn,
 * connectsTo and activatesAfter name services of the model; dependsOn and
 * activatesAfter have no cycle; the distribution maps only services of the model.
 */
export async function parseServices(source: ModelSource, infrastructure: Infrastructure, distribution: Distribution, extraParams: ExtraParams = {}): Promise<ServicesModel> {
  let value = source.value;
  if (typeof value === 'function') {
    let declared: Record<string, unknown> | undefined;
    const invDistribution: ServicesArguments['invDistribution'] = {};
    for (const [name, target] of Object.entries(infrastructure)) {
      const mapped = Object.keys(distribution.mappings).filter((service) => distribution.mappings[service]!.some((m) => m.target === name));
      invDistribution[name] = Object.defineProperty({ ...target } as ServicesArguments['invDistribution'][string], 'services', {
        enumerable: true,
        get() {
          // As in Nix, the services are the model's own result: readable once the function returned (from pkg functions).
          if (declared === undefined) throw new Error(`invDistribution.${name}.services can be read from pkg functions, not while the services model is being evaluated`);
          return Object.fromEntries(mapped.filter((service) => hasOwn(declared!, service)).map((service) => [service, declared![service]]));
        },
      });
    }
    try {
      value = await (value as (args: ServicesArguments) => unknown)({ ...extraParams, distribution: distributionArgument(distribution, infrastructure), invDistribution, infrastructure, system: currentSystem() });
    } catch (error) {
      throw modelError(source, [], `the services model function failed: ${(error as Error).message}`);
    }
    if (isObject(value)) declared = value;
  }
  if (!isObject(value)) throw modelError(source, [], 'the services model must map service names to services ({ name, pkg, type, … })');
  const declarations = value;
  const dir = path.dirname(source.file);

  // The services' names first: a bad one is the error, not its absence from the distribution.
  for (const key of Object.keys(declarations)) {
    const badKey = nameProblem(key, 'service');
    if (badKey) throw modelError(source, [key], badKey, true);
  }
  for (const service of Object.keys(distribution.mappings)) {
    if (!hasOwn(declarations, service)) {
      throw modelError(distribution.source, [service], `service "${service}" is not in the services model ${source.file}${didYouMean(service, Object.keys(declarations))} (services: ${Object.keys(declarations).join(', ') || 'none'})`, true);
    }
  }

  const services: Record<string, Service> = {};
  for (const [key, raw] of Object.entries(declarations)) {
    const badKey = nameProblem(key, 'service');
    if (badKey) throw modelError(source, [key], badKey, true);
    const fail = (keys: Array<string | number>, message: string, ofKey = false) => modelError(source, [key, ...keys], `service "${key}": ${message}`, ofKey);
    if (!isObject(raw)) throw fail([], 'must be an object { name, pkg, type, dependsOn?, connectsTo? }');
    const name = raw.name ?? key;
    // Disnix's rule: a service's name is its key, so a name in a message or a marker is always the one the model uses.
    if (name !== key) throw fail(['name'], `"name" must be the service's key ${JSON.stringify(key)} (as in Disnix), not ${typeof name === 'string' ? JSON.stringify(name) : `a ${typeof name}`}`);
    if (raw.type === undefined) throw fail([], 'has no "type" (e.g. "package", "process", "mysql-database")');
    const badType = nameProblem(raw.type, 'type');
    if (badType) throw fail(['type'], badType);
    const type = raw.type as string;
    if (raw.pkg === undefined) throw fail([], 'has no "pkg" (a folder, a tarball, "npm:<spec>", a component(...) or a function of its dependencies)');
    const pkg = pkgOf(raw.pkg, dir, (message) => fail(['pkg'], message));
    const properties = Object.fromEntries(Object.entries(raw).filter(([k]) => !RESERVED.has(k)));
    if (raw.deployState !== undefined && typeof raw.deployState !== 'boolean') throw fail(['deployState'], `"deployState" must be true or false, not ${JSON.stringify(raw.deployState) ?? typeof raw.deployState}`);
    services[key] = {
      key,
      name,
      type,
      pkg,
      dependsOn: {},
      connectsTo: {},
      activatesAfter: {},
      providesContainers: providedContainers(raw, properties, fail),
      properties,
      ...(typeof raw.deployState === 'boolean' ? { deployState: raw.deployState } : {}),
      targets: (distribution.mappings[key] ?? []).map((m) => ({ target: m.target, container: m.container ?? type })),
    };
  }

  // Dependencies second: they refer to services by key, by name, or by the declaration object itself.
  for (const [key, raw] of Object.entries(declarations) as Array<[string, Record<string, unknown>]>) {
    for (const kind of ['dependsOn', 'connectsTo', 'activatesAfter'] as const) {
      if (raw[kind] === undefined) continue;
      const fail = (keys: Array<string | number>, message: string) => modelError(source, [key, kind, ...keys], `service "${key}": ${kind}${keys.length > 0 ? ` ${keys[0]}` : ''}: ${message}`);
      services[key]![kind] = dependencyRefs(raw[kind], declarations, services, infrastructure, fail);
    }
  }
  return { file: source.file, services, activationOrder: activationOrder(services, source) };
}

function pkgOf(value: unknown, dir: string, fail: (message: string) => Error): PackageSource | PkgFunction {
  if (typeof value === 'function') return value as PkgFunction;
  return packageSource(value, dir, fail);
}

/** A package as the store takes it; relative paths (and `npm:./x.tgz`) are relative to the services model. */
export function packageSource(value: unknown, dir: string, fail: (message: string) => Error): PackageSource {
  if (isBuildFunctionComponent(value)) return value;
  if (typeof value !== 'string' || value === '') {
    throw fail(`expected a folder, a tarball, "npm:<spec>", a component(...) or a function of the dependencies, got ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : JSON.stringify(value)}`);
  }
  return resolvePackage(value, dir);
}

/** providesContainers as given, or Disnix's providesContainer: one container holding the service's other properties. */
function providedContainers(raw: Record<string, unknown>, properties: Record<string, unknown>, fail: (keys: Array<string | number>, message: string) => Error): Record<string, Record<string, unknown>> {
  const result: Record<string, Record<string, unknown>> = {};
  if (raw.providesContainers !== undefined) {
    if (!isObject(raw.providesContainers) || !Object.values(raw.providesContainers).every(isObject)) throw fail(['providesContainers'], '"providesContainers" must map container names to objects of properties');
    for (const [container, props] of Object.entries(raw.providesContainers)) {
      const bad = nameProblem(container, 'container');
      if (bad) throw fail(['providesContainers', container], bad);
      const controlAt = controlCharacterAt(props);
      if (controlAt) throw fail(['providesContainers', container, ...controlAt], `providesContainers.${container}.${controlAt.join('.')} holds a NUL byte, which no program can receive (the value is not shown: it may be a secret)`);
      result[container] = props as Record<string, unknown>;
    }
  }
  if (raw.providesContainer !== undefined) {
    const bad = nameProblem(raw.providesContainer, 'container');
    if (bad) throw fail(['providesContainer'], bad);
    result[raw.providesContainer as string] = { ...properties };
  }
  return result;
}

function dependencyRefs(
  value: unknown,
  declarations: Record<string, unknown>,
  services: Record<string, Service>,
  infrastructure: Infrastructure,
  fail: (keys: Array<string | number>, message: string) => Error,
): Record<string, DependencyRef> {
  const entries: Array<[string, unknown]> = Array.isArray(value)
    ? value.map((item) => [typeof item === 'string' ? item : isObject(item) && typeof item.name === 'string' ? item.name : String(item), item])
    : isObject(value)
      ? Object.entries(value)
      : (() => {
          throw fail([], 'must map parameter names to services (or list service names)');
        })();
  const refs: Record<string, DependencyRef> = {};
  entries.forEach(([param, item], index) => {
    const at = Array.isArray(value) ? index : param;
    const key = serviceKey(item, declarations, services);
    if (key === undefined) {
      const name = typeof item === 'string' ? item : isObject(item) && typeof item.name === 'string' ? item.name : undefined;
      const label = name === undefined ? 'the value' : `"${name}"`;
      const suggestion = name === undefined ? '' : didYouMean(name, Object.keys(services));
      throw fail([at], `${label} is not a service of the model${suggestion} (services: ${Object.keys(services).join(', ')})`);
    }
    // A dependency may narrow the targets its dependant uses (Disnix: services.db // { targets = … }).
    const override = isObject(item) && item !== declarations[key] && item.targets !== undefined ? item.targets : undefined;
    const targets =
      override === undefined
        ? services[key]!.targets
        : parseMappings(override, infrastructure, (keys, message) => fail([at, 'targets', ...keys], message)).map((m) => ({ target: m.target, container: m.container ?? services[key]!.type }));
    refs[param] = { service: key, targets };
  });
  return refs;
}

function serviceKey(item: unknown, declarations: Record<string, unknown>, services: Record<string, Service>): string | undefined {
  if (typeof item === 'string') return hasOwn(services, item) ? item : undefined;
  if (!isObject(item)) return undefined;
  const same = Object.keys(declarations).find((key) => declarations[key] === item);
  if (same !== undefined) return same;
  if (typeof item.name === 'string') return serviceKey(item.name, declarations, services);
  return undefined;
}

/** Topological order over dependsOn and activatesAfter; a cycle is a model error naming it. */
function activationOrder(services: Record<string, Service>, source: ModelSource): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (key: string, trail: string[]) => {
    if (state.get(key) === 'done') return;
    if (state.get(key) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(key)), key];
      throw modelError(source, [cycle[0]!], `dependency cycle: ${cycle.join(' -> ')}`, true);
    }
    state.set(key, 'visiting');
    const service = services[key]!;
    for (const ref of [...Object.values(service.dependsOn), ...Object.values(service.activatesAfter)]) visit(ref.service, [...trail, key]);
    state.set(key, 'done');
    order.push(key);
  };
  for (const key of Object.keys(services)) visit(key, []);
  return order;
}

/**
 * The arguments of a service's pkg function, as Disnix builds them: for each
 * connectsTo and dependsOn parameter, the dependency's declaration fields, its
 * targets (target properties, the selected container and that container's
 * properties — from a service providing it there, else the infrastructure),
 * `target` (the first), and its own dependencies as `connectsTo` (computed
 * when read, so connectsTo cycles are fine).
 */
export function interDependencies(model: ServicesModel, key: string, infrastructure: Infrastructure): Record<string, InterDependency> {
  const service = model.services[key]!;
  const result: Record<string, InterDependency> = {};
  for (const [param, ref] of Object.entries({ ...service.connectsTo, ...service.dependsOn })) {
    result[param] = interDependency(model, ref, infrastructure);
  }
  return result;
}

function interDependency(model: ServicesModel, ref: DependencyRef, infrastructure: Infrastructure): InterDependency {
  const dependency = model.services[ref.service]!;
  const targets = ref.targets.map((mapping) => dependencyTarget(model, mapping, infrastructure));
  const result: InterDependency = {
    ...dependency.properties,
    name: dependency.name,
    type: dependency.type,
    ...(Object.keys(dependency.providesContainers).length > 0 ? { providesContainers: dependency.providesContainers } : {}),
    targets,
    target: targets[0]!,
  };
  if (Object.keys(dependency.connectsTo).length + Object.keys(dependency.dependsOn).length > 0) {
    let cached: Record<string, InterDependency> | undefined;
    Object.defineProperty(result, 'connectsTo', { enumerable: true, get: () => (cached ??= interDependencies(model, ref.service, infrastructure)) });
  }
  return result;
}

function dependencyTarget(model: ServicesModel, mapping: ServiceTarget, infrastructure: Infrastructure): InterDependencyTarget {
  const { containers, ...target } = infrastructure[mapping.target]!;
  const provider = Object.values(model.services).find((s) => s.providesContainers[mapping.container] !== undefined && s.targets.some((t) => t.target === mapping.target));
  return { ...target, selectedContainer: mapping.container, container: provider?.providesContainers[mapping.container] ?? containers[mapping.container] ?? {} };
}

/** The service's package: its pkg, or what its pkg function returns for its inter-dependencies. */
export async function resolvePkg(model: ServicesModel, key: string, infrastructure: Infrastructure): Promise<PackageSource> {
  const service = model.services[key]!;
  const fail = (message: string) => inputError('ERR_DYSNOMIA_INPUT', { file: model.file }, `service "${key}": ${message}`);
  if (typeof service.pkg !== 'function') return service.pkg;
  let value: unknown;
  try {
    value = await service.pkg(interDependencies(model, key, infrastructure));
  } catch (error) {
    throw fail(`the pkg function failed: ${(error as Error).message}`);
  }
  return packageSource(value, path.dirname(model.file), (message) => fail(`the pkg function returned an unusable package: ${message}`));
}
