import { stat } from 'node:fs/promises';
import path from 'node:path';
import { captureInfrastructure } from '../capture/capture-infrastructure.js';
import { toJson, toNix } from '../capture/print-model.js';
import { describeHeldBack, holdBackSecrets } from '../capture/secrets.js';
import { writeFileAtomic } from '@dysnomia/engine/internal/write-file-atomic.js';
import { loadConfig } from '@dysnomia/engine/internal/config.js';
import { quietReporter, terminalReporter } from '../deploy/progress.js';
import { DysnomiaError, EXIT_OPERATION_FAILED, usageError as usage } from '@dysnomia/engine/internal/errors.js';
import { loadInfrastructure } from '../models/infrastructure.js';
import { chooseStateDir } from '@dysnomia/engine/internal/state-dir.js';
import { Store } from '@dysnomia/engine/internal/store/store.js';
import { MANY_TARGETS_OPTIONS, MANY_TARGETS_OPTIONS_HELP, targetSettingsFrom } from './target-options.js';
import { parseOptions } from '@dysnomia/engine/internal/cli/run-cli.js';

export const HELP = `Usage: dysnomia capture-infra -i INFRASTRUCTURE [OPTION]...

Connects to every target of INFRASTRUCTURE (installing the engine on a
target that lacks it, as deploy does), asks each what it offers and prints
one infrastructure model that "dysnomia deploy -i" can use, as
disnix-capture-infra does. For each target:
  properties   the model's properties (its SSH settings kept) with the
               target's own properties file over them
  containers   every container the target has (DYSNOMIA_CONTAINERS_PATH,
               containersPath of its config, containers provided by its
               installed profiles, /etc/dysnomia/containers), the model's
               containers under them, plus process and wrapper
  system       the target's, else the model's

Secrets (properties named like password, passwd, secret, token, private
key, credential) are left out unless --show-secrets; standard error names
each one left out. A deployment from the captured model still gets them:
the target's own container file of the same name supplies them.

Options:
  -i, --infrastructure=FILE  The (bootstrap) infrastructure model
      --format=json|nix      What to print (default: json)
      --json                 The same as --format=json
      --show-secrets         Include secret properties
  -o, --output=FILE          Write the model to FILE (atomically; mode 0600
                             with secrets, else 0644) instead of printing it
${MANY_TARGETS_OPTIONS_HELP}      --debug                Show stack traces
  -h, --help                 Show this help

Exit status: 0 success; 1 a target could not be reached or described (the
message names it; nothing is printed); 2 bad usage or a bad model (the
message names the file and line).
`;

const OPTIONS = {
  infrastructure: { type: 'string', short: 'i' },
  format: { type: 'string' },
  json: { type: 'boolean' },
  'show-secrets': { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  ...MANY_TARGETS_OPTIONS,
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;


export async function captureInfraCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.infrastructure === undefined) throw usage('no infrastructure model: pass -i INFRASTRUCTURE');
  const format = values.format ?? 'json';
  if (format !== 'json' && format !== 'nix') throw usage(`--format takes json or nix, not '${format}'`);
  if (values.json && format !== 'json') throw usage('--json prints JSON: it goes without --format=nix');
  const settings = targetSettingsFrom(values);
  const output = values.output === undefined ? undefined : path.resolve(values.output);
  if (output !== undefined) await checkOutputFolder(output, values.output!);

  const infrastructure = await loadInfrastructure(values.infrastructure);
  const config = await loadConfig(process.cwd());
  const reporter = process.stderr.isTTY && !values.json ? terminalReporter(process.stderr) : quietReporter;
  let result;
  try {
    result = await captureInfrastructure({
      infrastructure,
      store: Store.at(chooseStateDir(config.stateDir)),
      reporter,
      ...settings,
      log: (message) => process.stderr.write(`dysnomia: ${message}\n`),
    });
  } finally {
    reporter.finish();
  }
  if (result.model === undefined) {
    for (const message of result.failed.values()) process.stderr.write(`dysnomia: error: ${message}\n`);
    process.stderr.write('dysnomia: nothing captured: every target must answer for a complete model\n');
    return EXIT_OPERATION_FAILED;
  }

  const showSecrets = values['show-secrets'] === true;
  const { model, heldBack } = showSecrets ? { model: result.model, heldBack: [] } : holdBackSecrets(result.model);
  if (heldBack.length > 0) {
    const lines = describeHeldBack(heldBack).map((line) => `  ${line}\n`).join('');
    process.stderr.write(
      `dysnomia: left out ${heldBack.length} secret ${heldBack.length === 1 ? 'property' : 'properties'} (names only; a deployment still gets them from the target's own container files):\n${lines}` +
        `dysnomia: pass --show-secrets to include them (with --output the file is then made mode 0600)\n`,
    );
  }
  const text = format === 'nix' ? toNix(model) : toJson(model);
  if (output === undefined) {
    process.stdout.write(text);
    return 0;
  }
  const hasSecrets = showSecrets && holdBackSecrets(result.model).heldBack.length > 0;
  try {
    await writeFileAtomic(output, text, hasSecrets ? 0o600 : 0o644);
  } catch (error) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `cannot write ${values.output}: ${(error as Error).message}`, { exitCode: EXIT_OPERATION_FAILED, cause: error });
  }
  if (process.stderr.isTTY) process.stderr.write(`dysnomia: wrote ${values.output}${hasSecrets ? ' (mode 0600: it holds secrets)' : ''}\n`);
  return 0;
}

/** --output's folder must exist before any target is contacted. */
async function checkOutputFolder(file: string, given: string): Promise<void> {
  const folder = path.dirname(file);
  const isFolder = await stat(folder).then((s) => s.isDirectory(), () => false);
  if (!isFolder) throw usage(`--output ${given}: the folder ${folder} does not exist`);
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory()) throw usage(`--output ${given}: is a folder`);
}
