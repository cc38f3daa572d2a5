import type { DysnomiaConfig } from '@dysnomia/engine/internal/config.js';
import { createDeployHooks } from '@dysnomia/engine/internal/deploy-hooks.js';
import type { DeployHooks } from '@dysnomia/engine/internal/deploy-hooks.js';
import { loadConfigPlugins } from '@dysnomia/engine/internal/engine.js';
import { createHooks, tapOwnerOf } from '@dysnomia/engine/internal/hooks.js';
import type { DysnomiaPlugin } from '@dysnomia/engine/internal/plugin.js';

/**
 * Applies plugins to the orchestrator's hooks: each plugin's
 * `apply(hooks, deploy)` gets a set of engine hooks (operations run on the
 * targets, so taps there see nothing here) and the deploy hooks, and every
 * tap it registers is blamed on it by name.
 */
export function applyDeployPlugins(deploy: DeployHooks, plugins: Array<{ name: string; plugin: DysnomiaPlugin }>): void {
  const engineHooks = createHooks();
  for (const { name, plugin } of plugins) {
    if (!plugin.apply) continue;
    tapOwnerOf(deploy).applying(name, () => tapOwnerOf(engineHooks).applying(name, () => plugin.apply!(engineHooks, deploy)));
  }
}

/** The orchestrator's hooks with the config's plugins applied. */
export async function deployHooksFor(config: DysnomiaConfig, cwd: string): Promise<DeployHooks> {
  const deploy = createDeployHooks();
  const sources = await loadConfigPlugins(config, cwd);
  applyDeployPlugins(deploy, sources.flatMap((source) => source.plugins.map((plugin) => ({ name: plugin.meta?.name ?? source.name, plugin }))));
  return deploy;
}
