import type { DescribeResult } from '@dysnomia/engine/internal/agent/protocol.js';
import { closeAll, failedEvent, forEachLimited, openSessions, targetMessage } from '../deploy/deploy-packages.js';
import type { Reporter } from '../deploy/progress.js';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import type { Infrastructure } from '../models/infrastructure.js';
import type { TimeLimits } from '../remote/time-limits.js';
import type { Store } from '@dysnomia/engine/internal/store/store.js';
import type { CapturedInfrastructure } from './captured-model.js';
import { mergeTarget } from './merge-target.js';

export interface CaptureOptions {
  infrastructure: Infrastructure;
  /** This machine's store: the engine sent to targets that lack it is built into it. */
  store: Store;
  reporter: Reporter;
  maxConcurrent: number;
  acceptNewHostKeys: boolean;
  knownHostsFile?: string;
  log: (message: string) => void;
  timeLimits?: TimeLimits;
}

export interface CaptureResult {
  /** The captured model, only when every target answered (never a partial one). */
  model?: CapturedInfrastructure;
  /** Target name → why it could not be captured (the message names the target). */
  failed: Map<string, string>;
}

function checkDescription(value: unknown): DescribeResult {
  const containers = (value as { containers?: unknown } | null)?.containers;
  if (containers === null || typeof containers !== 'object' || Array.isArray(containers)) {
    throw new DysnomiaError('ERR_DYSNOMIA_AGENT', 'the agent answered "describe" without containers', { exitCode: EXIT_OPERATION_FAILED });
  }
  return value as DescribeResult;
}

/**
 * Connects to every target (bootstrapping the engine where it is missing,
 * as deploy does), asks its agent to describe the machine and merges each
 * answer with the model's target. Targets are worked on in parallel, up to
 * `maxConcurrent`; every connection is closed before this returns.
 */
export async function captureInfrastructure(options: CaptureOptions): Promise<CaptureResult> {
  const names = Object.keys(options.infrastructure);
  const described = new Map<string, DescribeResult>();
  const failed = new Map<string, string>();
  const sessions = await openSessions({ ...options, targets: names }, failed, { install: true });
  try {
    await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => {
      try {
        const answer = await (await sessions.get(name)!.agent()).request({ kind: 'describe' });
        if (!answer.ok) throw new Error(`describing the machine failed: ${answer.error}`);
        described.set(name, checkDescription(answer.result));
      } catch (error) {
        failed.set(name, targetMessage(name, error));
        options.reporter.emit(failedEvent(name, error));
      }
    });
  } finally {
    closeAll(sessions);
  }
  options.reporter.emit({ event: 'done', ok: failed.size === 0, failed: [...failed.keys()] });
  if (failed.size > 0) return { failed };
  // In the model's order, whichever target answered first.
  const model: CapturedInfrastructure = {};
  for (const name of names) model[name] = mergeTarget(options.infrastructure[name]!, described.get(name)!);
  return { model, failed };
}
