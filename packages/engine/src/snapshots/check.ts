import { stat } from 'node:fs/promises';
import { computeOutputHash } from './hash.js';
import { readChecksum, snapshotDir } from './layout.js';
import { parseSnapshotPath } from './names.js';

export type CheckStatus = 'ok' | 'missing' | 'no-checksum' | 'mismatch';

export interface CheckResult {
  /** The relative path checked (container/component/id). */
  path: string;
  status: CheckStatus;
  /** The checksum recorded in checksums/ (when there is one). */
  expected?: string;
  /** The checksum of the snapshot's current contents (when it exists and has a recorded checksum). */
  actual?: string;
}

/**
 * `dysnomia-snapshots --check`: compares each snapshot's contents with the
 * checksum recorded in checksums/<container>/<component>/<id> when its
 * generation was made (Dysnomia's `computeOutputHash`).
 */
export async function checkSnapshots(root: string, relativePaths: string[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const relative of relativePaths) {
    const { container, component, id } = parseSnapshotPath(relative);
    const absolute = snapshotDir(root, container, component, id);
    if (!(await stat(absolute).then(() => true, () => false))) {
      results.push({ path: relative, status: 'missing' });
      continue;
    }
    const expected = await readChecksum(root, container, component, id);
    if (expected === undefined) {
      results.push({ path: relative, status: 'no-checksum' });
      continue;
    }
    const actual = await computeOutputHash(absolute);
    results.push({ path: relative, status: actual === expected ? 'ok' : 'mismatch', expected, actual });
  }
  return results;
}
