import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DysnomiaError } from '../errors.js';
import { pluginName, pluginTemplate } from '../init/plugin-template.js';
import { PROJECT_MODELS, PROJECT_OUTPUT_DIR, projectTemplate } from '../init/project-template.js';
import { writeTemplate } from '../init/template-files.js';
import type { TemplateFile } from '../init/template-files.js';
import { shellQuote } from '../shell-quote.js';
import { parseOptions } from './run-cli.js';

export const HELP = `Usage: dysnomia init [--force]
  or:  dysnomia init --plugin NAME [--force]

Without --plugin: writes, into the working folder, a small commented
deployment to this machine as it is: the services, infrastructure and
distribution models (${PROJECT_MODELS.services}, ${PROJECT_MODELS.infrastructure}, ${PROJECT_MODELS.distribution}), a
dysnomia.config.mjs, and two wrapper services (services/greeting,
services/card, which depends on it) that write files into ${PROJECT_OUTPUT_DIR}/. The
target is local (no SSH) and keeps its state in .dysnomia/ inside the folder.
Then prints the dysnomia deploy command that deploys it, and the one that
undeploys it.

With --plugin NAME: writes a TypeScript plugin package for type NAME into a
new folder dysnomia-plugin-NAME (for @SCOPE/NAME: the package
@SCOPE/dysnomia-plugin-NAME): package.json, tsconfig.json, src/index.ts (the
plugin), test/plugin.test.js (runs it through the engine with node --test) and
README.md. npm install, then npm test builds and tests it.

Nothing is written when any of the files is already there, unless --force.

Options:
      --plugin=NAME  Write a plugin package for type NAME instead
      --force        Overwrite the files that are already there
      --debug        Show stack traces
  -h, --help         Show this help

Exit status: 0 written; 1 a file could not be written; 2 bad usage, or files
already there (nothing written).
`;

export const OPTIONS = {
  plugin: { type: 'string' },
  force: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function initCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const overwrite = values.force ?? false;
  if (values.plugin !== undefined) {
    const name = pluginName(values.plugin);
    const dir = path.resolve(name.folder);
    await write(dir, pluginTemplate(name), overwrite);
    process.stdout.write(
      `Wrote the plugin package ${name.packageName} (type "${name.type}") in ${dir}. Build and test it:\n` +
        `  cd ${shellQuote(name.folder)}\n  npm install\n  npm test\n`,
    );
    return 0;
  }
  const dir = process.cwd();
  await write(dir, projectTemplate(), overwrite);
  const { services, infrastructure, distribution } = PROJECT_MODELS;
  const dysnomia = installedIn(dir) ? 'npx dysnomia' : 'dysnomia';
  process.stdout.write(
    `Wrote a deployment to this machine in ${dir}. Deploy it (run from this folder):\n` +
      `  ${dysnomia} deploy -s ${services} -i ${infrastructure} -d ${distribution}\n` +
      `then look at ${PROJECT_OUTPUT_DIR}/greeting.txt and ${PROJECT_OUTPUT_DIR}/card.txt. Undeploy it:\n` +
      `  ${dysnomia} deploy --undeploy\n`,
  );
  return 0;
}

/** Whether this engine is the project's own (npm install in `dir`): then `dysnomia` is not on PATH, and npx runs it. */
function installedIn(dir: string): boolean {
  return fileURLToPath(import.meta.url).startsWith(path.join(dir, 'node_modules') + path.sep);
}

async function write(dir: string, files: TemplateFile[], overwrite: boolean): Promise<void> {
  try {
    await writeTemplate(dir, files, { overwrite });
  } catch (error) {
    if (error instanceof DysnomiaError) throw error;
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `cannot write into ${dir}: ${(error as Error).message}`, { exitCode: 1, cause: error });
  }
}
