import { createHash } from 'node:crypto';
import path from 'node:path';
import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';
import { assertProfileName } from '@dysnomia/engine/internal/profiles/names.js';
import { nameProblem } from '@dysnomia/engine/internal/names.js';
import { captureInfrastructure } from '../capture/capture-infrastructure.js';
import { loadDistribution } from '../models/distribution.js';
import type { Infrastructure } from '../models/infrastructure.js';
import { loadModelFile, modelError, readingModel } from '../models/load-model.js';
import type { ModelSource } from '../models/load-model.js';
import { loadServices } from '../models/services.js';
import type { ServicesModel } from '../models/services.js';
import type { ExtraParams } from '../models/extra-params.js';
import { stateOf } from './deploy-packages.js';
import type { DeployResult } from './deploy-packages.js';
import type { DeployedMapping, Deployment } from './deployment.js';
import type { Manifest } from './manifests.js';
import { runTransition } from './orchestrator.js';
import type { OrchestratorOptions } from './orchestrator.js';
import { quietReporter } from './progress.js';
import { deployServices } from './services-deployment.js';

/** One layer of a layered system: its own services and distribution, deployed as its own profile. */
export interface Layer {
  name: string;
  profile: string;
  services: string;
  distribution: string;
}

/** What a layered deployment records as one generation: each layer's profile and the deployment generation it was at. */
export interface LayeredDeployment extends Deployment {
  layers: Array<{ name: string; profile: string; generation: number | null }>;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * A layers model: an ordered list (lowest layer first) of
 * `{ name, services, distribution, profile? }`, or `{ layers: [...] }`; the
 * files are relative to the layers model; a layer's profile defaults to its name.
 */
export async function loadLayers(file: string): Promise<Layer[]> {
  const source = await loadModelFile(file, 'layers');
  return readingModel(source, 'layers', () => parseLayers(source));
}

function parseLayers(source: ModelSource): Layer[] {
  let value = source.value;
  const keyPath: Array<string | number> = [];
  if (isObject(value) && Array.isArray(value.layers)) {
    value = value.layers;
    keyPath.push('layers');
  }
  if (!Array.isArray(value) || value.length === 0) throw modelError(source, [], 'the layers model must be a list of layers ({ name, services, distribution, profile? }), lowest first');
  const dir = path.dirname(source.file);
  const seen = new Set<string>();
  return value.map((raw, index) => {
    const at = [...keyPath, index];
    if (!isObject(raw)) throw modelError(source, at, `layer ${index + 1} must be an object with name, services and distribution`);
    const name = raw.name;
    if (typeof name !== 'string' || nameProblem(name, 'layer') !== undefined) throw modelError(source, [...at, 'name'], `layer ${index + 1}: ${typeof name === 'string' ? nameProblem(name, 'layer') : 'name must be a string'}`);
    const profile = raw.profile ?? name;
    try {
      assertProfileName(String(profile));
    } catch (error) {
      throw modelError(source, [...at, 'profile'], `layer ${name}: ${(error as Error).message}`);
    }
    if (seen.has(String(profile))) throw modelError(source, [...at, 'profile'], `layer ${name}: profile "${String(profile)}" is another layer's too: each layer needs its own`);
    seen.add(String(profile));
    const file = (key: 'services' | 'distribution') => {
      if (typeof raw[key] !== 'string' || raw[key] === '') throw modelError(source, [...at, key], `layer ${name}: ${key} must be the path of a ${key} model`);
      return path.resolve(dir, raw[key] as string);
    };
    return { name, profile: String(profile), services: file('services'), distribution: file('distribution') };
  });
}

export interface LayeredOptions extends OrchestratorOptions {
  infrastructureFile: string;
  loadInfrastructure: (file: string) => Promise<Infrastructure>;
  /** Handed to every layer's model functions (--extra-params). */
  extraParams?: ExtraParams;
}

/** The containers a deployed layer's services declare (providesContainers) added to the targets they run on. */
function withDeclaredContainers(infrastructure: Infrastructure, services: ServicesModel): Infrastructure {
  const result: Infrastructure = Object.fromEntries(Object.entries(infrastructure).map(([name, target]) => [name, { ...target, containers: { ...target.containers } }]));
  for (const service of Object.values(services.services)) {
    for (const { target } of service.targets) {
      for (const [container, properties] of Object.entries(service.providesContainers)) {
        const on = result[target];
        if (on !== undefined) on.containers[container] = { ...properties, ...(on.containers[container] ?? {}) };
      }
    }
  }
  return result;
}

/** What the machines now offer: each target's containers as it describes them (its profiles' included), over the model's. */
async function captured(infrastructure: Infrastructure, options: LayeredOptions): Promise<Infrastructure> {
  const result = await captureInfrastructure({ ...options, infrastructure, reporter: quietReporter });
  if (result.model === undefined) {
    throw new DysnomiaError('ERR_DYSNOMIA_DEPLOY_FAILED', `cannot see what the machines provide for the next layer: ${[...result.failed.values()].join('; ')}`, { exitCode: 1 });
  }
  return Object.fromEntries(
    Object.entries(infrastructure).map(([name, target]) => [name, { ...target, containers: { ...result.model![name]!.containers, ...target.containers } }]),
  );
}

/**
 * A mapping deployed into a container a lower layer provides carries that
 * provider's identity, so changing or moving the provider redeploys what
 * runs in it.
 */
function foldProviders(deployment: Deployment, providers: Map<string, string[]>): Deployment {
  const renamed = new Map<string, string>();
  for (const m of deployment.mappings) {
    const by = providers.get(`${m.target}\0${m.container}`);
    if (by !== undefined && by.length > 0) renamed.set(m.id, `${m.id}+${createHash('sha256').update(JSON.stringify([...by].sort())).digest('hex').slice(0, 12)}`);
  }
  if (renamed.size === 0) return deployment;
  const mappings: DeployedMapping[] = deployment.mappings.map((m) => ({ ...m, id: renamed.get(m.id) ?? m.id, after: m.after.map((id) => renamed.get(id) ?? id) }));
  return { ...deployment, mappings };
}

function providersOf(deployment: Deployment, into: Map<string, string[]>): void {
  for (const m of deployment.mappings) {
    for (const container of m.providesContainers ?? []) into.set(`${m.target}\0${container}`, [...(into.get(`${m.target}\0${container}`) ?? []), m.id]);
  }
}

/**
 * Deploys the layers in order, each as its own profile, each seeing the
 * infrastructure as the layers below left it (captured from the machines, plus
 * what their services declare they provide). When a layer fails, its own
 * transition is rolled back, and then every lower layer this run changed goes
 * back to its previous deployment, upper first. Success records the layered
 * deployment as a generation of `options.profile`.
 */
export async function deployLayers(layers: Layer[], options: LayeredOptions): Promise<DeployResult> {
  const { reporter } = options;
  const state = stateOf(options);
  const base = await options.loadInfrastructure(options.infrastructureFile);
  let seen = base;
  const providers = new Map<string, string[]>();
  const changed: Array<{ layer: Layer; previous: Manifest | undefined }> = [];
  // Layers that keep their old container providers until the layers above have moved out of them (phase 2).
  const finishing: Array<{ layer: Layer; deployment: Deployment; typePlugins: OrchestratorOptions['typePlugins'] }> = [];
  const failedIn = async (layer: Layer, result: DeployResult): Promise<DeployResult> => {
    if (options.dryRun || changed.length === 0) return result;
    await rollBackLayers(changed, options);
    const back = [...changed].reverse().map(({ layer: l, previous }) => `${l.name} (${previous ? `deployment generation ${previous.generation}` : 'undeployed'})`);
    return { ok: false, failed: new Map([...result.failed, ['layers', `layer ${layer.name} failed, so the layers this run changed went back: ${back.join(', ')}`]]) };
  };
  for (const [index, layer] of layers.entries()) {
    reporter.emit({ event: 'layer', layer: layer.name, profile: layer.profile, index: index + 1, of: layers.length });
    const distribution = await loadDistribution(layer.distribution, seen, options.extraParams);
    const services = await loadServices(layer.services, seen, distribution, options.extraParams);
    const records = state.records(layer.profile);
    const previous = await records.current();
    const typePlugins = options.typePlugins.from([path.dirname(layer.services)]);
    let keeping = false;
    const result = await deployServices(services, seen, {
      ...options,
      profile: layer.profile,
      typePlugins,
      adjust: (deployment) => {
        const folded = foldProviders(deployment, providers);
        providersOf(folded, providers);
        // Below the top, a provider that goes away stays until the layers above have left its containers (their state may move out of it).
        const kept = index < layers.length - 1 && !options.dryRun ? leavingProviders(previous, folded) : [];
        if (kept.length === 0) return { deployment: folded };
        keeping = true;
        finishing.push({ layer, deployment: folded, typePlugins });
        return { deployment: withKept(folded, kept, previous!), record: false };
      },
    });
    if (!result.ok) return failedIn(layer, result);
    if (!options.dryRun && (keeping || (await records.currentGeneration()) !== previous?.generation)) changed.push({ layer, previous });
    if (index < layers.length - 1) seen = withDeclaredContainers(options.dryRun ? seen : await captured(base, options), services);
  }
  // Top down, the layers that kept old providers let them go.
  for (const { layer, deployment, typePlugins } of [...finishing].reverse()) {
    reporter.emit({ event: 'layer', layer: layer.name, profile: layer.profile, index: layers.indexOf(layer) + 1, of: layers.length });
    const result = await runTransition({ kind: 'new', deployment }, { ...options, profile: layer.profile, typePlugins });
    if (!result.ok) return failedIn(layer, result);
  }
  if (!options.dryRun) await recordLayers(layers, options);
  return { ok: true, failed: new Map() };
}

/**
 * The previous deployment's providers whose containers leave their target:
 * moved elsewhere or gone. One replaced in place (the new deployment
 * provides the same container on the same target: an upgraded server) is not
 * kept: the two could not run side by side, and what is in it stays there.
 */
function leavingProviders(previous: Manifest | undefined, next: Deployment): DeployedMapping[] {
  if (previous === undefined) return [];
  const staying = new Set(next.mappings.map((m) => m.id));
  const providedNext = new Set(next.mappings.flatMap((m) => (m.providesContainers ?? []).map((c) => `${m.target}\0${c}`)));
  return previous.mappings.filter(
    (m) => (m.providesContainers?.length ?? 0) > 0 && !staying.has(m.id) && !m.providesContainers!.some((c) => providedNext.has(`${m.target}\0${c}`)),
  );
}

/** `next` with `kept` mappings of `previous` still in place (their components in the profiles, their targets reachable). */
function withKept(next: Deployment, kept: DeployedMapping[], previous: Manifest): Deployment {
  const profiles = Object.fromEntries(Object.entries(next.profiles).map(([target, entries]) => [target, [...entries]]));
  const targets = { ...next.targets };
  for (const m of kept) {
    const list = (profiles[m.target] ??= []);
    if (!list.includes(m.entry)) list.push(m.entry);
    if (targets[m.target] === undefined && previous.targets[m.target] !== undefined) targets[m.target] = previous.targets[m.target]!;
  }
  return { ...next, targets, mappings: [...next.mappings, ...kept], profiles };
}

/** Every layer this run changed goes back to the deployment it had (none: undeployed), upper layers first; a failure there is said and the others go on. */
async function rollBackLayers(changed: Array<{ layer: Layer; previous: Manifest | undefined }>, options: LayeredOptions): Promise<void> {
  for (const { layer, previous } of [...changed].reverse()) {
    options.reporter.emit({ event: 'layer', layer: layer.name, profile: layer.profile, index: 0, of: 0, rollingBack: true });
    const to = previous === undefined ? { kind: 'new' as const, deployment: { profile: layer.profile, targets: {}, mappings: [], profiles: {} } } : { kind: 'recorded' as const, manifest: previous };
    await runTransition(to, { ...options, profile: layer.profile }).catch(() => undefined);
  }
}

/** The layered deployment as a generation: each layer's current deployment generation (unless that is the current record already). */
async function recordLayers(layers: Layer[], options: LayeredOptions): Promise<void> {
  const state = stateOf(options);
  const entries = [];
  for (const layer of layers) entries.push({ name: layer.name, profile: layer.profile, generation: (await state.records(layer.profile).currentGeneration()) ?? null });
  const records = state.records(options.profile);
  const current = (await records.current()) as (Manifest & Partial<LayeredDeployment>) | undefined;
  if (current?.layers !== undefined && JSON.stringify(current.layers) === JSON.stringify(entries)) return;
  const layered: LayeredDeployment = { profile: options.profile, targets: {}, mappings: [], profiles: {}, layers: entries };
  const manifest = await records.recordCurrent(layered);
  options.reporter.emit({ event: 'manifest', profile: options.profile, generation: manifest.generation, file: records.where(manifest.generation) });
}

/** A recorded layered generation, back in place: each layer transitions to the deployment it had then (lowest first); undeploys, top down, a layer it did not have. */
export async function switchLayers(generation: number, options: OrchestratorOptions): Promise<DeployResult> {
  const state = stateOf(options);
  const records = state.records(options.profile);
  const target = (await records.read(generation)) as Manifest & Partial<LayeredDeployment>;
  if (target.layers === undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `profile "${options.profile}" generation ${generation} is not a layered deployment`);
  for (const layer of target.layers) {
    options.reporter.emit({ event: 'layer', layer: layer.name, profile: layer.profile, index: target.layers.indexOf(layer) + 1, of: target.layers.length });
    const to =
      layer.generation === null
        ? { kind: 'new' as const, deployment: { profile: layer.profile, targets: {}, mappings: [], profiles: {} } }
        : { kind: 'recorded' as const, manifest: await state.records(layer.profile).read(layer.generation) };
    const result = await runTransition(to, { ...options, profile: layer.profile });
    if (!result.ok) return result;
  }
  await records.setCurrent(generation);
  return { ok: true, failed: new Map() };
}

/** Undeploys every layer of the current layered deployment, upper layers first. */
export async function undeployLayers(layers: Layer[], options: OrchestratorOptions): Promise<DeployResult> {
  for (const [index, layer] of [...layers].reverse().entries()) {
    options.reporter.emit({ event: 'layer', layer: layer.name, profile: layer.profile, index: layers.length - index, of: layers.length });
    const result = await runTransition({ kind: 'new', deployment: { profile: layer.profile, targets: {}, mappings: [], profiles: {} } }, { ...options, profile: layer.profile });
    if (!result.ok) return result;
  }
  return { ok: true, failed: new Map() };
}
