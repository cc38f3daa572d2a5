import type { DysnomiaConfig } from '@dysnomia/engine/internal/config.js';
import { FileState } from './file-state.js';
import { PostgresState } from './postgres-state.js';
import type { StateBackend } from './state-backend.js';

/** The state backend the config chooses; `stateDir` is this machine's state folder (the file backend's home, and its store's). */
export function stateBackendFor(config: Pick<DysnomiaConfig, 'state'>, stateDir: string): StateBackend {
  return config.state?.backend === 'postgres' ? new PostgresState(config.state.url, stateDir) : new FileState(stateDir);
}
