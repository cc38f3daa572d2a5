import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { describeMachine } from '../containers/machine.js';
import { Engine, loadListedPlugin, remembered, Resolutions } from '../engine.js';
import { discoverModules } from '../modules/discover.js';
import type { PluginSource } from '../modules/load-plugin.js';
import { ENGINE_API_VERSION, engineVersion } from '../version.js';
import { ENGINE_PACKAGE } from '../remote/installed-packages.js';
import { RUNTIME_ROOT_FILE } from '../remote/runtime-compose.js';
import { readFile } from 'node:fs/promises';
import type { DeployedMapping } from '../deployment-types.js';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { acquireLock, profileLockFile, releaseLock } from '../locks/profile-lock.js';
import { removeStaleTemporaries } from '../store/gc.js';
import { StoreHold } from '../store/holds.js';
import { collectMachine, outsideCollections } from '../store/collection.js';
import { Store } from '../store/store.js';
import type { LockHolder } from '../locks/profile-lock.js';
import { isOperation } from '../plugin.js';
import { isEntryName } from '../store/entry-name.js';
import { nameProblem } from '../names.js';
import { assertProfileName } from '../profiles/names.js';
import { moduleIn } from '../search-paths.js';
import { Activations, readTargetRecord, recordedProfiles } from './activations.js';
import { runBuildRequest } from './build-request.js';
import { readAgentInput } from './archive-frames.js';
import type { AgentAnswers, AgentHello, AgentRequest, AgentResponse, DescribeResult, PackageVersion, ProfileAction, QueryAnswer, ServiceOperation, ServiceOutcome, TargetModule, TargetProfile } from './protocol.js';
import { forEachLimited } from '../for-each-limited.js';
import { Profiles } from '../profiles/profiles.js';
import { snapshotsRequest } from './snapshots-request.js';

/** What the operations of one `service-locks` request share: resolved containers and types, and the modules store entries ship. */
interface Batch {
  resolutions: Resolutions;
  shippedModules: Map<string, Promise<string>>;
}

type Outcome = { kind: 'done'; value: unknown } | { kind: 'skipped'; reason: string } | { kind: 'refused'; holder: LockHolder };

/** The last part of an operation's output kept in an answer: enough to say why it failed. */
const OUTPUT_TAIL = 8192;

/** Collects what an operation's modules print, and hands each complete line to `onLine` as it comes (stdout and stderr apart). */
class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private readonly partial = { stdout: '', stderr: '' };
  constructor(private readonly onLine?: (line: string) => void) {}
  add(chunk: Buffer, stream: 'stdout' | 'stderr'): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > OUTPUT_TAIL * 2 && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
    if (this.onLine) {
      const lines = (this.partial[stream] + chunk.toString('utf8')).split('\n');
      this.partial[stream] = lines.pop()!;
      for (const line of lines) this.onLine(line);
    }
  }
  /** The last lines, when they did not end with a newline. */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') this.onLine?.(this.partial[stream]);
      this.partial[stream] = '';
    }
  }
  text(): string {
    const all = Buffer.concat(this.chunks).toString('utf8');
    return all.length > OUTPUT_TAIL ? `…${all.slice(-OUTPUT_TAIL)}` : all;
  }
}

/**
 * One engine serves every request of an agent (loading the config and
 * resolving plugins once, not per operation); what its modules print goes to
 * the buffer of the request it runs for, found through the async context,
 * so concurrent operations keep their outputs apart.
 */
const currentOutput = new AsyncLocalStorage<OutputBuffer>();

class RoutedOutput extends Writable {
  constructor(private readonly stream: 'stdout' | 'stderr') {
    super();
  }
  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    const done = typeof encoding === 'function' ? encoding : callback;
    const buffer = currentOutput.getStore();
    buffer?.add(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer), this.stream);
    if (typeof done === 'function') (done as () => void)();
    return true;
  }
}

/**
 * Carries out a coordinator's requests on this machine: operations on store
 * entries through the engine (plugins and modules found as on the command
 * line, including those installed profiles provide), the machine's
 * description, and profile locks. Used in process for local targets and by
 * `dysnomia agent` over SSH.
 */
export interface AgentOptions {
  /** Plugins (package folders) to load beside those the target finds itself: the runtime's, or the coordinator's for a local target. */
  plugins?: string[];
  /** Modules' debug lines too. */
  debug?: boolean;
  env?: NodeJS.ProcessEnv;
}

export class Agent {
  private readonly env: NodeJS.ProcessEnv;
  private readonly activations: Activations;
  private readonly profiles: Profiles;
  /** What this agent's deployment needs from the store until it ends (released by close()). */
  private readonly hold: StoreHold;
  constructor(
    readonly stateDir: string,
    private readonly options: AgentOptions = {},
  ) {
    this.env = options.env ?? process.env;
    this.activations = new Activations(stateDir);
    this.profiles = Profiles.at(stateDir);
    this.hold = new StoreHold(stateDir);
  }

  /** Files of `shell-properties` requests, removed when the agent ends. */
  private readonly shellFiles: string[] = [];

  /** The coordinator is done with this agent: what it held goes back to the collector, its shells' property files go. */
  async close(): Promise<void> {
    await this.hold.release();
    for (const file of this.shellFiles.splice(0)) await rm(file, { force: true });
  }

  hello(): AgentHello {
    return { hello: { stateDir: this.stateDir, cores: os.availableParallelism(), node: process.versions.node } };
  }

  /** Runs a request; `onLine` gets the lines its modules print as they come (with the service's key in a `service-locks` request). */
  async handle(request: AgentRequest, onLine?: (line: string, key?: string) => void, archive?: Readable): Promise<AgentResponse> {
    const output = new OutputBuffer(onLine);
    try {
      const outcome = await currentOutput.run(output, () => this.dispatch(request, onLine, archive)).finally(() => output.flush());
      if (outcome.kind === 'refused') return { id: request.id, ok: false, error: 'locked', code: 'ERR_DYSNOMIA_LOCKED', exitCode: EXIT_OPERATION_FAILED, output: '', holder: outcome.holder };
      if (outcome.kind === 'skipped') return { id: request.id, ok: true, output: output.text(), skipped: outcome.reason };
      return { id: request.id, ok: true, output: output.text(), result: outcome.value };
    } catch (error) {
      return { id: request.id, ...failureAnswer(error, output.text()) };
    }
  }

  private cachedEngine: Promise<Engine> | undefined;
  private engine(): Promise<Engine> {
    this.cachedEngine ??= Engine.create({
      stateDir: this.stateDir,
      env: { ...this.env, DYSNOMIA_STATEDIR: this.stateDir },
      stdout: new RoutedOutput('stdout'),
      stderr: new RoutedOutput('stderr'),
      cwd: this.stateDir,
      logLevel: this.options.debug ? 'debug' : 'info',
      listedPlugins: this.options.plugins ?? [],
    });
    return this.cachedEngine;
  }

  /** The module a store entry ships for a type, as a path for the engine (where a profile would hold it). */
  private async shippedModule(entry: string, type: string): Promise<string> {
    const file = await moduleIn(path.join(this.stateDir, 'store', entry), type);
    if (file === undefined) throw new DysnomiaError('ERR_DYSNOMIA_MODULE_NOT_FOUND', `${entry} ships no module for type "${type}"`);
    return file;
  }

  /** What this target runs: `profile`, or every profile it has a record or a profile of. */
  private async query(profile: string | undefined): Promise<QueryAnswer> {
    const engine = await this.engine();
    const names = profile !== undefined ? [profile] : [...new Set([...(await recordedProfiles(this.stateDir)), ...(await this.profiles.list())])].sort();
    const profiles: TargetProfile[] = [];
    for (const name of names) {
      const record = await readTargetRecord(this.stateDir, name);
      const current = (await this.profiles.generations(name)).find((g) => g.current);
      const packages = current === undefined ? [] : (await this.profiles.packages(name)).map((p) => path.basename(p));
      profiles.push({ profile: name, generation: current?.number ?? null, packages, services: record.mappings, profileOnly: record.packages });
    }
    return {
      stateDir: this.stateDir,
      node: process.versions.node,
      engine: { name: ENGINE_PACKAGE, version: engineVersion(), api: ENGINE_API_VERSION },
      runtime: await this.currentRuntime(),
      modules: await this.activeModules(engine),
      profiles,
    };
  }

  /** The runtime the target's GC root names first, as its manifest describes it. */
  private async currentRuntime(): Promise<QueryAnswer['runtime']> {
    const root = await readJson(path.join(this.stateDir, RUNTIME_ROOT_FILE));
    const entry = (root as { storePaths?: unknown[] } | undefined)?.storePaths?.[0];
    if (typeof entry !== 'string' || !isEntryName(entry)) return null;
    const manifest = (await readJson(path.join(this.stateDir, 'store', entry, 'dysnomia-runtime.json'))) as { engine?: PackageVersion; plugins?: PackageVersion[] } | undefined;
    if (manifest?.engine === undefined) return null;
    const version = ({ name, version }: PackageVersion) => ({ name, version });
    return { entry, engine: version(manifest.engine), plugins: (manifest.plugins ?? []).map(version) };
  }

  /** The module each type resolves to here, as `dysnomia plugins` finds them (the runtime's plugins included). */
  private async activeModules(engine: Engine): Promise<TargetModule[]> {
    const listed: PluginSource[] = [];
    for (const entry of this.options.plugins ?? []) await loadListedPlugin(entry, engine.npmDirs).then((source) => void listed.push(source), () => undefined);
    return (await discoverModules(engine, listed))
      .filter((m) => m.status === 'active' && m.type !== undefined)
      .map((m) => ({ type: m.type!, kind: m.kind, name: m.name, ...(m.version ? { version: m.version } : {}), location: m.location }));
  }

  /** Runs an operation on a store entry through the engine, after checking what a coordinator could misuse to reach other files; `batch`: what the operations of one request share. */
  private async operate(operation: string, service: Omit<ServiceOperation, 'key'>, batch?: Batch): Promise<{ skipped?: string; result?: unknown }> {
    if (!isOperation(operation)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `unknown operation ${JSON.stringify(operation)}`);
    if (!isEntryName(service.entry)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a store entry: ${JSON.stringify(service.entry)}`);
    if (service.moduleEntry !== undefined && !isEntryName(service.moduleEntry)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a store entry: ${JSON.stringify(service.moduleEntry)}`);
    // Names only: a path from a coordinator would reach files outside the containers and modules folders.
    const badName = nameProblem(service.type, 'type') ?? nameProblem(service.container, 'container');
    if (badName) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', badName);
    const engine = await this.engine();
    const { moduleEntry } = service;
    const type = moduleEntry === undefined ? service.type : await remembered(batch?.shippedModules, `${moduleEntry}\0${service.type}`, () => this.shippedModule(moduleEntry, service.type));
    const outcome = await engine.run(
      {
        operation,
        type,
        component: path.join(this.stateDir, 'store', service.entry),
        container: service.container,
        ...(service.properties ? { containerProperties: service.properties } : {}),
      },
      batch?.resolutions,
    );
    return outcome.skipped ? { skipped: outcome.skipped } : { result: outcome.result };
  }

  /** One service's operation of a `service-locks` request, its output kept apart and its failure answered, not thrown. */
  private async operateService(operation: 'lock' | 'unlock', service: ServiceOperation, batch: Batch, onLine?: (line: string, key?: string) => void): Promise<ServiceOutcome> {
    const output = new OutputBuffer(onLine && ((line) => onLine(line, service.key)));
    try {
      const outcome = await currentOutput.run(output, () => this.operate(operation, service, batch)).finally(() => output.flush());
      return { key: service.key, ok: true, ...(outcome.skipped ? { skipped: outcome.skipped } : {}) };
    } catch (error) {
      return { key: service.key, ...failureAnswer(error, output.text()) };
    }
  }

  /**
   * The lock (or unlock) operation of each service, `parallel` at once. A
   * lock's refusal starts no other and unlocks those this request locked, so
   * the target is left as it was. The services' containers, types and
   * shipped modules are resolved once for the request (see Resolutions).
   */
  private async serviceLocks(request: Extract<AgentRequest, { kind: 'service-locks' }>, onLine?: (line: string, key?: string) => void): Promise<AgentAnswers['service-locks']> {
    const { operation } = request;
    if (operation !== 'lock' && operation !== 'unlock') throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `service-locks runs lock or unlock, not ${JSON.stringify(operation)}`);
    const services = serviceList(request.services);
    const parallel = Number.isInteger(request.parallel) && request.parallel > 0 ? request.parallel : os.availableParallelism();
    const outcomes: ServiceOutcome[] = [];
    const batch: Batch = { resolutions: new Resolutions(), shippedModules: new Map() };
    let refused = false;
    await forEachLimited(services, parallel, async (service) => {
      if (operation === 'lock' && refused) return;
      const outcome = await this.operateService(operation, service, batch, onLine);
      if (!outcome.ok) refused = true;
      outcomes.push(outcome);
    });
    const unlocked: ServiceOutcome[] = [];
    if (operation === 'lock' && refused) {
      const locked = new Set(outcomes.filter((o) => o.ok).map((o) => o.key));
      await forEachLimited(services.filter((s) => locked.has(s.key)), parallel, async (service) => void unlocked.push(await this.operateService('unlock', service, batch, onLine)));
    }
    return { outcomes, unlocked };
  }

  /** What a request came to; kept apart from a plugin's own result, which may hold any keys. */
  private async dispatch(request: AgentRequest, onLine?: (line: string, key?: string) => void, archive?: Readable): Promise<Outcome> {
    switch (request.kind) {
      case 'import': {
        if (archive === undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'an import needs its archive on the agent\'s input');
        try {
          return { kind: 'done', value: { entries: await this.profiles.store.importArchive(archive) } satisfies AgentAnswers['import'] };
        } finally {
          // Whatever the import did not read is dropped (readAgentInput reads the frames on to the archive's end).
          archive.destroy();
        }
      }
      case 'operation': {
        const outcome = await this.operate(request.operation, request);
        if (request.record !== undefined && (request.operation === 'activate' || request.operation === 'deactivate')) {
          assertProfileName(request.record.profile);
          if (request.operation === 'activate') await this.activations.activated(request.record.profile, request.record.mapping);
          else await this.activations.deactivated(request.record.profile, request.record.mapping.id);
        }
        return outcome.skipped ? { kind: 'skipped', reason: outcome.skipped } : { kind: 'done', value: outcome.result };
      }
      case 'service-locks':
        return { kind: 'done', value: await this.serviceLocks(request, onLine) };
      case 'activations':
        return { kind: 'done', value: (await readTargetRecord(this.stateDir, assertProfileName(request.profile))) satisfies AgentAnswers['activations'] };
      case 'record-packages': {
        const mappings = mappingList(request.mappings);
        await this.activations.packagesInProfile(assertProfileName(request.profile), mappings);
        return { kind: 'done', value: { recorded: mappings.length } satisfies AgentAnswers['record-packages'] };
      }
      case 'query':
        return { kind: 'done', value: await this.query(request.profile === undefined ? undefined : assertProfileName(request.profile)) };
      case 'describe': {
        const machine = await describeMachine(await this.engine());
        return { kind: 'done', value: { ...machine, cores: os.availableParallelism() } satisfies DescribeResult };
      }
      case 'lock': {
        assertProfileName(request.profile);
        const file = profileLockFile(this.stateDir, request.profile);
        const outcome = await acquireLock(file, request.holder, request.breaking);
        if (!outcome.acquired) return { kind: 'refused', holder: outcome.holder };
        // What the deployment sends is kept from a garbage collection by its store hold (the `hold` request), not by this lock.
        // What an interrupted bootstrap or import left in the store goes now.
        await removeStaleTemporaries(Store.at(this.stateDir));
        return { kind: 'done', value: { locked: true } };
      }
      case 'unlock':
        assertProfileName(request.profile);
        return { kind: 'done', value: { released: await releaseLock(profileLockFile(this.stateDir, request.profile), request.holder) } };
      case 'missing':
        return { kind: 'done', value: { missing: await this.profiles.store.missing(entryNames(request.entries)) } satisfies AgentAnswers['missing'] };
      case 'hold': {
        const entries = entryNames(request.entries);
        await this.hold.add(entries);
        return { kind: 'done', value: { missing: await this.profiles.store.missing(entries) } satisfies AgentAnswers['hold'] };
      }
      case 'shell-properties': {
        const properties = request.properties;
        if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'properties must be an object');
        const dir = path.join(this.stateDir, 'tmp');
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const file = path.join(dir, `shell-${process.pid}-${randomBytes(6).toString('hex')}.json`);
        this.shellFiles.push(file);
        // Private: container properties may hold passwords.
        await writeFile(file, `${JSON.stringify(properties)}\n`, { mode: 0o600, flag: 'wx' });
        return { kind: 'done', value: { file } satisfies AgentAnswers['shell-properties'] };
      }
      case 'collect-garbage': {
        const only = request.profile === undefined ? {} : { profile: assertProfileName(request.profile) };
        const collected = await collectMachine(this.stateDir, {
          ...(request.deleteOldGenerations === true ? { deleteOldGenerations: only } : {}),
          log: (message) => currentOutput.getStore()?.add(Buffer.from(`${message}\n`), 'stdout'),
        });
        const { removed, bytes, kept, generations, lockedProfiles } = collected;
        return { kind: 'done', value: { removed, bytes, kept, generations, lockedProfiles } satisfies AgentAnswers['collect-garbage'] };
      }
      case 'profile': {
        const profile = assertProfileName(request.profile);
        // An install adds the generation's tree, then links it: no collection may run in between.
        const value = request.action === 'install' ? await outsideCollections(this.stateDir, () => profileRequest(this.profiles, profile, request)) : await profileRequest(this.profiles, profile, request);
        return { kind: 'done', value };
      }
      case 'build': {
        const output = currentOutput.getStore();
        const answer = await runBuildRequest(this.stateDir, request.component, { env: this.env, output: (chunk, stream) => output?.add(chunk, stream) });
        return { kind: 'done', value: answer satisfies AgentAnswers['build'] };
      }
      case 'snapshots':
        return { kind: 'done', value: await snapshotsRequest(this.stateDir, request) };
      case 'record': {
        assertProfileName(request.profile);
        if (request.activated !== undefined) await this.activations.activated(request.profile, request.activated);
        if (request.deactivated !== undefined) await this.activations.deactivated(request.profile, request.deactivated);
        return { kind: 'done', value: { recorded: true } satisfies AgentAnswers['record'] };
      }
      default:
        throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `unknown request ${JSON.stringify((request as { kind?: unknown }).kind)}`);
    }
  }
}

/** A JSON file's value; undefined when it is missing or not JSON. */
async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Mappings from a coordinator, checked where a name could reach a path. */
function mappingList(value: unknown): DeployedMapping[] {
  if (!Array.isArray(value)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'mappings must be a list');
  for (const m of value as DeployedMapping[]) {
    if (typeof m !== 'object' || m === null || typeof m.id !== 'string' || typeof m.service !== 'string') throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'not a mapping: an object with id and service');
    if (!isEntryName(m.entry)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a store entry: ${JSON.stringify(m.entry)}`);
  }
  return value as DeployedMapping[];
}

/** The services of a `service-locks` request: each a key and what an operation names (checked further when it runs). */
function serviceList(value: unknown): ServiceOperation[] {
  if (!Array.isArray(value)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'services must be a list');
  for (const s of value as ServiceOperation[]) {
    const valid = typeof s === 'object' && s !== null && ['key', 'type', 'entry', 'container'].every((field) => typeof s[field as keyof ServiceOperation] === 'string');
    if (!valid) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'not a service: an object with key, type, entry and container');
  }
  return value as ServiceOperation[];
}

/** Entry names only, from a coordinator: a path would reach outside the store. */
function entryNames(entries: unknown): string[] {
  if (!Array.isArray(entries)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'entries must be a list of store entry names');
  for (const entry of entries) if (typeof entry !== 'string' || !isEntryName(entry)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a store entry: ${JSON.stringify(entry)}`);
  return entries as string[];
}

function generationNumber(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a generation number: ${JSON.stringify(value)}`);
  return value;
}

/** A profile request: the same operations `dysnomia profile` offers, answered as data. */
async function profileRequest(profiles: Profiles, profile: string, request: ProfileAction): Promise<AgentAnswers['profile']> {
  switch (request.action) {
    case 'current': {
      const current = (await profiles.generations(profile)).find((g) => g.current);
      return current ? { generation: current.number, packages: (await profiles.packages(profile)).map((p) => path.basename(p)) } : null;
    }
    case 'generations':
      return (await profiles.generations(profile)).map((g) => ({ generation: g.number, current: g.current, created: g.created.toISOString() }));
    case 'install':
      return profiles.install(profile, entryNames(request.entries), entryNames(request.etcOnly));
    case 'undo-install': {
      const generation = generationNumber(request.generation);
      if (request.previous !== null) {
        await profiles.switchTo(profile, generationNumber(request.previous));
        await profiles.deleteGenerations(profile, [generation]);
      } else await profiles.removeGeneration(profile, generation);
      return { undone: true };
    }
    case 'rollback':
      return { generation: await profiles.rollback(profile) };
    case 'switch':
      await profiles.switchTo(profile, generationNumber(request.generation));
      return { generation: request.generation };
    case 'delete': {
      const which = request.which;
      const valid = which === 'old' || (typeof which === 'string' && /^\d+d$/.test(which)) || (Array.isArray(which) && which.every((g) => generationNumber(g)));
      if (!valid) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a generation selector: ${JSON.stringify(which)}`);
      return { deleted: await profiles.deleteGenerations(profile, which) };
    }
    default:
      throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `unknown profile action ${JSON.stringify((request as { action?: unknown }).action)}`);
  }
}

/**
 * `dysnomia agent`: prints its hello line, then answers each request line
 * (several may run at once: the coordinator bounds them) until stdin ends.
 */
export async function serveAgent(input: Readable, output: NodeJS.WritableStream, stateDir: string, options: AgentOptions = {}): Promise<void> {
  const agent = new Agent(stateDir, options);
  const write = (value: unknown) => output.write(`${JSON.stringify(value)}\n`);
  write(agent.hello());
  const running = new Set<Promise<void>>();
  const start = (request: AgentRequest, archive?: Readable) => {
    const job = agent.handle(request, (line, key) => write({ id: request.id, line, ...(key !== undefined ? { key } : {}) }), archive).then(write, (error: unknown) => void write({ id: request.id, ok: false, error: String(error), code: 'ERR_DYSNOMIA_AGENT', exitCode: 1, output: '' }));
    const tracked = job.then(() => void running.delete(tracked));
    running.add(tracked);
  };
  // Request lines; after an `import` request, its archive in frames (archive-frames.ts).
  await readAgentInput(input as AsyncIterable<Buffer>, (line) => {
    if (line.trim() === '') return undefined;
    let request: AgentRequest;
    try {
      request = JSON.parse(line) as AgentRequest;
    } catch {
      write({ id: -1, ok: false, error: `not a JSON request: ${line.slice(0, 80)}`, code: 'ERR_DYSNOMIA_USAGE', exitCode: 2, output: '' });
      return undefined;
    }
    if (request?.kind === 'import') return (archive) => start(request, archive);
    start(request);
    return undefined;
  });
  await Promise.all(running);
  await agent.close();
}

/** How a failed request or service answers: a DysnomiaError keeps its code and exit status; anything else is the agent's. */
function failureAnswer(error: unknown, output: string): { ok: false; error: string; code: ErrorCode; exitCode: number; output: string } {
  const known = error instanceof DysnomiaError;
  return {
    ok: false,
    error: error instanceof Error ? error.message : String(error),
    code: known ? error.code : 'ERR_DYSNOMIA_AGENT',
    exitCode: known ? error.exitCode : EXIT_OPERATION_FAILED,
    output,
  };
}
