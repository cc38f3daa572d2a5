import { answerWith, askEveryTarget } from '../deploy/ask-every-target.js';
import type { Reporter } from '../deploy/progress.js';
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

const checkDescription = answerWith('describe', 'containers', (containers) => containers !== null && typeof containers === 'object' && !Array.isArray(containers));

/**
 * Connects to every target (bootstrapping the engine where it is missing,
 * as deploy does), asks its agent to describe the machine and merges each
 * answer with the model's target. Targets are worked on in parallel, up to
 * `maxConcurrent`; every connection is closed before this returns.
 */
export async function captureInfrastructure(options: CaptureOptions): Promise<CaptureResult> {
  const { answers: described, failed } = await askEveryTarget(options, { kind: 'describe' }, checkDescription, { readOnly: false, doing: 'describing the machine' });
  if (failed.size > 0) return { failed };
  // In the model's order, whichever target answered first.
  const model: CapturedInfrastructure = {};
  for (const name of Object.keys(options.infrastructure)) model[name] = mergeTarget(options.infrastructure[name]!, described.get(name)!);
  return { model, failed };
}
