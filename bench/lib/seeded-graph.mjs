// Seeded random dependency graphs for the benchmarks: the same seed gives the
// same services and edges on every run, so figures compare across runs.

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * For `count` nodes, each node's dependencies: 0..maxDeps distinct earlier
 * nodes (so the graph is acyclic), drawn from the `window` nodes before it
 * when given (a deeper, narrower graph) or from all earlier ones.
 */
export function acyclicDependencies(count, { seed, maxDeps, window }) {
  const random = seededRandom(seed);
  const deps = [];
  for (let i = 0; i < count; i++) {
    const wanted = Math.min(i, Math.floor(random() * (maxDeps + 1)));
    const lowest = window ? Math.max(0, i - window) : 0;
    const chosen = new Set();
    while (chosen.size < Math.min(wanted, i - lowest)) chosen.add(lowest + Math.floor(random() * (i - lowest)));
    deps.push([...chosen].sort((a, b) => a - b));
  }
  return deps;
}

/** The node and every node that depends on it, directly or not. */
export function withDependants(deps, node) {
  const dependants = deps.map(() => []);
  deps.forEach((list, i) => list.forEach((d) => dependants[d].push(i)));
  const seen = new Set([node]);
  const queue = [node];
  while (queue.length > 0) for (const next of dependants[queue.shift()]) if (!seen.has(next)) seen.add(next), queue.push(next);
  return seen;
}

/**
 * The first node from `from` on (then from the start) whose change redeploys
 * between `min` and `max` nodes (it and its dependants), for a one-service
 * change that is small but not trivial; `from` when there is none.
 */
export function nodeWithDependants(deps, from, { min, max }) {
  for (let n = 0; n < deps.length; n++) {
    const i = (from + n) % deps.length;
    const size = withDependants(deps, i).size;
    if (size >= min && size <= max) return i;
  }
  return from;
}
