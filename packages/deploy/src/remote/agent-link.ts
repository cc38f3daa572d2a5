import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { ARCHIVE_ABORT, ARCHIVE_END, frameHeader, MAX_FRAME } from '@dysnomia/engine/internal/agent/archive-frames.js';
import type { ClientChannel } from 'ssh2';
import { DysnomiaError, EXIT_OPERATION_FAILED, parseErrorLine } from '@dysnomia/engine/internal/errors.js';
import { DEFAULT_TIME_LIMITS, timedOut, withinTime } from './time-limits.js';
import type { Agent, AgentOptions } from '@dysnomia/engine/internal/agent/agent.js';
import type { AgentAnswers, AgentHello, AgentOutputLine, AgentRequest, AgentRequestBody, AgentResponse, ProfileAction, ProfileAnswers, SnapshotsAction, SnapshotsAnswers } from '@dysnomia/engine/internal/agent/protocol.js';

/** A request as a timeout message names it ("to activate …"). */
function requestLabel(body: AgentRequestBody): string {
  if (body.kind === 'operation') return `${body.operation} ${body.entry} in ${body.container}`;
  if (body.kind === 'service-locks') return `${body.operation} ${body.services.length} services`;
  return `${body.kind}`;
}

/**
 * How long a request may take: the limit is each operation's
 * (--command-timeout), so a `service-locks` request gets it once per round of
 * `parallel` services.
 */
function timeLimitOf(body: AgentRequestBody, ms: number): number {
  if (body.kind !== 'service-locks') return ms;
  return ms * Math.max(1, Math.ceil(body.services.length / Math.max(1, body.parallel)));
}

/** A target's refusal or failure, as the target said it: its code and exit status kept. */
export function targetError(target: string, answer: Extract<AgentResponse, { ok: false }>): DysnomiaError {
  return new DysnomiaError(answer.code ?? 'ERR_DYSNOMIA_AGENT', `target "${target}": ${answer.error}`, { exitCode: answer.exitCode });
}

/** Sends a request and returns what it answers, or throws the target's own error (targetError). */
export async function ask<K extends AgentRequestBody['kind']>(link: AgentLink, target: string, body: Extract<AgentRequestBody, { kind: K }>): Promise<AgentAnswers[K]> {
  const answer = await link.request(body);
  if (!answer.ok) throw targetError(target, answer);
  return answer.result as AgentAnswers[K];
}

/** A profile request (install, switch, …), typed by its action. */
export async function askProfile<A extends ProfileAction['action']>(link: AgentLink, target: string, profile: string, action: Extract<ProfileAction, { action: A }>): Promise<ProfileAnswers[A]> {
  return (await ask(link, target, { kind: 'profile', profile, ...action } as Extract<AgentRequestBody, { kind: 'profile' }>)) as ProfileAnswers[A];
}

/** A request to the target's snapshot store (query, missing, adopt, gc), typed by its action. */
export async function askSnapshots<A extends SnapshotsAction['action']>(link: AgentLink, target: string, action: Extract<SnapshotsAction, { action: A }>): Promise<SnapshotsAnswers[A]> {
  return (await ask(link, target, { kind: 'snapshots', ...action } as Extract<AgentRequestBody, { kind: 'snapshots' }>)) as SnapshotsAnswers[A];
}

/** A coordinator's line to one target's agent. */
export interface AgentLink {
  readonly hello: AgentHello['hello'];
  /** Sends a request; `onLine` gets the lines the operation's modules print, as they come (with the service's key in a `service-locks` request). */
  request(body: AgentRequestBody, onLine?: (line: string, key?: string) => void): Promise<AgentResponse>;
  close(): void;
}

/** The agent of a local target, in this process. */
export class LocalAgentLink implements AgentLink {
  private next = 1;
  readonly hello: AgentHello['hello'];
  private constructor(
    private readonly agent: Agent,
    private readonly timeoutMs: number,
  ) {
    this.hello = this.agent.hello().hello;
  }

  /** The agent's module (the engine's whole operation side) is loaded only when a local target needs it: SSH deploys start faster. */
  static async open(stateDir: string, options: AgentOptions = {}, timeoutMs = DEFAULT_TIME_LIMITS.commandMs): Promise<LocalAgentLink> {
    const { Agent } = await import('@dysnomia/engine/internal/agent/agent.js');
    return new LocalAgentLink(new Agent(stateDir, options), timeoutMs);
  }
  request(body: AgentRequestBody, onLine?: (line: string, key?: string) => void): Promise<AgentResponse> {
    const ms = timeLimitOf(body, this.timeoutMs);
    return withinTime(this.agent.handle({ ...body, id: this.next++ } as AgentRequest, onLine), ms, () => timedOut('local', `to ${requestLabel(body)}`, ms, 'command-timeout'));
  }
  close(): void {
    void this.agent.close().catch(() => undefined);
  }
}

/** `dysnomia agent` on a target, over one SSH channel: requests go out as lines, answers come back by id. */
export class RemoteAgentLink implements AgentLink {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: AgentResponse) => void; reject: (e: Error) => void; onLine?: ((line: string, key?: string) => void) | undefined }>();
  private closedWith: Error | undefined;

  private constructor(
    private readonly channel: ClientChannel,
    readonly hello: AgentHello['hello'],
    private readonly target: string,
    private readonly timeoutMs: number,
  ) {}

  static async open(channel: ClientChannel, target: string, timeoutMs = DEFAULT_TIME_LIMITS.commandMs): Promise<RemoteAgentLink> {
    let stderr = '';
    channel.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 16384) stderr += chunk.toString();
    });
    const lines = createInterface({ input: channel, crlfDelay: Infinity });
    let link: RemoteAgentLink | undefined;
    return new Promise<RemoteAgentLink>((resolve, reject) => {
      const gone = (why: string) => {
        const said = parseErrorLine(stderr);
        const error = said
          ? new DysnomiaError(said.code, `target "${target}": the agent ${why}: ${said.message}`, { exitCode: said.exitCode })
          : new DysnomiaError('ERR_DYSNOMIA_AGENT', `target "${target}": the agent ${why}${stderr.trim() ? `: ${stderr.trim()}` : ''}`, { exitCode: EXIT_OPERATION_FAILED });
        if (link === undefined) reject(error);
        else link.fail(error);
      };
      lines.on('line', (line) => {
        if (link === undefined) {
          try {
            const hello = (JSON.parse(line) as AgentHello).hello;
            if (!hello) throw new Error('no hello');
            link = new RemoteAgentLink(channel, hello, target, timeoutMs);
            resolve(link);
          } catch {
            gone(`did not start (it printed ${JSON.stringify(line.slice(0, 200))})`);
            channel.close();
          }
          return;
        }
        let response: AgentResponse | AgentOutputLine;
        try {
          response = JSON.parse(line) as AgentResponse | AgentOutputLine;
        } catch {
          return;
        }
        if ('line' in response) {
          link.pending.get(response.id)?.onLine?.(response.line, response.key);
          return;
        }
        const waiting = link.pending.get(response.id);
        link.pending.delete(response.id);
        waiting?.resolve(response);
      });
      channel.on('close', () => gone('exited'));
    });
  }

  private fail(error: Error): void {
    this.closedWith ??= error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  request(body: AgentRequestBody, onLine?: (line: string, key?: string) => void): Promise<AgentResponse> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const ms = timeLimitOf(body, this.timeoutMs);
    const id = this.next++;
    const answered = new Promise<AgentResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onLine });
      this.writeLine(`${JSON.stringify({ ...body, id })}\n`);
    });
    // The operation may go on there; the coordinator stops waiting (and rolls back what it did).
    return withinTime(answered, ms, () => {
      this.pending.delete(id);
      return timedOut(this.target, `to ${requestLabel(body)}`, ms, 'command-timeout');
    });
  }

  /** Lines of requests made while an archive is being sent: they follow its last frame. */
  private held: string[] | undefined;
  /** The archives to send, one after another (each `import` request's frames follow its line). */
  private archives: Promise<unknown> = Promise.resolve();

  private writeLine(line: string): void {
    if (this.held !== undefined) this.held.push(line);
    else this.channel.write(line);
  }

  /**
   * Sends a store archive to the agent's `import` (written by `write` into
   * the stream it is given, counted by `onBytes`) on the agent's own channel
   * and answers the entries the target imported, each verified there before
   * it was added. When the target refuses the archive (or the channel goes),
   * the sending stops and the target's own error is thrown; when `write`
   * fails, the target is told to drop what it got and its error is thrown.
   */
  sendArchive(write: (output: NodeJS.WritableStream) => Promise<void>, onBytes: (n: number) => void): Promise<string[]> {
    const sent = this.archives.then(() => this.sendOne(write, onBytes));
    this.archives = sent.catch(() => undefined);
    return sent;
  }

  private async sendOne(write: (output: NodeJS.WritableStream) => Promise<void>, onBytes: (n: number) => void): Promise<string[]> {
    if (this.closedWith) throw this.closedWith;
    const answered = this.request({ kind: 'import' });
    // From here to the archive's last frame no other line may reach the channel.
    this.held = [];
    const framer = new ArchiveFramer(this.channel, onBytes);
    let ended = false;
    const written = write(framer).then(() => {
      ended = true;
    });
    written.catch(() => undefined);
    let answer: AgentResponse | undefined;
    try {
      // The target may answer before the archive's end (it refused an entry): then the sending stops.
      answer = await Promise.race([written.then(() => undefined), answered]);
    } catch (error) {
      // The channel went, the request timed out, or `write` failed.
      framer.destroy();
      if (!ended && !this.closedWith) this.channel.write(frameHeader(ARCHIVE_ABORT));
      this.release();
      throw error;
    }
    if (answer !== undefined && !ended) {
      framer.destroy();
      if (!this.closedWith) this.channel.write(frameHeader(ARCHIVE_ABORT));
    } else {
      this.channel.write(frameHeader(ARCHIVE_END));
    }
    this.release();
    answer ??= await answered;
    if (!answer.ok) throw targetError(this.target, { ...answer, error: `importing the store entries failed: ${answer.error}` });
    return (answer.result as AgentAnswers['import']).entries;
  }

  private release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const line of held) this.channel.write(line);
  }

  /** Ends the agent's input; resolves once the agent has exited (its store hold given back), or after AGENT_EXIT_WAIT_MS. */
  close(): Promise<void> {
    this.channel.end();
    if (this.closedWith !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, AGENT_EXIT_WAIT_MS);
      this.channel.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** How long closing a session waits for its agent to exit before the connection goes anyway. */
const AGENT_EXIT_WAIT_MS = 5_000;

/** Writes what it is given to an agent's channel as archive frames (archive-frames.ts), with the channel's backpressure. */
class ArchiveFramer extends Writable {
  constructor(
    private readonly channel: ClientChannel,
    private readonly onBytes: (n: number) => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let ready = true;
    for (let at = 0; at < chunk.length; at += MAX_FRAME) {
      const piece = chunk.subarray(at, at + MAX_FRAME);
      this.channel.write(frameHeader(piece.length));
      ready = this.channel.write(piece);
      this.onBytes(piece.length);
    }
    if (ready) return callback();
    // A channel that closes instead of draining has failed the send (the caller hears it from the agent link).
    const done = () => {
      this.channel.off('drain', done);
      this.channel.off('close', done);
      callback();
    };
    this.channel.on('drain', done);
    this.channel.on('close', done);
  }
}
