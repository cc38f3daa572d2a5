/** Profiles under `<stateDir>/profiles`: numbered generations of merged package trees, switched atomically. */
export { Profiles, type Generation, type GenerationSelector } from './profiles.js';
export { assertProfileName } from './names.js';
export { MERGED_FOLDERS } from './merge-tree.js';
