import { createInterface } from 'node:readline';
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
      this.channel.write(`${JSON.stringify({ ...body, id })}\n`);
    });
    // The operation may go on there; the coordinator stops waiting (and rolls back what it did).
    return withinTime(answered, ms, () => {
      this.pending.delete(id);
      return timedOut(this.target, `to ${requestLabel(body)}`, ms, 'command-timeout');
    });
  }

  close(): void {
    this.channel.end();
  }
}
