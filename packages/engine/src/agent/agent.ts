import { AsyncLocalStorage } from 'node:async_hooks';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { describeMachine } from '../containers/machine.js';
import { Engine } from '../engine.js';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { acquireLock, gcLockFile, liveHolder, profileLockFile, releaseLock } from '../locks/profile-lock.js';
import { removeStaleTemporaries } from '../store/gc.js';
import { Store } from '../store/store.js';
import type { LockHolder } from '../locks/profile-lock.js';
import { isOperation } from '../plugin.js';
import { isEntryName } from '../store/entry-name.js';
import { nameProblem } from '../names.js';
import { assertProfileName } from '../profiles/names.js';
import { moduleIn } from '../search-paths.js';
import { Activations, readActivations } from './activations.js';
import type { AgentAnswers, AgentHello, AgentRequest, AgentResponse, DescribeResult, ProfileAction } from './protocol.js';
import { Profiles } from '../profiles/profiles.js';
import { snapshotsRequest } from './snapshots-request.js';

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
  constructor(
    readonly stateDir: string,
    private readonly options: AgentOptions = {},
  ) {
    this.env = options.env ?? process.env;
    this.activations = new Activations(stateDir);
    this.profiles = Profiles.at(stateDir);
  }

  hello(): AgentHello {
    return { hello: { stateDir: this.stateDir, cores: os.availableParallelism(), node: process.versions.node } };
  }

  /** Runs a request; `onLine` gets the lines its modules print as they come. */
  async handle(request: AgentRequest, onLine?: (line: string) => void): Promise<AgentResponse> {
    const output = new OutputBuffer(onLine);
    try {
      const outcome = await currentOutput.run(output, () => this.dispatch(request)).finally(() => output.flush());
      if (outcome.kind === 'refused') return { id: request.id, ok: false, error: 'locked', code: 'ERR_DYSNOMIA_LOCKED', exitCode: EXIT_OPERATION_FAILED, output: '', holder: outcome.holder };
      if (outcome.kind === 'skipped') return { id: request.id, ok: true, output: output.text(), skipped: outcome.reason };
      return { id: request.id, ok: true, output: output.text(), result: outcome.value };
    } catch (error) {
      const known = error instanceof DysnomiaError;
      return {
        id: request.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
        code: known ? error.code : 'ERR_DYSNOMIA_AGENT',
        exitCode: known ? error.exitCode : EXIT_OPERATION_FAILED,
        output: output.text(),
      };
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

  /** What a request came to; kept apart from a plugin's own result, which may hold any keys. */
  private async dispatch(request: AgentRequest): Promise<Outcome> {
    switch (request.kind) {
      case 'operation': {
        if (!isOperation(request.operation)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `unknown operation ${JSON.stringify(request.operation)}`);
        if (!isEntryName(request.entry)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a store entry: ${JSON.stringify(request.entry)}`);
        if (request.moduleEntry !== undefined && !isEntryName(request.moduleEntry)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a store entry: ${JSON.stringify(request.moduleEntry)}`);
        // Names only: a path from a coordinator would reach files outside the containers and modules folders.
        const badName = nameProblem(request.type, 'type') ?? nameProblem(request.container, 'container');
        if (badName) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', badName);
        const engine = await this.engine();
        const outcome = await engine.run({
          operation: request.operation,
          type: request.moduleEntry === undefined ? request.type : await this.shippedModule(request.moduleEntry, request.type),
          component: path.join(this.stateDir, 'store', request.entry),
          container: request.container,
          ...(request.properties ? { containerProperties: request.properties } : {}),
        });
        if (request.record !== undefined && (request.operation === 'activate' || request.operation === 'deactivate')) {
          assertProfileName(request.record.profile);
          if (request.operation === 'activate') await this.activations.activated(request.record.profile, request.record.mapping);
          else await this.activations.deactivated(request.record.profile, request.record.mapping.id);
        }
        return outcome.skipped ? { kind: 'skipped', reason: outcome.skipped } : { kind: 'done', value: outcome.result };
      }
      case 'activations':
        return { kind: 'done', value: { mappings: await readActivations(this.stateDir, assertProfileName(request.profile)) } };
      case 'describe': {
        const machine = await describeMachine(await this.engine());
        return { kind: 'done', value: { ...machine, cores: os.availableParallelism() } satisfies DescribeResult };
      }
      case 'lock': {
        assertProfileName(request.profile);
        const file = profileLockFile(this.stateDir, request.profile);
        const outcome = await acquireLock(file, request.holder, request.breaking);
        if (!outcome.acquired) return { kind: 'refused', holder: outcome.holder };
        // A garbage collection of the store must not take what this deployment sends: one or the other.
        const collecting = await liveHolder(gcLockFile(this.stateDir));
        if (collecting !== undefined) {
          await releaseLock(file, request.holder);
          return { kind: 'refused', holder: collecting };
        }
        // What an interrupted bootstrap or import left in the store goes now.
        await removeStaleTemporaries(Store.at(this.stateDir));
        return { kind: 'done', value: { locked: true } };
      }
      case 'unlock':
        assertProfileName(request.profile);
        return { kind: 'done', value: { released: await releaseLock(profileLockFile(this.stateDir, request.profile), request.holder) } };
      case 'missing':
        return { kind: 'done', value: { missing: await this.profiles.store.missing(entryNames(request.entries)) } satisfies AgentAnswers['missing'] };
      case 'profile':
        return { kind: 'done', value: await profileRequest(this.profiles, assertProfileName(request.profile), request) };
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
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    let request: AgentRequest;
    try {
      request = JSON.parse(line) as AgentRequest;
    } catch {
      write({ id: -1, ok: false, error: `not a JSON request: ${line.slice(0, 80)}`, code: 'ERR_DYSNOMIA_USAGE', exitCode: 2, output: '' });
      continue;
    }
    const job = agent.handle(request, (line) => write({ id: request.id, line })).then(write, (error: unknown) => void write({ id: request.id, ok: false, error: String(error), code: 'ERR_DYSNOMIA_AGENT', exitCode: 1, output: '' }));
    const tracked = job.then(() => void running.delete(tracked));
    running.add(tracked);
  }
  await Promise.all(running);
}
