import type { ExtraParams } from './extra-params.js';
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { controlCharacterAt, nameProblem } from '@dysnomia/engine/internal/names.js';
import { loadModelFile, modelError, readingModel } from './load-model.js';
import { jumpChain, sshConfigOf } from '../remote/ssh-config.js';
import type { ModelSource } from './load-model.js';

export type { ClientInterface, InfrastructureTarget } from '@dysnomia/engine/internal/deployment-types.js';
import type { ClientInterface, InfrastructureTarget } from '@dysnomia/engine/internal/deployment-types.js';

export type Infrastructure = Record<string, InfrastructureTarget>;

const TARGET_KEYS = new Set(['properties', 'containers', 'system', 'numOfCores', 'targetProperty', 'clientInterface']);
const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '::1']);
/** Properties that say "reach me over SSH" even for an address of this machine. */
const SSH_PROPERTIES = ['sshPort', 'sshUser', 'sshKey', 'sshKnownHosts', 'sshConfig', 'sudo'];

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
/** More operations at once than any machine has cores is a mistake, not a setting. */
export const MAX_CORES = 1024;

/** `extraParams` (--extra-params): what a model function gets as its argument. */
export async function loadInfrastructure(file: string, extraParams: ExtraParams = {}): Promise<Infrastructure> {
  const source = await loadModelFile(file, 'infrastructure');
  let value = source.value;
  if (typeof value === 'function') {
    try {
      value = await (value as (args: ExtraParams) => unknown)({ ...extraParams });
    } catch (error) {
      throw functionFailed(source, error);
    }
  }
  const infrastructure = await readingModel(source, 'infrastructure', () => parseInfrastructure({ ...source, value }));
  checkKeyFiles(infrastructure, source);
  checkSshConfigs(infrastructure, source);
  return infrastructure;
}

/** The ssh config each SSH target follows is read now: its mistakes are said (with its own file and line) before anything is built. */
function checkSshConfigs(infrastructure: Infrastructure, source: ModelSource): void {
  for (const target of Object.values(infrastructure)) {
    if (target.clientInterface !== 'ssh') continue;
    const named = target.properties.sshConfig;
    if (typeof named === 'string' && !statSync(named, { throwIfNoEntry: false })?.isFile()) {
      throw modelError(source, [target.name, 'properties', 'sshConfig'], `target "${target.name}": properties.sshConfig: no such file: ${named}`);
    }
    const config = sshConfigOf(target);
    for (const hop of [...jumpChain(config, target.hostname), { host: target.hostname }]) config.lookup(hop.host);
  }
}

/** The key files SSH targets name are read when connecting: a missing one is said now, with the model's line, before anything is built. */
function checkKeyFiles(infrastructure: Infrastructure, source: ModelSource): void {
  for (const target of Object.values(infrastructure)) {
    const key = target.properties.sshKey;
    if (target.clientInterface !== 'ssh' || typeof key !== 'string') continue;
    const info = statSync(key, { throwIfNoEntry: false });
    if (!info?.isFile()) {
      throw modelError(source, [target.name, 'properties', 'sshKey'], `target "${target.name}": properties.sshKey: ${info === undefined ? 'no such file' : 'not a regular file'}: ${key}`);
    }
  }
}

function functionFailed(source: ModelSource, error: unknown): Error {
  return modelError(source, [], `the infrastructure model function failed: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * Checks the infrastructure model. The client interface defaults to SSH,
 * except for an address of this machine (localhost, 127.0.0.1, ::1, this
 * host's name) given without any ssh* property: that target is done in process.
 */
export function parseInfrastructure(source: ModelSource): Infrastructure {
  let value = source.value;
  if (typeof value === 'function') {
    try {
      value = (value as () => unknown)();
    } catch (error) {
      throw functionFailed(source, error);
    }
    if (value instanceof Promise) {
      value.catch(() => undefined);
      throw modelError(source, [], 'the infrastructure model function is async: load the model with loadInfrastructure, which awaits it');
    }
  }
  if (!isObject(value)) throw modelError(source, [], 'the infrastructure model must be an object mapping target names to targets');
  const targets: Infrastructure = {};
  for (const [name, raw] of Object.entries(value)) {
    const badName = nameProblem(name, 'target');
    if (badName) throw modelError(source, [name], badName, true);
    const fail = (keys: Array<string | number>, message: string, ofKey = false) => modelError(source, [name, ...keys], `target "${name}": ${message}`, ofKey);
    if (!isObject(raw)) throw fail([], 'must be an object with "properties" (hostname, …)');
    for (const key of Object.keys(raw)) {
      if (!TARGET_KEYS.has(key)) throw fail([key], `unknown key "${key}" (known keys: ${[...TARGET_KEYS].join(', ')})`, true);
    }
    const properties = raw.properties ?? {};
    if (!isObject(properties)) throw fail(['properties'], '"properties" must be an object');
    const containers = raw.containers ?? {};
    if (!isObject(containers) || !Object.values(containers).every(isObject)) throw fail(['containers'], '"containers" must map container names to objects of properties');
    for (const container of Object.keys(containers)) {
      const badContainer = nameProblem(container, 'container');
      if (badContainer) throw fail(['containers', container], badContainer, true);
    }
    const controlAt = controlCharacterAt(properties, ['properties']) ?? controlCharacterAt(containers, ['containers']);
    if (controlAt) throw fail(controlAt, `${controlAt.join('.')} holds a NUL byte, which no program can receive (the value is not shown: it may be a secret)`);
    const targetProperty = raw.targetProperty ?? 'hostname';
    if (typeof targetProperty !== 'string') throw fail(['targetProperty'], '"targetProperty" must be a property name');
    const hostname = properties[targetProperty] ?? (raw.clientInterface === 'local' ? 'localhost' : undefined);
    if (typeof hostname !== 'string' || hostname === '') throw fail(['properties'], `properties.${targetProperty} must be the host's address`);
    for (const key of ['sshUser', 'sshKey', 'sshKnownHosts', 'sshConfig', 'stateDir', 'nodePath']) {
      if (properties[key] !== undefined && (typeof properties[key] !== 'string' || properties[key] === '')) throw fail(['properties', key], `properties.${key} must be a string`);
    }
    if (properties.sudo !== undefined && typeof properties.sudo !== 'boolean') throw fail(['properties', 'sudo'], 'properties.sudo must be true or false');
    const port = properties.sshPort;
    if (port !== undefined && !(Number.isInteger(Number(port)) && Number(port) > 0 && Number(port) < 65536)) throw fail(['properties', 'sshPort'], 'properties.sshPort must be a port number');
    if (typeof properties.stateDir === 'string' && !path.isAbsolute(properties.stateDir)) throw fail(['properties', 'stateDir'], 'properties.stateDir must be an absolute path (on the target)');
    const clientInterface = clientInterfaceOf(raw.clientInterface, hostname, properties);
    if (clientInterface === undefined) throw fail(['clientInterface'], `clientInterface must be "ssh" or "local", not ${JSON.stringify(raw.clientInterface)}`);
    if (raw.system !== undefined && typeof raw.system !== 'string') throw fail(['system'], '"system" must be a string');
    if (raw.numOfCores !== undefined && !(Number.isInteger(raw.numOfCores) && (raw.numOfCores as number) >= 1 && (raw.numOfCores as number) <= MAX_CORES)) {
      throw fail(['numOfCores'], `"numOfCores" must be a whole number from 1 to ${MAX_CORES}`);
    }
    targets[name] = {
      name,
      properties: resolveLocalPaths(properties, path.dirname(source.file)),
      containers: containers as Record<string, Record<string, unknown>>,
      ...(raw.system !== undefined ? { system: raw.system as string } : {}),
      ...(raw.numOfCores !== undefined ? { numOfCores: raw.numOfCores as number } : {}),
      targetProperty,
      clientInterface,
      hostname,
    };
  }
  if (Object.keys(targets).length === 0) throw modelError(source, [], 'the infrastructure model has no targets');
  return targets;
}

/** The interface of a target that names none: in process for an address of this machine without ssh* properties, else SSH. */
export function defaultClientInterface(hostname: string, properties: Record<string, unknown>): ClientInterface {
  const thisMachine = LOCAL_NAMES.has(hostname) || hostname === os.hostname();
  return thisMachine && !SSH_PROPERTIES.some((key) => properties[key] !== undefined) ? 'local' : 'ssh';
}

function clientInterfaceOf(value: unknown, hostname: string, properties: Record<string, unknown>): ClientInterface | undefined {
  if (value === undefined) return defaultClientInterface(hostname, properties);
  if (value === 'local') return 'local';
  // Disnix's names for its SSH client are accepted as "ssh".
  if (value === 'ssh' || value === 'disnix-ssh-client') return 'ssh';
  return undefined;
}

/** sshKey, sshKnownHosts and sshConfig are files of this machine: relative to the model, `~/` expanded. */
function resolveLocalPaths(properties: Record<string, unknown>, dir: string): Record<string, unknown> {
  const result = { ...properties };
  for (const key of ['sshKey', 'sshKnownHosts', 'sshConfig']) {
    const value = result[key];
    if (typeof value !== 'string') continue;
    result[key] = value.startsWith('~/') ? path.join(os.homedir(), value.slice(2)) : path.resolve(dir, value);
  }
  return result;
}
