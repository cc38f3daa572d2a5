import type { QueryAnswer } from '@dysnomia/engine/internal/agent/protocol.js';
import { loadConfig } from '@dysnomia/engine/internal/config.js';
import { EXIT_OPERATION_FAILED, usageError as usage } from '@dysnomia/engine/internal/errors.js';
import { parseOptions } from '@dysnomia/engine/internal/cli/run-cli.js';
import { chooseStateDir } from '@dysnomia/engine/internal/state-dir.js';
import { Store } from '@dysnomia/engine/internal/store/store.js';
import { answerWith, askEveryTarget } from '../deploy/ask-every-target.js';
import { quietReporter, terminalReporter } from '../deploy/progress.js';
import type { LayeredDeployment } from '../deploy/layered.js';
import type { Manifest } from '../deploy/manifests.js';
import { stateBackendFor } from '../deploy/state/open-state.js';
import { loadInfrastructure } from '../models/infrastructure.js';
import { queryReport, reportJson, reportNix, reportText } from '../query/query-report.js';
import { TARGET_OPTIONS, TARGET_OPTIONS_HELP, targetSettingsFrom, profileOption } from './target-options.js';

export const HELP = `Usage: dysnomia query -i INFRASTRUCTURE [-p PROFILE] [--format text|json|nix]

Asks every target of INFRASTRUCTURE what it runs, as disnix-query does: per
profile, the services (their type, container and component) and the packages
of the profile's current generation on that target, and the engine, runtime
and plugin versions the target has. The answer comes from the targets' own
records, not from this machine's: a deployment made from another coordinator
shows too. A profile that is a layer of a layered deployment recorded here
(a layers model deployed from here) says which layer. Container properties are not shown (they may hold passwords).
A target lacking the engine gets it installed first, as deploy does.

Options:
${TARGET_OPTIONS_HELP}  -p, --profile=NAME         Only this profile (default: every profile a
                             target has)
      --format=text|json|nix What to print (default: text). JSON has a
                             "version" field that changes only when a field
                             changes meaning or goes away
      --json                 The same as --format=json
      --debug                Show stack traces
  -h, --help                 Show this help

Exit status: 0 every target answered; 1 a target could not be reached or
asked (the message names it; the others are still printed); 2 bad usage or a
bad model (the message names the file and line).
`;

export const OPTIONS = {
  ...TARGET_OPTIONS,
  profile: { type: 'string', short: 'p' },
  format: { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FORMATS = ['text', 'json', 'nix'] as const;


/** Which profile is which layer, in the layered deployments recorded here (none when the state cannot be read). */
async function recordedLayers(config: Awaited<ReturnType<typeof loadConfig>>): Promise<Map<string, { name: string; of: string }>> {
  const layers = new Map<string, { name: string; of: string }>();
  const state = stateBackendFor(config, chooseStateDir(config.stateDir));
  try {
    for (const profile of await state.profiles()) {
      const current = (await state.records(profile).current()) as (Manifest & Partial<LayeredDeployment>) | undefined;
      for (const layer of current?.layers ?? []) layers.set(layer.profile, { name: layer.name, of: profile });
    }
  } catch {
    // The targets' answer stands without it.
  } finally {
    await state.close();
  }
  return layers;
}

const checkQuery = answerWith('query', 'profiles', Array.isArray);

export async function queryCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.infrastructure === undefined) throw usage('no infrastructure model: pass -i INFRASTRUCTURE');
  const format = values.format ?? (values.json ? 'json' : 'text');
  if (!(FORMATS as readonly string[]).includes(format)) throw usage(`--format takes ${FORMATS.join(', ')}, not '${format}'`);
  if (values.json && format !== 'json') throw usage(`--json prints JSON: it goes without --format=${format}`);
  const profile = profileOption(values.profile, undefined);
  const settings = targetSettingsFrom(values);
  const infrastructure = await loadInfrastructure(values.infrastructure);
  const config = await loadConfig(process.cwd());
  const reporter = process.stderr.isTTY && format === 'text' ? terminalReporter(process.stderr) : quietReporter;
  let result;
  try {
    result = await askEveryTarget(
      {
        ...settings,
        infrastructure,
        store: Store.at(chooseStateDir(config.stateDir)),
        reporter,
        log: (message) => process.stderr.write(`dysnomia: ${message}\n`),
        ...(values.debug ? { debug: true } : {}),
      },
      { kind: 'query', ...(profile !== undefined ? { profile } : {}) },
      checkQuery,
      { readOnly: true, doing: 'asking what it runs' },
    );
  } finally {
    reporter.finish();
  }
  const report = queryReport(Object.keys(infrastructure), result.answers as Map<string, QueryAnswer>, profile, await recordedLayers(config));
  process.stdout.write(format === 'json' ? reportJson(report) : format === 'nix' ? reportNix(report) : reportText(report));
  for (const message of result.failed.values()) process.stderr.write(`dysnomia: error: ${message}\n`);
  return result.failed.size > 0 ? EXIT_OPERATION_FAILED : 0;
}
