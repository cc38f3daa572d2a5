import type { AgentAnswers, AgentRequestBody } from '@dysnomia/engine/internal/agent/protocol.js';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import { closeAll, failedEvent, forEachLimited, openSessions, targetMessage } from './deploy-packages.js';
import type { SessionsOptions } from './deploy-packages.js';

export interface AskEveryTargetResult<T> {
  /** Target name → its answer, for those that answered. */
  answers: Map<string, T>;
  /** Target name → why it did not answer (the message names the target). */
  failed: Map<string, string>;
}

export interface AskOptions<T> {
  /** A target that has the runtime keeps its runtimes as they are (a deploy would put this one first). */
  readOnly: boolean;
  /** What the request does, for the message of a failure ("describing the machine"). */
  doing: string;
  /** Just before a target is asked (progress). */
  started?: (target: string) => void;
  /** A target's checked answer, as it comes. */
  answered?: (target: string, answer: T) => void;
}

/**
 * Connects to every target (bootstrapping the engine where it is missing,
 * as deploy does; `readOnly`: a target that has it keeps its runtimes as
 * they are, where a deploy would put this one first), asks
 * each agent one request, and checks each answer with `check`. Targets are
 * worked on in parallel, up to `maxConcurrent`; every connection is closed
 * before this returns, and a `done` event ends the run.
 */
export async function askEveryTarget<K extends AgentRequestBody['kind'], T>(
  options: Omit<SessionsOptions, 'targets'>,
  request: Extract<AgentRequestBody, { kind: K }>,
  check: (answer: unknown) => T,
  { readOnly, doing, started, answered }: AskOptions<T>,
): Promise<AskEveryTargetResult<T>> {
  const names = Object.keys(options.infrastructure);
  const answers = new Map<string, T>();
  const failed = new Map<string, string>();
  const sessions = await openSessions({ ...options, targets: names }, failed, { install: true, keepRuntime: !readOnly });
  try {
    await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => {
      try {
        started?.(name);
        const answer = await (await sessions.get(name)!.agent()).request(request);
        if (!answer.ok) throw new DysnomiaError(answer.code, `${doing} failed: ${answer.error}`, { exitCode: EXIT_OPERATION_FAILED });
        const checked = check(answer.result);
        answers.set(name, checked);
        answered?.(name, checked);
      } catch (error) {
        failed.set(name, targetMessage(name, error));
        options.reporter.emit(failedEvent(name, error));
      }
    });
  } finally {
    closeAll(sessions);
  }
  options.reporter.emit({ event: 'done', ok: failed.size === 0, failed: [...failed.keys()] });
  return { answers, failed };
}

/** An answer of the shape a request kind promises, or an error saying what was missing. */
export function answerWith<K extends keyof AgentAnswers>(kind: K, field: string, isValid: (value: unknown) => boolean): (value: unknown) => AgentAnswers[K] {
  return (value) => {
    const part = (value as Record<string, unknown> | null)?.[field];
    if (!isValid(part)) throw new DysnomiaError('ERR_DYSNOMIA_AGENT', `the agent answered "${kind}" without ${field}`, { exitCode: EXIT_OPERATION_FAILED });
    return value as AgentAnswers[K];
  };
}
