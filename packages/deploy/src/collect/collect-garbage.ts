import type { AgentAnswers } from '@dysnomia/engine/internal/agent/protocol.js';
import type { Store } from '@dysnomia/engine/internal/store/store.js';
import { closeAll, failedEvent, forEachLimited, openSessions, targetMessage } from '../deploy/deploy-packages.js';
import type { Reporter } from '../deploy/progress.js';
import type { Infrastructure } from '../models/infrastructure.js';
import { ask } from '../remote/agent-link.js';
import type { TimeLimits } from '../remote/time-limits.js';

export interface CollectGarbageOptions {
  infrastructure: Infrastructure;
  /** This machine's store: the runtime sent to targets that lack it is built into it. */
  store: Store;
  reporter: Reporter;
  maxConcurrent: number;
  acceptNewHostKeys: boolean;
  knownHostsFile?: string;
  timeLimits?: TimeLimits;
  log: (message: string) => void;
  /** -d: first delete every profile's generations but the current one (of `profile` only, when given). */
  deleteOldGenerations: boolean;
  profile?: string;
}

export type TargetCollection = AgentAnswers['collect-garbage'];

export interface CollectGarbageResult {
  collected: Map<string, TargetCollection>;
  /** Target name → why its collection failed (the message names the target). */
  failed: Map<string, string>;
}

/**
 * disnix-collect-garbage: every target of the infrastructure collects its
 * store through its agent (connected and given the runtime as deploy does,
 * which also keeps the runtime a root there). Each target's collection takes
 * its store's collection lock and keeps what running deployments hold, so a
 * deployment's entries between transfer and profile switch survive it; a
 * failing target does not stop the others.
 */
export async function collectGarbageOnTargets(options: CollectGarbageOptions): Promise<CollectGarbageResult> {
  const failed = new Map<string, string>();
  const collected = new Map<string, TargetCollection>();
  const sessions = await openSessions({ ...options, targets: Object.keys(options.infrastructure) }, failed, { install: true });
  try {
    await forEachLimited([...sessions.keys()], options.maxConcurrent, async (name) => {
      try {
        options.reporter.emit({ event: 'collecting', target: name, deleteOldGenerations: options.deleteOldGenerations });
        const link = await sessions.get(name)!.agent();
        const answer = await ask(link, name, { kind: 'collect-garbage', deleteOldGenerations: options.deleteOldGenerations, ...(options.profile === undefined ? {} : { profile: options.profile }) });
        collected.set(name, answer);
        options.reporter.emit({ event: 'collected', target: name, ...answer });
      } catch (error) {
        failed.set(name, targetMessage(name, error));
        options.reporter.emit(failedEvent(name, error));
      }
    });
  } finally {
    closeAll(sessions);
  }
  options.reporter.emit({ event: 'done', ok: failed.size === 0, failed: [...failed.keys()] });
  return { collected, failed };
}
