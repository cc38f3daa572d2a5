/**
 * Dysnomia's snapshot store under the state folder (snapshots/, generations/,
 * checksums/), for dysnomia-snapshots and for plugins that take snapshots.
 * Every function takes the state folder's root.
 */
export { computeOutputHash, contentId } from './hash.js';
export {
  checksumsDir,
  generationLinkTarget,
  generationsDir,
  latestGeneration,
  listGenerations,
  readChecksum,
  snapshotDir,
  snapshotsDir,
  writeChecksum,
  type Generation,
} from './layout.js';
export { assertSegment, checkRelativePath, determineName, parseSnapshotPath, relativeSnapshotPath, type SnapshotRef } from './names.js';
export { componentsWithGenerations, missingSnapshots, queryAll, queryLatest, resolveSnapshotPaths, type SnapshotFilter } from './query.js';
export { createGenerationLink, type GenerationLinkResult } from './generations.js';
export { importSnapshot, storeSnapshot, type StoredSnapshot } from './store.js';
export { collectGarbage, type CollectGarbageOptions, type CollectGarbageResult } from './gc.js';
export { checkSnapshots, type CheckResult, type CheckStatus } from './check.js';
