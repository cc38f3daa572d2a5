/**
 * The content-addressed store under `<stateDir>/store` and the component
 * sources it takes: folders, tarballs, npm packages and build functions.
 */
export { Store, type ComponentSource, type AddOptions } from './store.js';
export { component, isBuildFunctionComponent, type BuildFunctionComponent } from './build-function.js';
export { ENTRY_PATTERN, isEntryName, parseEntryName } from './entry-name.js';
export type { EntryMeta } from './meta.js';
export { gcRoots, type GarbageCollection } from './gc.js';
