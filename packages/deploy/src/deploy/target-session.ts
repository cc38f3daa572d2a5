import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { readActivations } from '@dysnomia/engine/internal/agent/activations.js';
import type { DeployedMapping } from './deployment.js';
import { profileLockFile } from '@dysnomia/engine/internal/locks/profile-lock.js';
import type { LockHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Writable } from 'node:stream';
import { DysnomiaError, EXIT_OPERATION_FAILED, parseErrorLine } from '@dysnomia/engine/internal/errors.js';
import { exportSnapshotArchive, importSnapshotArchive } from '@dysnomia/engine/internal/snapshots/archive.js';
import type { InfrastructureTarget } from '../models/infrastructure.js';
import { Profiles } from '@dysnomia/engine/internal/profiles/profiles.js';
import type { GenerationSelector } from '@dysnomia/engine/internal/profiles/profiles.js';
import { bootstrapRuntime, collect, nodeCommand, probeTarget } from '../remote/bootstrap.js';
import { moduleIn } from '@dysnomia/engine/internal/search-paths.js';
import { probeOverSftp } from '../remote/sftp-probe.js';
import type { KnownStateDirs } from './known-state-dirs.js';
import type { RemoteNode, TargetPlan } from '../remote/bootstrap.js';
import { jumpChain, sshConfigOf } from '../remote/ssh-config.js';
import { RUNTIME_ENGINE_BIN } from '../remote/runtime.js';
import type { Runtime } from '../remote/runtime.js';
import { byteCounter } from '../remote/byte-counter.js';
import { SshConnection } from '../remote/ssh-connection.js';
import { exportArchive } from '@dysnomia/engine/internal/store/archive.js';
import { prepareStoreSend, WORKER_SEND_BYTES } from '../remote/store-send.js';
import type { ArchiveContents, ImportCommand, PreparedSend } from '../remote/store-send.js';
import type { EntryMeta } from '@dysnomia/engine/internal/store/meta.js';
import { DEFAULT_TIME_LIMITS } from '../remote/time-limits.js';
import type { TimeLimits } from '../remote/time-limits.js';
import type { SshSettings } from '../remote/ssh-connection.js';
import { Store } from '@dysnomia/engine/internal/store/store.js';
import { ask, askProfile, LocalAgentLink, RemoteAgentLink } from '../remote/agent-link.js';
import type { GenerationInfo, ProfileAction, ProfileAnswers } from '@dysnomia/engine/internal/agent/protocol.js';
import type { AgentLink } from '../remote/agent-link.js';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { shellQuote } from '@dysnomia/engine/internal/shell-quote.js';
import { ptyOf, waitForChild, wireChannel } from '../remote/terminal.js';
import type { Terminal } from '../remote/terminal.js';

export type { GenerationInfo } from '@dysnomia/engine/internal/agent/protocol.js';

/** What a deployment does on one target, over SSH or in process. */
export interface TargetSession {
  readonly target: InfrastructureTarget;
  /** `user@host:port` or `local`, for messages. */
  readonly where: string;
  stateDir: string;
  /**
   * Connects and asks the target what it has (nothing is written there,
   * except that a run that installs (`keepRuntime`) puts the runtime first in
   * the target's GC root when it is there already).
   */
  connect(request: ConnectRequest, keepRuntime: boolean): Promise<ConnectAnswer>;
  /** Puts the runtime into the target's store when it lacks it, sending only the packages it lacks. */
  ensureRuntime(onBootstrap: (phase: 'start' | 'done', bytes: number, packages: number) => void): Promise<void>;
  missing(entries: string[]): Promise<string[]>;
  /**
   * Holds `entries` on the target from its store's garbage collection until
   * the session closes (after the profile switch and the record, or the
   * rollback), and answers which of them the target lacks: asked right
   * before the transfer, so an entry the target has then is still there
   * when the profile is switched.
   */
  hold(entries: string[]): Promise<string[]>;
  /** The profile's current generation and packages, when known without another round trip (undefined: ask install). */
  current(profile: string): Promise<TargetPlan['current'] | undefined>;
  /** Sends these entries (a closure's missing part) as one archive; `onBytes` counts what went out. */
  send(entries: string[], onBytes: (n: number) => void): Promise<void>;
  /**
   * Gets ready to send `entries` (what the target lacked when connecting):
   * for a large archive the transfer's own connection and the target's
   * import start now, while other steps run, and the next `send` uses them.
   */
  prepareSend(entries: string[]): Promise<void>;
  /** Copies these entries of the target's store (their references are here already) into this machine's store: what a build on the target made. */
  fetch(entries: string[]): Promise<void>;
  /** Makes `entries` (and `etcOnly`, of which only etc/ is merged) the profile's packages. */
  install(profile: string, entries: string[], etcOnly?: string[]): Promise<{ generation: number; changed: boolean }>;
  /**
   * Undoes an install of this run: back to `previous` with `generation`
   * deleted, or, with no previous generation, the profile and `generation` removed.
   */
  undoInstall(profile: string, previous: number | null, generation: number): Promise<void>;
  generations(profile: string): Promise<GenerationInfo[]>;
  rollback(profile: string): Promise<number>;
  switchTo(profile: string, generation: number): Promise<void>;
  deleteGenerations(profile: string, which: GenerationSelector): Promise<number[]>;
  /** Brings snapshots of the target (CONTAINER/COMPONENT/ID there) into `into` here, as a snapshot archive; returns the bytes received. */
  fetchSnapshots(paths: string[], into: SnapshotPlace): Promise<number>;
  /** Sends snapshots of `from` here (CONTAINER/COMPONENT/ID in that state folder) into `to` on the target; returns the bytes sent. */
  sendSnapshots(from: string, paths: string[], to: Omit<SnapshotPlace, 'root'>): Promise<number>;
  /** What the connection found of the profile on the target, without a lock: its own record of activated mappings and the lock's holder (undefined: not asked). */
  observed(profile: string): Promise<{ activated: DeployedMapping[]; lock: LockHolder | null } | undefined>;
  /** The target's agent (started on first use, one per session): operations, its containers, locks. */
  agent(): Promise<AgentLink>;
  /**
   * Runs the target's engine CLI with `args` (dysnomia diagnose's `--shell`),
   * wired to `terminal` (a pseudo-terminal when it is interactive); resolves
   * with its exit status.
   */
  runEngine(args: string[], terminal: Terminal): Promise<number>;
  /** For fault injection: cuts the connection off as a network failure would. */
  cut(): void;
  close(): void;
}

/** Where snapshots are stored: a state folder (Dysnomia's snapshot layout), a container and a component. */
export interface SnapshotPlace {
  root: string;
  container: string;
  component: string;
}

export interface PlanRequest {
  profile: string;
  closure: string[];
}

export interface ConnectRequest {
  /** What the deployment will ask (its closure and profile): answered in the same round trip. */
  plan?: PlanRequest;
  /** Types no plugin on the coordinator serves: does a profile on the target provide a module for them? */
  types?: string[];
}

export interface ConnectAnswer {
  /** Of the types asked about, those a module in one of the target's profiles provides. */
  profileModules: string[];
}

export interface SessionOptions {
  /** The coordinator's store, which the entries are sent from. */
  store: Store;
  /** What a target over SSH runs (the engine, its plugins, their dependencies). */
  runtime?: Runtime;
  /** Plugins (package folders here) a local target's agent loads, as the runtime's `plugins` are for a remote one. */
  localPlugins?: string[];
  /** Lines of debug output from plugins on the targets too. */
  debug?: boolean;
  acceptNewHostKeys: boolean;
  knownHostsFile?: string;
  /** Connections opened ahead of the sessions (see EarlyConnections). */
  early?: EarlyConnections;
  /** State folders targets reported before, for the SFTP probe. */
  knownStateDirs?: KnownStateDirs;
  timeLimits?: TimeLimits;
}

/**
 * How a target is reached over SSH: its properties, over what the ssh config
 * (the target property sshConfig, else ~/.ssh/config when there is one) says
 * of its hostname as a Host alias: HostName, Port, User, IdentityFile,
 * UserKnownHostsFile and the ProxyJump chain, each jump host's settings
 * from the config too. A host's known_hosts file: the target's sshKnownHosts,
 * else --known-hosts, else the config's UserKnownHostsFile, else ~/.ssh/known_hosts.
 */
export function sshSettingsOf(target: InfrastructureTarget, options: Pick<SessionOptions, 'acceptNewHostKeys' | 'knownHostsFile' | 'timeLimits'>): SshSettings {
  const p = target.properties;
  const config = sshConfigOf(target);
  const limits = options.timeLimits ?? DEFAULT_TIME_LIMITS;
  const knownHostsOverride = (p.sshKnownHosts as string | undefined) ?? options.knownHostsFile;
  const hop = (alias: string, given: { user?: string; port?: number }, jumpHost?: string): SshSettings => {
    const found = config.lookup(alias);
    const key = found.identityFiles.find((file) => existsSync(file));
    return {
      target: target.name,
      ...(jumpHost !== undefined ? { jumpHost } : {}),
      host: found.hostName ?? alias,
      port: given.port ?? found.port ?? 22,
      username: given.user ?? found.user ?? os.userInfo().username,
      ...(key ? { privateKeyPath: key } : {}),
      knownHostsFile: knownHostsOverride ?? found.userKnownHostsFile ?? path.join(os.homedir(), '.ssh/known_hosts'),
      acceptNewHostKeys: options.acceptNewHostKeys,
      readyTimeoutMs: limits.connectMs,
      commandTimeoutMs: limits.commandMs,
    };
  };
  let jump: SshSettings | undefined;
  for (const spec of jumpChain(config, target.hostname)) {
    jump = { ...hop(spec.host, spec, spec.host), ...(jump ? { jump } : {}) };
  }
  const own = hop(target.hostname, { ...(p.sshUser ? { user: p.sshUser as string } : {}), ...(p.sshPort !== undefined ? { port: Number(p.sshPort) } : {}) });
  return { ...own, ...(p.sshKey ? { privateKeyPath: p.sshKey as string } : {}), ...(jump ? { jump } : {}) };
}

/** Bytes in the entries' regular files: what an archive of them carries, about. */
function bytesOf(metas: EntryMeta[]): number {
  return metas.reduce((sum, meta) => sum + meta.size, 0);
}

/** `user@host:port` of the machine itself, and of the jump hosts before it: `user@host:port via user@jump:port`. */
function whereOf(settings: SshSettings): string {
  const own = `${settings.username}@${settings.host}:${settings.port}`;
  return settings.jump ? `${own} via ${whereOf(settings.jump)}` : own;
}

/**
 * SSH connections opened while this machine still builds the packages: a
 * no-op deploy is mostly handshakes, so they overlap with local work. A
 * session takes its connection from here (a failure surfaces there, as if it
 * had connected itself); what no session took is closed by closeRest().
 */
export class EarlyConnections {
  private readonly pending = new Map<string, Promise<SshConnection>>();

  start(targets: InfrastructureTarget[], options: Pick<SessionOptions, 'acceptNewHostKeys' | 'knownHostsFile' | 'timeLimits'>): void {
    for (const target of targets) {
      if (target.clientInterface !== 'ssh' || this.pending.has(target.name)) continue;
      // A problem with the settings (an ssh config gone bad since the model was read) surfaces where the session takes it.
      const connection = (async () => SshConnection.open(sshSettingsOf(target, options)))();
      connection.catch(() => undefined);
      this.pending.set(target.name, connection);
    }
  }

  take(target: string): Promise<SshConnection> | undefined {
    const connection = this.pending.get(target);
    this.pending.delete(target);
    return connection;
  }

  closeRest(): void {
    for (const connection of this.pending.values()) connection.then((c) => c.close(), () => undefined);
    this.pending.clear();
  }
}

export function openSession(target: InfrastructureTarget, options: SessionOptions): TargetSession {
  return target.clientInterface === 'local' ? new LocalSession(target, options) : new SshSession(target, options);
}

function failure(target: InfrastructureTarget, message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${target.name}": ${message}`, { exitCode: EXIT_OPERATION_FAILED });
}

/** Of `types`, those a module in one of the profiles in `profilesDir` provides (as the engine's profile search finds them). */
export async function profileModulesAt(profilesDir: string, types: string[]): Promise<string[]> {
  if (types.length === 0) return [];
  const profiles = (await readdir(profilesDir).catch(() => [] as string[])).filter((n) => !n.startsWith('.') && !/-\d+-link$/.test(n));
  const found: string[] = [];
  for (const type of types) {
    for (const profile of profiles) {
      if ((await moduleIn(path.join(profilesDir, profile), type)) !== undefined) {
        found.push(type);
        break;
      }
    }
  }
  return found;
}

/** Counts the bytes passing through. */
/** Copies snapshots between two state folders of this machine through an in-process archive (as a transfer would, checksums checked). */
async function localSnapshotCopy(from: string, paths: string[], to: SnapshotPlace): Promise<number> {
  if (paths.length === 0) return 0;
  let bytes = 0;
  const pipe = new PassThrough();
  const counted = pipe.pipe(byteCounter((n) => (bytes += n)));
  const received = importSnapshotArchive(counted, to.root, to.container, to.component);
  received.catch(() => pipe.destroy());
  await Promise.all([exportSnapshotArchive(from, paths, pipe), received]);
  return bytes;
}

/** How a remote command whose stdout is data (not collected) ended: resolves on status 0, else rejects with the engine's own error. */
function remoteExit(channel: import('ssh2').ClientChannel, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    let code: number | undefined;
    channel.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 65536) stderr += chunk.toString();
    });
    channel.on('exit', (status: number | null, signal?: string) => (code = status ?? (signal ? 128 : 255)));
    channel.on('close', () => {
      if (code === 0) return resolve();
      if (code === undefined) return reject(new DysnomiaError('ERR_DYSNOMIA_UNREACHABLE', `${what} failed (the connection was cut off)`, { exitCode: EXIT_OPERATION_FAILED }));
      const said = parseErrorLine(stderr);
      reject(said ? new DysnomiaError(said.code, `${what} failed: ${said.message}`, { exitCode: said.exitCode }) : new DysnomiaError('ERR_DYSNOMIA_AGENT', `${what} failed (status ${code}${stderr.trim() ? `: ${stderr.trim()}` : ''})`, { exitCode: EXIT_OPERATION_FAILED }));
    });
  });
}


/**
 * What every session asks of its target's profiles, as typed requests to the
 * target's agent: a failure there comes back with its own code and exit
 * status (never as text to parse).
 */
abstract class AgentBackedSession {
  abstract readonly target: InfrastructureTarget;
  abstract agent(): Promise<AgentLink>;

  protected async profile<A extends ProfileAction['action']>(profile: string, action: Extract<ProfileAction, { action: A }>): Promise<ProfileAnswers[A]> {
    return askProfile(await this.agent(), this.target.name, profile, action);
  }
  protected async storeMissing(entries: string[]): Promise<string[]> {
    return (await ask(await this.agent(), this.target.name, { kind: 'missing', entries })).missing;
  }
  async hold(entries: string[]): Promise<string[]> {
    if (entries.length === 0) return [];
    return (await ask(await this.agent(), this.target.name, { kind: 'hold', entries })).missing;
  }
  install(profile: string, entries: string[], etcOnly: string[] = []): Promise<{ generation: number; changed: boolean }> {
    return this.profile(profile, { action: 'install', entries, etcOnly });
  }
  async undoInstall(profile: string, previous: number | null, generation: number): Promise<void> {
    await this.profile(profile, { action: 'undo-install', previous, generation });
  }
  generations(profile: string): Promise<GenerationInfo[]> {
    return this.profile(profile, { action: 'generations' });
  }
  async rollback(profile: string): Promise<number> {
    return (await this.profile(profile, { action: 'rollback' })).generation;
  }
  async switchTo(profile: string, generation: number): Promise<void> {
    await this.profile(profile, { action: 'switch', generation });
  }
  async deleteGenerations(profile: string, which: GenerationSelector): Promise<number[]> {
    return (await this.profile(profile, { action: 'delete', which })).deleted;
  }
}

/** The store of this machine, used directly; a target with its own stateDir gets entries through an in-process archive. */
class LocalSession extends AgentBackedSession implements TargetSession {
  readonly where = 'local';
  stateDir: string;
  private profiles: Profiles;

  constructor(
    readonly target: InfrastructureTarget,
    private readonly options: SessionOptions,
  ) {
    super();
    this.stateDir = (target.properties.stateDir as string | undefined) ?? options.store.stateDir;
    this.profiles = Profiles.at(this.stateDir);
  }

  async connect(request: ConnectRequest): Promise<ConnectAnswer> {
    return { profileModules: await profileModulesAt(path.join(this.stateDir, 'profiles'), request.types ?? []) };
  }

  async ensureRuntime(): Promise<void> {}

  missing(entries: string[]): Promise<string[]> {
    return this.storeMissing(entries);
  }

  current(profile: string): Promise<TargetPlan['current'] | undefined> {
    return this.profile(profile, { action: 'current' });
  }

  async prepareSend(): Promise<void> {}

  async send(entries: string[], onBytes: (n: number) => void): Promise<void> {
    if (entries.length === 0) return;
    const pipe = new PassThrough();
    const counted = pipe.pipe(byteCounter(onBytes));
    await Promise.all([this.options.store.exportArchive(entries, pipe), this.profiles.store.importArchive(counted)]);
  }

  async fetch(entries: string[]): Promise<void> {
    if (entries.length === 0) return;
    const pipe = new PassThrough();
    await Promise.all([this.profiles.store.exportArchive(entries, pipe), this.options.store.importArchive(pipe)]);
  }

  async fetchSnapshots(paths: string[], into: SnapshotPlace): Promise<number> {
    return localSnapshotCopy(this.stateDir, paths, into);
  }

  async sendSnapshots(from: string, paths: string[], to: Omit<SnapshotPlace, 'root'>): Promise<number> {
    return localSnapshotCopy(from, paths, { root: this.stateDir, ...to });
  }

  async observed(profile: string): Promise<{ activated: DeployedMapping[]; lock: LockHolder | null }> {
    const lock = await readFile(profileLockFile(this.stateDir, profile), 'utf8').then(
      (text) => JSON.parse(text) as LockHolder,
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : { user: 'unknown', host: 'unknown', pid: 0, since: 'unknown' }),
    );
    return { activated: await readActivations(this.stateDir, profile), lock };
  }
  cut(): void {}
  async runEngine(args: string[], terminal: Terminal): Promise<number> {
    // The engine this coordinator runs, on this machine's target state folder.
    const bin = path.join(path.dirname(createRequire(import.meta.url).resolve('@dysnomia/engine/package.json')), 'bin/dysnomia.js');
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, DYSNOMIA_STATEDIR: this.stateDir },
      stdio: [terminal.input === 'none' ? 'ignore' : terminal.stdin, terminal.stdout, terminal.stderr],
    });
    return waitForChild(child);
  }
  private link: Promise<LocalAgentLink> | undefined;
  async agent(): Promise<AgentLink> {
    return (this.link ??= LocalAgentLink.open(this.stateDir, { plugins: this.options.localPlugins ?? [], debug: this.options.debug === true }, (this.options.timeLimits ?? DEFAULT_TIME_LIMITS).commandMs));
  }
  close(): void {
    void this.link?.then((link) => link.close(), () => undefined);
  }
}

/** A target over one SSH connection, running the engine installed in its own store. */
class SshSession extends AgentBackedSession implements TargetSession {
  readonly where: string;
  stateDir: string;
  private connection: SshConnection | undefined;
  private readonly node: RemoteNode;

  constructor(
    readonly target: InfrastructureTarget,
    private readonly options: SessionOptions,
  ) {
    super();
    const p = target.properties;
    this.node = { path: (p.nodePath as string | undefined) ?? 'node', sudo: p.sudo === true };
    this.stateDir = (p.stateDir as string | undefined) ?? '';
    this.where = `${whereOf(sshSettingsOf(target, options))}${this.node.sudo ? ' (sudo)' : ''}`;
  }

  private hasEngine = false;
  private plan: { request: PlanRequest; answer: TargetPlan } | undefined;
  private missingPackages: string[] = [];

  private get runtime(): Runtime {
    const runtime = this.options.runtime;
    if (runtime === undefined) throw new Error('no runtime for an SSH target');
    return runtime;
  }

  async connect(request: ConnectRequest, keepRuntime: boolean): Promise<ConnectAnswer> {
    const runtime = this.runtime;
    this.connection = await (this.options.early?.take(this.target.name) ?? SshConnection.open(sshSettingsOf(this.target, this.options)));
    const known = this.options.knownStateDirs;
    const stateDir = this.stateDir || (await known?.get(this.where));
    // Over SFTP first when the state folder is known: no shell and no Node start on the target.
    // Not through sudo: SFTP runs as the login, which may not read root's state folder (nor would its answer be root's).
    const sftpUsable = stateDir && request.types === undefined && !this.node.sudo;
    const quick = sftpUsable ? await probeOverSftp(this.connection, stateDir, { entry: runtime.entry, packages: runtime.packages }, request.plan, keepRuntime).catch(() => undefined) : undefined;
    const probe =
      quick ??
      (await probeTarget(
        this.connection,
        this.node,
        this.stateDir || undefined,
        { runtime: { entry: runtime.entry, packages: runtime.packages }, ...(request.plan ? { plan: request.plan } : {}), ...(request.types ? { types: request.types } : {}) },
        keepRuntime,
      ));
    this.stateDir = probe.stateDir;
    if (!this.target.properties.stateDir) await known?.set(this.where, probe.stateDir);
    if (request.plan && probe.plan) this.plan = { request: request.plan, answer: probe.plan };
    this.hasEngine = probe.hasRuntime;
    this.missingPackages = probe.missingPackages ?? [];
    return { profileModules: probe.profileModules ?? [] };
  }

  async ensureRuntime(onBootstrap: (phase: 'start' | 'done', bytes: number, packages: number) => void): Promise<void> {
    if (this.hasEngine) return;
    let bytes = 0;
    onBootstrap('start', 0, this.missingPackages.length);
    const connection = this.connection!;
    const installing = bootstrapRuntime({
      connection,
      node: this.node,
      stateDir: this.stateDir,
      runtime: this.runtime,
      missing: this.missingPackages,
      store: this.options.store,
      onBytes: (n) => (bytes += n),
    });
    await connection.within(installing, 'while installing the runtime');
    onBootstrap('done', bytes, this.missingPackages.length);
    this.hasEngine = true;
  }

  private engine(args: string[]): string {
    const bin = path.posix.join(this.stateDir, 'store', this.runtime.entry, RUNTIME_ENGINE_BIN);
    return nodeCommand(this.node, this.stateDir, [bin, ...args]);
  }

  async missing(entries: string[]): Promise<string[]> {
    if (entries.length === 0) return [];
    const plan = this.plan;
    if (plan && plan.request.closure.length === entries.length && plan.request.closure.every((e, i) => e === entries[i])) return plan.answer.missing;
    if (!this.hasEngine) return entries;
    return this.storeMissing(entries);
  }

  /**
   * An archive under WORKER_SEND_BYTES goes to the target's agent, on its
   * channel (RemoteAgentLink.sendArchive): no second command, login shell
   * and Node start there. A large one goes through a worker thread with its
   * own connection (store-send.ts), the one prepareSend started when there
   * is one, so several targets' transfers use several cores; `close()` and
   * `cut()` stop it. A target that refused the worker's connection gets the
   * archive through its agent.
   */
  async send(entries: string[], onBytes: (n: number) => void): Promise<void> {
    const prepared = this.prepared;
    this.prepared = undefined;
    if (entries.length === 0) return prepared?.stop();
    const connection = this.connection!;
    const contents = { storeDir: this.options.store.dir, metas: await this.options.store.archiveMetas(entries) };
    if (prepared === undefined && bytesOf(contents.metas) < WORKER_SEND_BYTES) return this.sendToAgent(contents, onBytes);
    const running = prepared ?? prepareStoreSend({ ...this.importCommand(), settings: connection.settings });
    this.sends.add(running);
    let sent: boolean;
    try {
      // The session's connection going (cut off, or the target gone) ends the worker's too.
      sent = await Promise.race([running.send(contents, onBytes), connection.whenLost()]);
    } finally {
      running.stop();
      this.sends.delete(running);
    }
    if (!sent) await this.sendToAgent(contents, onBytes);
  }
  private readonly sends = new Set<PreparedSend>();
  private prepared: PreparedSend | undefined;

  private async sendToAgent(contents: ArchiveContents, onBytes: (n: number) => void): Promise<void> {
    const connection = this.connection!;
    const link = await this.agent();
    const sending = link.sendArchive(async (output) => {
      try {
        await exportArchive(contents.storeDir, contents.metas, output);
      } catch (error) {
        throw failure(this.target, `sending the archive failed: ${(error as Error).message}`);
      }
    }, onBytes);
    await connection.within(Promise.race([sending, connection.whenLost()]), 'while receiving store entries');
  }

  async prepareSend(entries: string[]): Promise<void> {
    if (this.prepared !== undefined || !this.hasEngine || this.connection === undefined) return;
    const metas = await this.options.store.archiveMetas(entries);
    if (bytesOf(metas) < WORKER_SEND_BYTES) return;
    this.prepared = prepareStoreSend({ ...this.importCommand(), settings: this.connection.settings });
    this.sends.add(this.prepared);
  }

  private importCommand(): ImportCommand {
    return { target: this.target.name, command: this.engine(['store', '--import', '--json']) };
  }

  /** `store --export` there, imported (verified) here; a failure there is said with the target's own words. */
  async fetch(entries: string[]): Promise<void> {
    if (entries.length === 0) return;
    const channel = await this.connection!.channel(this.engine(['store', '--export', ...entries]));
    let stderr = '';
    channel.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 16384) stderr += chunk.toString();
    });
    try {
      await this.connection!.within(Promise.race([this.options.store.importArchive(channel), this.connection!.whenLost()]), 'while sending store entries back');
    } catch (error) {
      channel.destroy();
      const said = parseErrorLine(stderr)?.message ?? stderr.trim();
      throw failure(this.target, `fetching ${entries.join(', ')} failed: ${said || (error as Error).message}`);
    }
  }

  async fetchSnapshots(paths: string[], into: SnapshotPlace): Promise<number> {
    if (paths.length === 0) return 0;
    const connection = this.connection!;
    const channel = await connection.channel(this.engine(['snapshots', '--export-archive', ...paths]));
    channel.end();
    let bytes = 0;
    const exited = remoteExit(channel, `target "${this.target.name}": snapshots --export-archive`);
    const received = importSnapshotArchive(channel.pipe(byteCounter((n) => (bytes += n))), into.root, into.container, into.component);
    // A receiver that gives up stops the sender; the sender's own error says more than a cut-off archive.
    received.catch(() => channel.destroy());
    try {
      await connection.within(Promise.race([Promise.allSettled([exited, received]), connection.whenLost()]), 'while receiving snapshots');
      await exited;
      await received;
    } catch (error) {
      exited.catch(() => undefined);
      received.catch(() => undefined);
      channel.destroy();
      throw error;
    }
    return bytes;
  }

  async sendSnapshots(from: string, paths: string[], to: Omit<SnapshotPlace, 'root'>): Promise<number> {
    if (paths.length === 0) return 0;
    const connection = this.connection!;
    const channel = await connection.channel(this.engine(['snapshots', '--import-archive', `--container=${to.container}`, `--component=${to.component}`]));
    const received = collect(channel, `target "${this.target.name}": snapshots --import-archive`);
    let bytes = 0;
    const counted = byteCounter((n) => (bytes += n));
    counted.pipe(channel as unknown as Writable);
    const sent = exportSnapshotArchive(from, paths, counted).catch((error: unknown) => {
      throw failure(this.target, `sending snapshots failed: ${(error as Error).message}`);
    });
    try {
      await connection.within(Promise.race([Promise.all([sent, received]), connection.whenLost()]), 'while sending snapshots');
    } catch (error) {
      sent.catch(() => undefined);
      received.catch(() => undefined);
      counted.destroy();
      channel.destroy();
      throw error;
    }
    return bytes;
  }

  /** From the probe's answer when it asked about this profile; else (the engine was just installed) asked now. */
  async current(profile: string): Promise<TargetPlan['current'] | undefined> {
    if (this.plan?.request.profile === profile) return this.plan.answer.current;
    if (!this.hasEngine) return undefined;
    return this.profile(profile, { action: 'current' });
  }

  async observed(profile: string): Promise<{ activated: DeployedMapping[]; lock: LockHolder | null } | undefined> {
    const answer = this.plan?.request.profile === profile ? this.plan.answer : undefined;
    return answer === undefined ? undefined : { activated: answer.activated, lock: answer.lock };
  }
  cut(): void {
    for (const running of this.sends) running.stop();
    this.connection?.cut();
  }
  async runEngine(args: string[], terminal: Terminal): Promise<number> {
    const bin = path.posix.join(this.stateDir, 'store', this.runtime.entry, RUNTIME_ENGINE_BIN);
    // Not nodeCommand's: errors are for the person at the terminal, not JSON lines for a coordinator.
    const base = `DYSNOMIA_STATEDIR=${shellQuote(this.stateDir)} ${[this.node.path, bin, ...args].map(shellQuote).join(' ')}`;
    const command = this.node.sudo ? `sudo -n -H -- env ${base}` : base;
    const pty = ptyOf(terminal);
    const channel = await this.connection!.channel(command, pty ? { pty } : {});
    return wireChannel(channel, terminal);
  }
  private link: Promise<RemoteAgentLink> | undefined;
  agent(): Promise<RemoteAgentLink> {
    const runtimeDir = path.posix.join(this.stateDir, 'store', this.runtime.entry);
    const args = ['agent', ...this.runtime.plugins.map((p) => `--plugin=${path.posix.join(runtimeDir, p)}`), ...(this.options.debug ? ['--debug'] : [])];
    const limit = (this.options.timeLimits ?? DEFAULT_TIME_LIMITS).commandMs;
    this.link ??= this.connection!.within(this.connection!.channel(this.engine(args)).then((channel) => RemoteAgentLink.open(channel, this.target.name, limit)), 'while starting the agent');
    return this.link;
  }
  close(): void {
    for (const running of this.sends) running.stop();
    const connection = this.connection;
    const link = this.link;
    if (link === undefined) return void connection?.close();
    // The agent ends first (its store hold goes with it), then the connection: a deployment that ended has given back what it held.
    void link.then((agent) => agent.close(), () => undefined).finally(() => connection?.close());
  }
}

