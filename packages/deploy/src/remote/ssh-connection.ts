import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Client, ClientChannel, ConnectConfig, PseudoTtyOptions, SFTPWrapper } from 'ssh2';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import { algorithmsForKeyType, appendKnownHost, fingerprint, hostLookupName, keyTypeOf, KnownHosts } from './known-hosts.js';
import type { HostKeyCheck } from './known-hosts.js';
import { DEFAULT_TIME_LIMITS, timedOut, withinTime } from './time-limits.js';

export interface SshSettings {
  /** The target's name in the infrastructure model, for messages. */
  target: string;
  host: string;
  port: number;
  username: string;
  /** Private key file; without it the agent (SSH_AUTH_SOCK) and ~/.ssh/id_* are tried. */
  privateKeyPath?: string;
  agent?: string;
  knownHostsFile: string;
  /** Append an unknown host key to knownHostsFile instead of refusing it. Never accepts a changed key. */
  acceptNewHostKeys: boolean;
  /** Connecting, handshake and authentication (default: DEFAULT_TIME_LIMITS). */
  readyTimeoutMs?: number;
  /** Each command run with exec() (default: DEFAULT_TIME_LIMITS). */
  commandTimeoutMs?: number;
  /**
   * The jump host this one is reached through (ProxyJump; it may have its
   * own): `host` and `port` are then as the jump host sees them. Each hop's
   * host key is checked against its own knownHostsFile.
   */
  jump?: SshSettings;
  /** Set on a jump host's settings: its name in the ssh config, for messages (`target` is the machine it leads to). */
  jumpHost?: string;
}

/** Who a message is about: `target "web"`, or `target "web": jump host "gateway"`. */
function subject(settings: Pick<SshSettings, 'target' | 'jumpHost'>): string {
  return settings.jumpHost === undefined ? `target "${settings.target}"` : `target "${settings.target}": jump host "${settings.jumpHost}"`;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** Private key text: the one named, else the first of ~/.ssh/id_* that exists (as ssh does). */
async function privateKeyFor(settings: SshSettings): Promise<Buffer | undefined> {
  if (settings.privateKeyPath) {
    try {
      return await readFile(settings.privateKeyPath);
    } catch (error) {
      throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${subject(settings)}: cannot read sshKey ${settings.privateKeyPath}: ${(error as Error).message}`);
    }
  }
  for (const name of DEFAULT_KEYS) {
    const key = await readFile(path.join(os.homedir(), '.ssh', name)).catch(() => undefined);
    if (key) return key;
  }
  return undefined;
}

function hostKeyMessage(settings: SshSettings, check: Exclude<HostKeyCheck, { status: 'known' }>, blob: Buffer): string {
  const where = `${settings.host}:${settings.port}`;
  const offered = `${keyTypeOf(blob)} key ${fingerprint(blob)}`;
  const lookup = hostLookupName(settings.host, settings.port);
  if (check.status === 'unknown') {
    const others = check.otherTypes.length > 0 ? ` (only ${check.otherTypes.join(', ')} keys are known for it)` : '';
    return (
      `${subject(settings)}: the host key of ${where} is not known${others}: it offers the ${offered}, ` +
      `not in ${settings.knownHostsFile}. Check that fingerprint (on the host: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then ` +
      `run again with --accept-new-host-keys to add it, or add it yourself: ssh-keyscan -p ${settings.port} ${settings.host} >> ${settings.knownHostsFile}`
    );
  }
  const entry = `${check.entry.file}:${check.entry.line}`;
  if (check.status === 'revoked') {
    return `${subject(settings)}: the host key of ${where} (${offered}) is marked @revoked in ${entry}; refusing to connect`;
  }
  return [
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    `@  WARNING: THE HOST KEY OF ${settings.jumpHost === undefined ? `TARGET "${settings.target}"` : `JUMP HOST "${settings.jumpHost}" (TO TARGET "${settings.target}")`} HAS CHANGED!  @`,
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    `IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY: someone could be eavesdropping on you (a man-in-the-middle attack),`,
    `or the host key of ${where} was just replaced. It now offers the ${offered};`,
    `the key recorded for it is in ${entry}. Refusing to connect; --accept-new-host-keys never accepts a changed key.`,
    `Once you know why it changed, remove the old key with: ssh-keygen -R '${lookup}' -f ${settings.knownHostsFile}`,
  ].join('\n');
}

let clientClass: typeof Client | undefined;

/**
 * ssh2's client, loaded on first use (the engine's entry must stay cheap to
 * import for plugins) and on its own: ssh2's index also loads its server,
 * key generator and HTTP agents, and an import() would parse it again for
 * the ES module loader.
 */
function sshClientClass(): typeof Client {
  return (clientClass ??= createRequire(import.meta.url)('ssh2/lib/client.js') as typeof Client);
}

/**
 * One SSH connection to a target (ssh2), reused for every command and
 * transfer. The host key is always checked against known_hosts.
 */
export class SshConnection {
  private closed = false;
  private readonly lostPromise: Promise<never>;

  private constructor(
    readonly settings: SshSettings,
    private readonly client: Client,
    /** Set when the connection ended; later calls fail with it. */
    private lost: { error?: Error },
    /** The jump host's connection this one runs through: it ends with this one. */
    private readonly jump: SshConnection | undefined,
  ) {
    this.lostPromise = new Promise<never>((_, reject) => {
      client.once('close', () => {
        jump?.close();
        reject(this.failure('the connection was cut off', lost.error ?? new Error('closed by the other side')));
      });
    });
    this.lostPromise.catch(() => undefined);
  }

  /** Rejects when the connection ends (a killed session, a dead network): race long operations with it. */
  whenLost(): Promise<never> {
    return this.lostPromise;
  }

  static async open(settings: SshSettings): Promise<SshConnection> {
    if (settings.jump === undefined) return SshConnection.openOver(settings, undefined);
    const jump = await SshConnection.open(settings.jump);
    try {
      return await SshConnection.openOver(settings, jump);
    } catch (error) {
      jump.close();
      throw error;
    }
  }

  /** A TCP connection from the jump host to `host:port` (what `ssh -W` does), as the socket of the next hop. */
  private forward(host: string, port: number): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
        if (!error) return resolve(channel);
        const reason = `${this.settings.host}:${this.settings.port} cannot reach ${host}:${port}: ${error.message}`;
        reject(new DysnomiaError('ERR_DYSNOMIA_UNREACHABLE', `${subject(this.settings)}: ${reason}`, { exitCode: EXIT_OPERATION_FAILED, cause: error }));
      });
    });
  }

  private static async openOver(settings: SshSettings, jump: SshConnection | undefined): Promise<SshConnection> {
    const knownHosts = await KnownHosts.load(settings.knownHostsFile);
    const knownTypes = knownHosts.keyTypesFor(settings.host, settings.port);
    const privateKey = await privateKeyFor(settings);
    const agent = settings.agent ?? process.env.SSH_AUTH_SOCK;
    if (!privateKey && !agent) {
      throw new DysnomiaError(
        'ERR_DYSNOMIA_INPUT',
        `${subject(settings)}: no SSH key: set the target property sshKey, start an ssh-agent (SSH_AUTH_SOCK), or create ~/.ssh/id_ed25519`,
      );
    }
    const client = new (sshClientClass())();
    let refusal: string | undefined;
    // Each append is caught where it starts: one may fail while the handshake is still going (or after it failed).
    const pendingAppend: Array<Promise<Error | undefined>> = [];
    const config: ConnectConfig = {
      host: settings.host,
      port: settings.port,
      username: settings.username,
      readyTimeout: settings.readyTimeoutMs ?? DEFAULT_TIME_LIMITS.connectMs,
      // A target that stops answering (a frozen host, a cut network) is noticed within about 20 s, even during a long operation.
      keepaliveInterval: 5_000,
      keepaliveCountMax: 4,
      ...(privateKey ? { privateKey } : {}),
      ...(agent ? { agent } : {}),
      // Ask for a key type known_hosts holds first, as OpenSSH does, so a known host is not "unknown" for a type we lack.
      ...(knownTypes.length > 0 ? { algorithms: { serverHostKey: { prepend: knownTypes.flatMap(algorithmsForKeyType) } as never } } : {}),
      hostVerifier: (blob: Buffer) => {
        const check = knownHosts.check(settings.host, settings.port, blob);
        if (check.status === 'known') return true;
        if (check.status === 'unknown' && settings.acceptNewHostKeys) {
          pendingAppend.push(appendKnownHost(settings.knownHostsFile, settings.host, settings.port, blob).then(() => undefined, (error: Error) => error));
          return true;
        }
        refusal = hostKeyMessage(settings, check, blob);
        return false;
      },
    };
    const lost: { error?: Error } = {};
    if (jump) {
      // The jump host connects on our behalf; one that never answers counts against --connect-timeout (it closes with the jump connection).
      const limit = settings.readyTimeoutMs ?? DEFAULT_TIME_LIMITS.connectMs;
      config.sock = await withinTime(jump.forward(settings.host, settings.port), limit, () => timedOut(settings.target, `while jump host "${jump.settings.jumpHost}" connected to ${settings.host}:${settings.port}`, limit, 'connect-timeout'));
    }
    const connected = new Promise<void>((resolve, reject) => {
      const onError = (error: Error & { level?: string }) => {
        if (refusal) return reject(new DysnomiaError('ERR_DYSNOMIA_INPUT', refusal, { exitCode: EXIT_OPERATION_FAILED }));
        if (/timed out while waiting for handshake/i.test(error.message)) {
          return reject(timedOut(settings.target, `while connecting to ${settings.host}:${settings.port}`, settings.readyTimeoutMs ?? DEFAULT_TIME_LIMITS.connectMs, 'connect-timeout'));
        }
        const reason = error.level === 'client-authentication' ? `authentication as ${settings.username} failed (key refused)` : error.message;
        // A refused key is the models' (or the machine's) problem; anything else means the target cannot be reached.
        const code = error.level === 'client-authentication' ? 'ERR_DYSNOMIA_INPUT' : 'ERR_DYSNOMIA_UNREACHABLE';
        reject(new DysnomiaError(code, `${subject(settings)}: cannot connect to ${settings.host}:${settings.port}: ${reason}`, { exitCode: EXIT_OPERATION_FAILED, cause: error }));
      };
      client.once('ready', () => {
        client.off('error', onError);
        client.on('error', (error) => (lost.error = error));
        client.on('close', () => (lost.error ??= new Error('the connection closed')));
        resolve();
      });
      client.once('error', onError);
      client.connect(config);
    });
    try {
      await connected;
      const appendFailure = (await Promise.all(pendingAppend)).find((error) => error !== undefined);
      if (appendFailure) {
        throw new DysnomiaError(
          'ERR_DYSNOMIA_INPUT',
          `${subject(settings)}: cannot record the new host key of ${settings.host}:${settings.port} in ${settings.knownHostsFile}: ${appendFailure.message}`,
          { exitCode: EXIT_OPERATION_FAILED, cause: appendFailure },
        );
      }
    } catch (error) {
      // An open client keeps the process alive: end it on every way out after connect().
      client.on('error', () => undefined);
      client.end();
      await Promise.all(pendingAppend);
      throw error;
    }
    batchWrites(client);
    return new SshConnection(settings, client, lost, jump);
  }

  /** The connection failed under a running deployment: the target cannot be reached any more. */
  private failure(what: string, error: Error): DysnomiaError {
    return new DysnomiaError('ERR_DYSNOMIA_UNREACHABLE', `${subject(this.settings)}: ${what}: ${error.message}`, { exitCode: EXIT_OPERATION_FAILED, cause: error });
  }

  /**
   * Starts a remote command (a shell command line: quote its arguments); the
   * channel is its stdin/stdout. `pty`: on a pseudo-terminal of that size
   * and type (an interactive shell).
   */
  channel(command: string, options: { pty?: PseudoTtyOptions } = {}): Promise<ClientChannel> {
    if (this.lost.error) return Promise.reject(this.failure('connection lost', this.lost.error));
    return new Promise((resolve, reject) => {
      const started = (error: Error | undefined, channel: ClientChannel) => (error ? reject(this.failure('cannot start a command', error)) : resolve(channel));
      if (options.pty) this.client.exec(command, { pty: options.pty }, started);
      else this.client.exec(command, started);
    });
  }

  /**
   * Runs a remote command to the end; `input` is piped to its stdin. Output
   * is collected (keep it small). `what` names the command in a timeout's
   * message ("to the probe").
   */
  async exec(command: string, input?: string | Buffer | Readable, what = 'to a command'): Promise<ExecResult> {
    const channel = await this.channel(command);
    const limit = this.settings.commandTimeoutMs ?? DEFAULT_TIME_LIMITS.commandMs;
    return withinTime(Promise.race([this.whenLost(), this.finish(command, channel, input)]), limit, () => {
      channel.destroy();
      return timedOut(this.settings.target, what, limit, 'command-timeout');
    });
  }

  /** `work` (a transfer, the bootstrap), or a timeout error naming `what`; on a timeout the connection is closed, which ends the work. */
  within<T>(work: Promise<T>, what: string): Promise<T> {
    const limit = this.settings.commandTimeoutMs ?? DEFAULT_TIME_LIMITS.commandMs;
    return withinTime(work, limit, () => {
      this.close();
      return timedOut(this.settings.target, what, limit, 'command-timeout');
    });
  }

  private finish(command: string, channel: ClientChannel, input?: string | Buffer | Readable): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      channelOutcome(channel).then(({ code, stdout, stderr }) => {
        if (code === undefined) reject(this.failure(`"${command.slice(0, 80)}" did not finish`, this.lost.error ?? new Error('the connection was cut off')));
        else resolve({ code, stdout, stderr });
      });
      if (input === undefined) channel.end();
      else if (typeof input === 'string' || Buffer.isBuffer(input)) channel.end(input);
      else {
        input.on('error', () => channel.destroy());
        input.pipe(channel);
      }
    });
  }

  sftp(): Promise<SFTPWrapper> {
    if (this.lost.error) return Promise.reject(this.failure('connection lost', this.lost.error));
    return new Promise((resolve, reject) => {
      this.client.sftp((error, sftp) => (error ? reject(this.failure('cannot start SFTP', error)) : resolve(sftp)));
    });
  }

  /** Cuts the connection off without a goodbye, as a network failure would (fault injection in tests). */
  cut(): void {
    this.closed = true;
    this.client.destroy();
    this.jump?.cut();
  }

  get isOpen(): boolean {
    return !this.closed && this.lost.error === undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.end();
    this.jump?.close();
  }
}

/** Waits until a channel closes: its exit status (undefined when it was cut off) and its output. */
export function channelOutcome(channel: ClientChannel): Promise<{ code: number | undefined; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let code: number | undefined;
    channel.on('data', (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    channel.on('exit', (status: number | null, signal?: string) => (code = status ?? (signal ? 128 : 255)));
    channel.on('close', () => resolve({ code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }));
  });
}

/**
 * The SSH packets written in one turn of the event loop leave in one write:
 * ssh2 writes every packet (32 KiB of a transfer at most) to its socket by
 * itself, and a system call with a wake-up of the target's sshd per packet
 * cost both sides more CPU than the encryption. The socket is corked at the
 * turn's first write and uncorked right after the turn (as Node's docs
 * advise for cork), so nothing waits longer than that.
 */
function batchWrites(client: Client): void {
  const socket = (client as unknown as { _sock?: NodeJS.WritableStream & { cork?: () => void; uncork?: () => void } })._sock;
  if (socket?.cork === undefined || socket.uncork === undefined) return;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  socket.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      socket.cork!();
      process.nextTick(() => {
        corked = false;
        socket.uncork!();
      });
    }
    return write(...args);
  }) as typeof socket.write;
}
