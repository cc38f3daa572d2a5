import { loadConfig } from '../config.js';
import { Engine, loadListedPlugin } from '../engine.js';
import type { PluginSource } from '../modules/load-plugin.js';
import { discoverModules } from '../modules/discover.js';
import type { BrokenListing } from '../modules/discover.js';
import { DysnomiaError } from '../errors.js';
import { ENGINE_API_VERSION } from '../version.js';
import { parseOptions } from './run-cli.js';

export const HELP = `Usage: dysnomia plugins [--json] [--config FILE] [--debug]

Lists every module this engine can find, in the order types are resolved:
DYSNOMIA_MODULES_PATH and the config's modulesPath, installed profiles, the
config's "plugins", then npm packages (@dysnomia/plugin-*, dysnomia-plugin-*,
@scope/dysnomia-plugin-*, or keyword dysnomia-plugin) visible from the config's
folder, the working folder and the engine's own install.

For each: its type, kind (plugin or executable), version, the engine API range
it asks for and whether this engine (plugin API ${ENGINE_API_VERSION}) satisfies it, and where
it was found. STATUS says which module --type TYPE uses ("active"), or finds
and refuses ("incompatible"); a module behind an earlier one for the same type
is "shadowed"; a package named otherwise than @dysnomia/plugin-TYPE or
dysnomia-plugin-TYPE is used only when the config's "plugins" lists it; "error"
means it cannot be used, and LOCATION says why.

Options:
      --json         Print the list as JSON
      --config=FILE  Use this config file instead of searching for one
      --debug        Show stack traces
  -h, --help         Show this help
`;

export const OPTIONS = {
  json: { type: 'boolean' },
  config: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function pluginsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, true);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `unexpected argument "${positionals[0]}"`);
  // The listed plugins are loaded here, one by one, so a missing or broken one is reported, not fatal.
  const config = await loadConfig(process.cwd(), values.config);
  const engine = await Engine.create({ config: { ...config, plugins: [] } });
  const listed: PluginSource[] = [];
  const broken: BrokenListing[] = [];
  for (const entry of config.plugins) {
    await loadListedPlugin(entry, engine.npmDirs).then(
      (source) => listed.push(source),
      (error: unknown) => broken.push({ entry, error: (error as Error).message }),
    );
  }
  const modules = await discoverModules(engine, listed, broken);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(modules, null, 2)}\n`);
    return 0;
  }
  const rows = modules.map((m) => [
    m.type ?? '?',
    m.kind,
    m.version ?? '-',
    m.kind === 'executable' ? 'yes' : m.engineRange === undefined ? '-' : m.compatible ? `yes (${m.engineRange})` : `NO (needs ${m.engineRange})`,
    m.status === 'unlisted' ? 'list it in the config "plugins"' : m.status,
    m.foundBy,
    m.error ? `${m.location}: ${m.error}` : m.location,
  ]);
  const header = ['TYPE', 'KIND', 'VERSION', 'COMPATIBLE', 'STATUS', 'FOUND BY', 'LOCATION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (row: string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  process.stdout.write(`${[header, ...rows].map(format).join('\n')}\n`);
  if (modules.length === 0) process.stdout.write('No modules found. Install a plugin, for example: npm install @dysnomia/plugin-wrapper\n');
  return 0;
}
