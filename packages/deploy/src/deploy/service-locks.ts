import type { AgentLink } from '../remote/agent-link.js';
import type { ServiceOutcome } from '@dysnomia/engine/internal/agent/protocol.js';
import type { AgentAnswers } from '@dysnomia/engine/internal/agent/protocol.js';
import type { DeployedMapping } from './deployment.js';
import { serviceOperationOf } from './deployment.js';
import { errorText } from './deploy-packages.js';
import type { Reporter } from './progress.js';
import { stepLabel } from './transition.js';

/**
 * The services' lock and unlock operations of a transition (Disnix's
 * meaning: every running service is asked, and any may refuse), one
 * `service-locks` request per target instead of one request per service.
 * Each service still gets its step events and its output lines, from the
 * target's answer and as they come.
 */
export interface ServiceLocking {
  links: Map<string, AgentLink>;
  reporter: Reporter;
  /** Operations at once on a target. */
  limitOf: (target: string) => number;
  /** The store entry of the deployment that ships a type's module on a target, if one does. */
  moduleEntry: (target: string, type: string) => string | undefined;
}

/** A service refused the lock (or its target could not be asked): the error says which and why. */
export interface LockRefusal {
  mapping: DeployedMapping;
  error: Error;
}

type Outcomes = AgentAnswers['service-locks'];

/** The mappings per target, in the order given. */
function byTarget(mappings: DeployedMapping[]): Map<string, DeployedMapping[]> {
  const groups = new Map<string, DeployedMapping[]>();
  for (const m of mappings) {
    const list = groups.get(m.target);
    if (list) list.push(m);
    else groups.set(m.target, [m]);
  }
  return groups;
}

/** Asks one target to run `operation` for each of `list`, saying each service's step as the answer tells it. */
async function ask(locking: ServiceLocking, target: string, operation: 'lock' | 'unlock', list: DeployedMapping[]): Promise<Outcomes> {
  const { reporter } = locking;
  const base = (m: DeployedMapping) => ({ target, action: operation, service: m.service, container: m.container });
  for (const m of list) reporter.emit({ event: 'step-started', ...base(m) });
  // The key of each service is its place in the list: mappings of one target need not have distinct ids to be told apart here.
  const onLine = (line: string, key?: string) => {
    const m = key === undefined ? undefined : list[Number(key)];
    if (m) reporter.emit({ event: 'output', target, service: m.service, action: operation, line: line.replace(/^dysnomia: /, '') });
  };
  const services = list.map((m, index) => serviceOperationOf(m, String(index), locking.moduleEntry(target, m.type)));
  const answer = await locking.links.get(target)!.request({ kind: 'service-locks', operation, services, parallel: locking.limitOf(target) }, onLine);
  if (!answer.ok) throw new Error(`target "${target}": cannot ask its services to ${operation}: ${answer.error}`);
  const outcomes = answer.result as Outcomes;
  const said = (action: 'lock' | 'unlock', o: ServiceOutcome) => {
    const m = list[Number(o.key)]!;
    reporter.emit({ event: 'step', ...base(m), action, status: o.ok ? 'done' : 'failed', ...(o.ok ? {} : { error: o.error }) });
  };
  for (const o of outcomes.outcomes) said(operation, o);
  for (const o of outcomes.unlocked) said('unlock', o);
  return outcomes;
}

/**
 * Asks every running service to lock, every target at once. Returns the
 * services locked and the first refusal; a target that refused has unlocked
 * its own again, those locked elsewhere are the caller's to unlock.
 */
export async function lockServices(locking: ServiceLocking, running: DeployedMapping[]): Promise<{ locked: DeployedMapping[]; refusal?: LockRefusal }> {
  const locked: DeployedMapping[] = [];
  const refusals: LockRefusal[] = [];
  await Promise.all(
    [...byTarget(running)].map(async ([target, list]) => {
      try {
        const { outcomes } = await ask(locking, target, 'lock', list);
        // After a refusal the target unlocked what it had locked: only a target that locked every one holds them.
        const refused = outcomes.find((o): o is Extract<ServiceOutcome, { ok: false }> => !o.ok);
        if (refused === undefined) locked.push(...list);
        else {
          const m = list[Number(refused.key)]!;
          refusals.push({ mapping: m, error: new Error(`${stepLabel('locking', m)} failed: ${refused.error}`) });
        }
      } catch (error) {
        refusals.push({ mapping: list[0]!, error: error instanceof Error ? error : new Error(errorText(error)) });
      }
    }),
  );
  return { locked, ...(refusals.length > 0 ? { refusal: refusals[0]! } : {}) };
}

/** Asks these services to unlock, every target at once; a failure is said (a step event) and goes no further. */
export async function unlockServices(locking: ServiceLocking, mappings: DeployedMapping[]): Promise<void> {
  await Promise.all([...byTarget(mappings)].map((group) => ask(locking, group[0], 'unlock', group[1]).catch(() => undefined)));
}
