import type { DeployedMapping, Deployment } from './deployment.js';
import { PROFILE_ONLY_TYPE } from './deployment.js';

/** What moving from one deployment to another takes. */
export interface Transition {
  /** Mappings of the old deployment that the new one lacks, dependants before their dependencies. */
  deactivate: DeployedMapping[];
  /** Mappings of the new deployment that the old one lacks, dependencies before their dependants. */
  activate: DeployedMapping[];
  /** Mappings both have: left alone. */
  unchanged: DeployedMapping[];
  /** For each mapping to activate: the ones of `activate` it waits for. */
  activationWaits: Map<string, string[]>;
  /** For each mapping to deactivate: the ones of `deactivate` (its dependants) it waits for. */
  deactivationWaits: Map<string, string[]>;
}

/** A step on a mapping as messages name it ("activating svc on test1 (container c)"). */
export function stepLabel(action: string, m: DeployedMapping): string {
  return `${action} ${m.service} on ${m.target} (container ${m.container})`;
}

/** Whether an operation runs for a mapping: services of type package only go into the profile. */
export const isActivated = (mapping: DeployedMapping) => mapping.type !== PROFILE_ONLY_TYPE;

export function planTransition(old: Deployment | undefined, next: Deployment): Transition {
  const before = new Map((old?.mappings ?? []).map((m) => [m.id, m]));
  const after = new Map(next.mappings.map((m) => [m.id, m]));
  const deactivateSet = [...before.values()].filter((m) => !after.has(m.id));
  const activateSet = [...after.values()].filter((m) => !before.has(m.id));
  const activationWaits = new Map(activateSet.map((m) => [m.id, m.after.filter((id) => after.has(id) && !before.has(id))]));
  const deactivating = new Set(deactivateSet.map((m) => m.id));
  const dependants = new Map<string, string[]>(deactivateSet.map((m) => [m.id, []]));
  for (const m of deactivateSet) for (const id of m.after) if (deactivating.has(id)) dependants.get(id)!.push(m.id);
  return {
    deactivate: topological(deactivateSet, dependants),
    activate: topological(activateSet, activationWaits),
    unchanged: next.mappings.filter((m) => before.has(m.id)),
    activationWaits,
    deactivationWaits: dependants,
  };
}

/** The items ordered so that every item comes after those it waits for (stable otherwise). */
export function topological<T extends { id: string }>(items: T[], waits: Map<string, string[]>): T[] {
  const byId = new Map(items.map((item) => [item.id, item]));
  const done = new Set<string>();
  const order: T[] = [];
  const visit = (item: T, trail: Set<string>) => {
    if (done.has(item.id) || trail.has(item.id)) return;
    trail.add(item.id);
    for (const id of waits.get(item.id) ?? []) {
      const dependency = byId.get(id);
      if (dependency) visit(dependency, trail);
    }
    done.add(item.id);
    order.push(item);
  };
  for (const item of items) visit(item, new Set());
  return order;
}

/** The reverse waits: each item waits for those that waited for it (undoing in the opposite order). */
export function reversed(items: Array<{ id: string }>, waits: Map<string, string[]>): Map<string, string[]> {
  const result = new Map<string, string[]>(items.map((item) => [item.id, []]));
  for (const item of items) for (const id of waits.get(item.id) ?? []) result.get(id)?.push(item.id);
  return result;
}

export interface GraphOutcome<T> {
  done: T[];
  /** The first failure. */
  failure?: { item: T; error: unknown };
  /** With keepGoing: every failure, and the items that never started because something they wait for failed. */
  failures?: Array<{ item: T; error: unknown }>;
  skipped?: T[];
}

/**
 * Runs every item once the items it waits for are done, at most
 * `limitOf(target)` at a time per target. After a failure nothing new
 * starts (unless `keepGoing`, as a rollback does: then everything that does
 * not wait for a failed item still runs, on every target); the running ones
 * finish, and the outcome says what was done.
 */
export async function runGraph<T extends { id: string; target: string }>(
  items: T[],
  waits: Map<string, string[]>,
  limitOf: (target: string) => number,
  run: (item: T) => Promise<void>,
  options: { keepGoing?: boolean } = {},
): Promise<GraphOutcome<T>> {
  // Counts of unfinished waits, and who waits for whom (waits name only items of this graph).
  const ids = new Set(items.map((item) => item.id));
  const blockers = new Map<string, number>();
  const waiters = new Map<string, T[]>();
  for (const item of items) {
    const own = [...new Set(waits.get(item.id) ?? [])].filter((id) => ids.has(id) && id !== item.id);
    blockers.set(item.id, own.length);
    for (const id of own) waiters.set(id, [...(waiters.get(id) ?? []), item]);
  }
  // Ready items queue per target, in the given order, so a busy target never holds up another.
  const ready = new Map<string, T[]>();
  const enqueue = (item: T) => {
    const queue = ready.get(item.target);
    if (queue) queue.push(item);
    else ready.set(item.target, [item]);
  };
  for (const item of items) if (blockers.get(item.id) === 0) enqueue(item);
  const done: T[] = [];
  const running = new Map<string, number>();
  let failure: GraphOutcome<T>['failure'];
  const failures: NonNullable<GraphOutcome<T>['failures']> = [];
  let active = 0;
  let started = 0;
  return new Promise((resolve) => {
    const pump = () => {
      if (failure === undefined || options.keepGoing) {
        for (const [target, queue] of ready) {
          const limit = Math.max(1, limitOf(target));
          while (queue.length > 0 && (running.get(target) ?? 0) < limit) {
            const item = queue.shift()!;
            running.set(target, (running.get(target) ?? 0) + 1);
            active++;
            started++;
            run(item)
              .then(
                () => {
                  done.push(item);
                  for (const waiter of waiters.get(item.id) ?? []) {
                    const left = blockers.get(waiter.id)! - 1;
                    blockers.set(waiter.id, left);
                    if (left === 0) enqueue(waiter);
                  }
                },
                (error: unknown) => {
                  failure ??= { item, error };
                  failures.push({ item, error });
                },
              )
              .finally(() => {
                running.set(target, running.get(target)! - 1);
                active--;
                pump();
              });
          }
        }
      }
      if (active > 0) return;
      if (options.keepGoing && failure !== undefined) {
        const finished = new Set([...done, ...failures.map((f) => f.item)]);
        resolve({ done, failure, failures, skipped: items.filter((item) => !finished.has(item)) });
        return;
      }
      if (failure !== undefined) resolve({ done, failure });
      else if (started === items.length) resolve({ done });
      else {
        // Nothing runs and nothing can start: the remaining items wait on each other (a cycle the model check missed).
        const stuck = items.find((item) => (blockers.get(item.id) ?? 0) > 0)!;
        resolve({ done, failure: { item: stuck, error: new Error('dependency cycle among the remaining steps') } });
      }
    };
    pump();
  });
}
