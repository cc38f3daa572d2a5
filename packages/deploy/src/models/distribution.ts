import type { ExtraParams } from './extra-params.js';
import type { Infrastructure, InfrastructureTarget } from './infrastructure.js';
import { hasOwn, nameProblem } from '@dysnomia/engine/internal/names.js';
import { didYouMean } from '@dysnomia/engine/internal/suggest.js';
import { loadModelFile, modelError, readingModel } from './load-model.js';
import type { ModelSource } from './load-model.js';

/** One mapping of a service: a target and, when the model names one, a container (else the service's type, as Disnix). */
export interface TargetMapping {
  target: string;
  container?: string;
}

/** The distribution model, checked: service name → its mappings, in the model's order. */
export interface Distribution {
  mappings: Record<string, TargetMapping[]>;
  /** Where the model came from, so later checks (services the services model lacks) can name the file and line. */
  source: ModelSource;
}

/** What a services model function gets as `distribution`: the verbose form, with the infrastructure's target objects. */
export type DistributionArgument = Record<string, { targets: Array<{ target: InfrastructureTarget; container?: string }> }>;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

export async function loadDistribution(file: string, infrastructure: Infrastructure, extraParams: ExtraParams = {}): Promise<Distribution> {
  const source = await loadModelFile(file, 'distribution');
  return readingModel(source, 'distribution', () => parseDistribution(source, infrastructure, extraParams));
}

/**
 * Checks a distribution model: each service maps to a list of targets (the
 * simple form) or to `{ targets: [{ target, container? }] }` (the verbose
 * form). A target is its name (JSON/YAML) or a target object of the
 * infrastructure (JS/TS: `infrastructure.test1`), recognised as Disnix does by
 * its address property when it is a copy.
 */
export async function parseDistribution(source: ModelSource, infrastructure: Infrastructure, extraParams: ExtraParams = {}): Promise<Distribution> {
  let value = source.value;
  // Names the model function read from the infrastructure that are no target (infrastructure.tset1): said if a target is undefined.
  const missingReads: string[] = [];
  if (typeof value === 'function') {
    const watched = new Proxy(infrastructure, {
      get(target, key, receiver) {
        if (typeof key === 'string' && !(key in target) && !missingReads.includes(key)) missingReads.push(key);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    try {
      value = await (value as (args: { infrastructure: Infrastructure }) => unknown)({ ...extraParams, infrastructure: watched });
    } catch (error) {
      throw modelError(source, [], `the distribution model function failed: ${(error as Error).message}`);
    }
  }
  if (!isObject(value)) throw modelError(source, [], 'the distribution model must map service names to targets');
  const mappings: Record<string, TargetMapping[]> = {};
  for (const [service, raw] of Object.entries(value)) {
    const badName = nameProblem(service, 'service');
    if (badName) throw modelError(source, [service], badName, true);
    const fail = (keys: Array<string | number>, message: string) => modelError(source, [service, ...keys], `service "${service}": ${message}`);
    mappings[service] = parseMappings(raw, infrastructure, fail, { missingReads });
  }
  return { mappings, source };
}

/**
 * A service's targets in the simple form (a list of targets) or the verbose
 * one (`{ targets: [{ target, container? }] }`); `fail` makes the error for
 * the keys below the value.
 */
export function parseMappings(
  raw: unknown,
  infrastructure: Infrastructure,
  fail: (keys: Array<string | number>, message: string) => Error,
  options: { missingReads?: readonly string[] } = {},
): TargetMapping[] {
  let list: unknown[];
  let verbose = false;
  if (Array.isArray(raw)) list = raw;
  else if (isObject(raw) && Array.isArray(raw.targets)) {
    const extra = Object.keys(raw).find((key) => key !== 'targets');
    if (extra !== undefined) throw fail([extra], `unknown key "${extra}" (the verbose form is { targets: [{ target, container }] })`);
    list = raw.targets;
    verbose = true;
  } else throw fail([], 'expected a list of targets or { targets: [{ target, container }] }');
  const seen = new Set<string>();
  return list.map((item, index) => {
    const keys = verbose ? ['targets', index] : [index];
    let targetValue: unknown = item;
    let container: string | undefined;
    if (verbose) {
      if (!isObject(item) || !('target' in item)) throw fail(keys, `mapping ${index + 1}: expected { target, container? }`);
      const extra = Object.keys(item).find((key) => key !== 'target' && key !== 'container');
      if (extra !== undefined) throw fail([...keys, extra], `mapping ${index + 1}: unknown key "${extra}" (known keys: target, container)`);
      if (item.container !== undefined) {
        const badContainer = nameProblem(item.container, 'container');
        if (badContainer) throw fail([...keys, 'container'], `mapping ${index + 1}: ${badContainer}`);
      }
      targetValue = item.target;
      container = item.container as string | undefined;
    }
    const target = targetName(targetValue, infrastructure);
    if (target === undefined) {
      throw fail(verbose ? [...keys, 'target'] : keys, `${describeTarget(targetValue, infrastructure, options.missingReads ?? [])} is not a target of the infrastructure model${typeof targetValue === 'string' ? didYouMean(targetValue, Object.keys(infrastructure)) : ''} (targets: ${Object.keys(infrastructure).join(', ')})`);
    }
    const identity = `${target}\0${container ?? ''}`;
    if (seen.has(identity)) throw fail(keys, `mapped twice to target "${target}"${container ? ` container "${container}"` : ''}`);
    seen.add(identity);
    return container === undefined ? { target } : { target, container };
  });
}

function targetName(value: unknown, infrastructure: Infrastructure): string | undefined {
  if (typeof value === 'string') return hasOwn(infrastructure, value) ? value : undefined;
  if (!isObject(value)) return undefined;
  const targets = Object.values(infrastructure);
  const same = targets.find((target) => (target as unknown) === value);
  if (same) return same.name;
  // A copy (spread, or a hand-written object): by its name, then by its address as Disnix identifies targets.
  if (typeof value.name === 'string' && hasOwn(infrastructure, value.name)) return value.name;
  const properties = value.properties;
  if (!isObject(properties)) return undefined;
  const matches = targets.filter((target) => properties[target.targetProperty] === target.hostname);
  return matches.length === 1 ? matches[0]!.name : undefined;
}

/** A target as an error names it; an object is never printed (its properties may hold secrets). */
function describeTarget(value: unknown, infrastructure: Infrastructure, missingReads: readonly string[]): string {
  if (typeof value === 'string') return `target ${JSON.stringify(value)}`;
  if (value === undefined && missingReads.length > 0) {
    const reads = missingReads.map((name) => `infrastructure.${name}${didYouMean(name, Object.keys(infrastructure), (nearest) => `infrastructure.${nearest}`)}`);
    return `an undefined target (the model read ${reads.join('; ')})`;
  }
  if (value === undefined) return 'an undefined target (a misspelt infrastructure.<name>?)';
  if (isObject(value)) return 'a target object that matches no target by identity, name or address';
  return `a ${value === null ? 'null' : typeof value} (not a target)`;
}

/** The distribution as a services model function gets it. */
export function distributionArgument(distribution: Distribution, infrastructure: Infrastructure): DistributionArgument {
  const result: DistributionArgument = {};
  for (const [service, mappings] of Object.entries(distribution.mappings)) {
    result[service] = { targets: mappings.map((m) => (m.container === undefined ? { target: infrastructure[m.target]! } : { target: infrastructure[m.target]!, container: m.container })) };
  }
  return result;
}
