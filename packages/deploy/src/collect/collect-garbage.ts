import type { AgentAnswers } from '@dysnomia/engine/internal/agent/protocol.js';
import type { Store } from '@dysnomia/engine/internal/store/store.js';
import { askEveryTarget } from '../deploy/ask-every-target.js';
import type { Reporter } from '../deploy/progress.js';
import type { Infrastructure } from '../models/infrastructure.js';
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
  const { deleteOldGenerations } = options;
  const { answers: collected, failed } = await askEveryTarget(
    options,
    { kind: 'collect-garbage', deleteOldGenerations, ...(options.profile === undefined ? {} : { profile: options.profile }) },
    (answer) => answer as TargetCollection,
    {
      readOnly: false,
      doing: 'collecting garbage',
      started: (target) => options.reporter.emit({ event: 'collecting', target, deleteOldGenerations }),
      answered: (target, answer) => options.reporter.emit({ event: 'collected', target, ...answer }),
    },
  );
  return { collected, failed };
}
