import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';
import { MODULE_DIRS, moduleIn } from '@dysnomia/engine/internal/search-paths.js';
import { didYouMean } from '@dysnomia/engine/internal/suggest.js';
import { RuntimeBuilder } from '../remote/runtime.js';
import type { Store } from '@dysnomia/engine/internal/store/store.js';
import type { RuntimeChoice } from './deploy-packages.js';
import type { DeployedMapping } from './deployment.js';
import type { ConnectAnswer } from './target-session.js';
import { isActivated } from './transition.js';
import type { TypePlugin, TypePlugins } from './type-plugins.js';

/** What each target needs to run its services' types, worked out before anything is sent. */
export interface TargetPlugins {
  runtimes: RuntimeChoice;
  /** Per target, the types no plugin here serves: the target's profiles are asked about them. */
  unresolved: Map<string, string[]>;
  /** Refuses (exit status 2, naming each service, type and target, and where they were looked for) a type nothing serves. */
  check(answers: Map<string, ConnectAnswer>): void;
  /** The store entry of a component of this deployment that ships the module of a type its target has no other way to run. */
  moduleEntry(target: string, type: string): string | undefined;
}

/**
 * Resolves the types of every activated mapping (of the deployment left and
 * the one reached: both are operated on) to plugin packages here; each
 * target's runtime gets the plugins of its own services. A type with no
 * plugin here may still be served on the target, by a module an installed
 * profile provides or one a component of this deployment ships there.
 */
export async function planTargetPlugins(options: { mappings: DeployedMapping[]; typePlugins: TypePlugins; store: Store; log: (message: string) => void }): Promise<TargetPlugins> {
  const { typePlugins, store } = options;
  const byTarget = new Map<string, DeployedMapping[]>();
  for (const m of options.mappings.filter(isActivated)) byTarget.set(m.target, [...(byTarget.get(m.target) ?? []), m]);
  const pluginsOf = new Map<string, TypePlugin[]>();
  const unresolved = new Map<string, string[]>();
  const shipped = new Map<string, Map<string, string>>();
  for (const [target, mappings] of byTarget) {
    const types = [...new Set(mappings.map((m) => m.type))].sort();
    const found: TypePlugin[] = [];
    const missing: string[] = [];
    for (const type of types) {
      const plugin = await typePlugins.resolve(type);
      if (plugin) found.push(plugin);
      else missing.push(type);
    }
    pluginsOf.set(target, found);
    if (missing.length === 0) continue;
    unresolved.set(target, missing);
    const ships = new Map<string, string>();
    for (const type of missing) {
      for (const entry of [...new Set(mappings.map((m) => m.entry))].sort()) {
        if ((await store.has(entry)) && (await moduleIn(store.path(entry), type)) !== undefined) {
          ships.set(type, entry);
          break;
        }
      }
    }
    shipped.set(target, ships);
  }
  // Only when some type is not found here: what is installed, for "did you mean".
  const installedTypes = unresolved.size > 0 ? await typePlugins.knownTypes() : [];
  let builder: RuntimeBuilder | undefined;
  const inProfiles = new Map<string, Set<string>>();
  return {
    runtimes: {
      runtimeFor: (target) => (builder ??= new RuntimeBuilder(store, options.log)).runtime({ plugins: (pluginsOf.get(target) ?? []).map((p) => p.dir) }),
      localPluginsFor: (target) => (pluginsOf.get(target) ?? []).map((p) => p.dir),
    },
    unresolved,
    check(answers) {
      const problems: string[] = [];
      const lookedFor = new Set<string>();
      for (const [target, types] of unresolved) {
        const answer = answers.get(target);
        if (answer === undefined) continue;
        inProfiles.set(target, new Set(answer.profileModules));
        for (const type of types) {
          if (answer.profileModules.includes(type) || shipped.get(target)?.has(type)) continue;
          const suggestion = didYouMean(type, [...installedTypes, ...answer.profileModules, ...(shipped.get(target)?.keys() ?? [])]);
          for (const m of byTarget.get(target)!.filter((m) => m.type === type)) problems.push(`service "${m.service}" (type "${type}"${suggestion}) on target "${target}"`);
          for (const place of typePlugins.searched(type)) lookedFor.add(place);
          lookedFor.add(`modules for "${type}" in the profiles of target "${target}" (${MODULE_DIRS.map((d) => `PROFILE/${d}/${type}`).join(', ')})`);
          lookedFor.add(`modules for "${type}" shipped by the components deployed to target "${target}"`);
        }
      }
      if (problems.length === 0) return;
      throw new DysnomiaError(
        'ERR_DYSNOMIA_MODULE_NOT_FOUND',
        `no plugin or module serves the type of:\n${problems.map((p) => `  - ${p}`).join('\n')}\nLooked in:\n${[...lookedFor].map((p) => `  - ${p}`).join('\n')}\n` +
          'Install a plugin for the type here (npm install dysnomia-plugin-TYPE, in the models\' folder or beside the engine): deploy sends it to the targets that need it. ' +
          'Nothing was sent or locked.',
      );
    },
    moduleEntry(target, type) {
      if (!unresolved.get(target)?.includes(type) || inProfiles.get(target)?.has(type)) return undefined;
      return shipped.get(target)?.get(type);
    },
  };
}
