/**
 * A module resolve hook (node:module register): a plugin loaded from a path
 * outside any npm install (a module a component or profile ships in the
 * store, a --type path) imports `@dysnomia/engine` like any plugin, and Node
 * finds no package of that name above it. Only then does this hook answer
 * with the engine that is running, so the plugin gets the very engine that
 * loads it; every import Node resolves by itself is left as it is.
 */
interface HookData {
  /** `@dysnomia/engine` and its subpath exports → the running engine's file URLs. */
  exports: Record<string, string>;
}

let exportsMap: Record<string, string> = {};

export function initialize(data: HookData): void {
  exportsMap = data.exports;
}

type NextResolve = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, nextResolve: NextResolve): Promise<{ url: string; shortCircuit?: boolean }> {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const url = exportsMap[specifier];
    if (url !== undefined && (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return { url, shortCircuit: true };
    throw error;
  }
}
