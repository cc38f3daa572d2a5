// Reading a V8 CPU profile (node --cpu-prof): where a process spent its time.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The `count` functions with the most self time in the profile at `file`,
 * each { name, where (file:line), ms, share (of the sampled time) }, and the
 * profile's whole time in ms. The idle and program nodes count as functions:
 * much "(idle)" means the process mostly waited (for targets, children, disk).
 */
export async function topFunctions(file, count = 10) {
  const profile = JSON.parse(await readFile(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const deltas = profile.timeDeltas ?? [];
  profile.samples.forEach((id, i) => {
    const { callFrame } = byId.get(id);
    const where = callFrame.url ? `${path.basename(callFrame.url)}:${callFrame.lineNumber + 1}` : '';
    const key = `${callFrame.functionName || '(anonymous)'}\t${where}`;
    self.set(key, (self.get(key) ?? 0) + (deltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, count).map(([key, micros]) => {
    const [name, where] = key.split('\t');
    return { name, where, ms: micros / 1000, share: total > 0 ? micros / total : 0 };
  });
  return { totalMs: total / 1000, top };
}
