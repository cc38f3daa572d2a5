import type { AgentLink } from '../remote/agent-link.js';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import { acquireLock, currentHolder, describeHolder, holderIsDead, mayBreak, profileLockFile, releaseLock } from '@dysnomia/engine/internal/locks/profile-lock.js';
import type { LockHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import type { Reporter } from './progress.js';

/**
 * The locks of a deployment: the profile's here (the coordinator's) and on
 * every target, with one holder for both. A lock whose holder is provably
 * gone is broken and said (a `lock-broken` event); one whose holder cannot
 * be checked from here only with --break-stale-lock.
 */

export interface LockingOptions {
  profile: string;
  reporter: Reporter;
  /** Also break locks whose holder cannot be checked from here. */
  breakStaleLock: boolean;
}

function lockRefusal(where: string, profile: string, holder: LockHolder, breakUnknown: boolean): DysnomiaError {
  const hint = holderIsDead(holder) === false ? '; another deployment is running' : breakUnknown ? '' : '; if you know its holder is gone, pass --break-stale-lock to break it';
  return new DysnomiaError('ERR_DYSNOMIA_LOCKED', `profile "${profile}" ${where} is locked by ${describeHolder(holder)}${hint}`, { exitCode: EXIT_OPERATION_FAILED });
}

/**
 * Takes the coordinator's lock of a profile. A lock whose holder is provably
 * gone (this machine, a dead process) is broken, and said; one whose holder
 * cannot be checked only with --break-stale-lock. Returns the release function.
 */
export async function lockCoordinator(stateDir: string, profile: string, options: Pick<LockingOptions, 'breakStaleLock' | 'reporter'>, holder: LockHolder = currentHolder()): Promise<() => Promise<void>> {
  const file = profileLockFile(stateDir, profile);
  let outcome = await acquireLock(file, holder);
  if (!outcome.acquired && mayBreak(outcome.holder, options.breakStaleLock)) {
    const stale = outcome.holder;
    outcome = await acquireLock(file, holder, stale);
    if (outcome.acquired) options.reporter.emit({ event: 'lock-broken', target: 'coordinator', profile, holder: describeHolder(stale) });
  }
  if (!outcome.acquired) throw lockRefusal('on this machine', profile, outcome.holder, options.breakStaleLock);
  return async () => void (await releaseLock(file, holder));
}

/** Takes the profile's lock on every target, all at once; a lock whose holder is provably gone is broken, and said. */
export async function lockTargets(links: Map<string, AgentLink>, holder: LockHolder, locked: string[], options: LockingOptions): Promise<void> {
  const { profile, reporter } = options;
  const refusals = new Map<string, unknown>();
  await Promise.all(
    [...links].map(async ([name, link]) => {
      try {
        let answer = await link.request({ kind: 'lock', profile, holder });
        if (!answer.ok && answer.holder && mayBreak(answer.holder, options.breakStaleLock)) {
          const stale = answer.holder;
          answer = await link.request({ kind: 'lock', profile, holder, breaking: stale });
          if (answer.ok) reporter.emit({ event: 'lock-broken', target: name, profile, holder: describeHolder(stale) });
        }
        if (!answer.ok) {
          if (answer.holder) throw lockRefusal(`on target "${name}"`, profile, answer.holder, options.breakStaleLock);
          throw new DysnomiaError('ERR_DYSNOMIA_DEPLOY_FAILED', `target "${name}": cannot lock profile "${profile}": ${answer.error}`, { exitCode: EXIT_OPERATION_FAILED });
        }
        locked.push(name);
        reporter.emit({ event: 'locked', target: name, profile });
      } catch (error) {
        refusals.set(name, error);
      }
    }),
  );
  // Those taken are in `locked`, for the caller to give back; the refusal said is the first target's, in the given order.
  for (const name of links.keys()) if (refusals.has(name)) throw refusals.get(name);
}
