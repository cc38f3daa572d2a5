import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import { loadDistribution } from '../models/distribution.js';
import { loadInfrastructure } from '../models/infrastructure.js';
import { loadServices } from '../models/services.js';
import { deploymentGraph } from '../visualize/deployment-graph.js';
import { toDot } from '../visualize/dot.js';
import { renderSvg } from '../visualize/render-svg.js';
import { writeFileAtomic } from '@dysnomia/engine/internal/write-file-atomic.js';
import { parseOptions } from '@dysnomia/engine/internal/cli/run-cli.js';

export const HELP = `Usage: dysnomia visualize -s SERVICES -i INFRASTRUCTURE -d DISTRIBUTION [OPTION]...

Draws the deployment architecture of the models as a Graphviz graph: a box
per target (its name and address), in it a box per container (declared in
the infrastructure model, used by a mapping, or provided by a service mapped
there: "provided by SERVICE"), in that a node per service mapped there (its
name and type). A service that provides containers has a double border.
Arrows go from each mapping of a service to the mappings of the services it
uses: solid for dependsOn, dashed for connectsTo, dotted for activatesAfter.
A greyed, dashed node is a place only a dependency's narrowed targets name
(the distribution does not map the service there).

The models are evaluated (JS functions included) but nothing is built: pkg
and pkg functions are not looked at. Output is sorted, so the same models
give the same graph.

Models (JS with a default export, TS, JSON or YAML), as for dysnomia deploy:
  -s, --services=FILE        The services model
  -i, --infrastructure=FILE  The infrastructure model
  -d, --distribution=FILE    The distribution model

Options:
  -f, --format=FORMAT        dot (default): the DOT text; svg: drawn by
                             Graphviz's "dot -Tsvg", found on PATH (to get
                             it: apt-get install graphviz)
  -o, --output=FILE          Write to FILE (replaced whole, never half-written)
                             instead of standard output
      --debug                Show stack traces
  -h, --help                 Show this help

Examples:
  dysnomia visualize -s services.js -i infrastructure.js -d distribution.js | dot -Tpng > deployment.png
  dysnomia visualize -s services.js -i infrastructure.js -d distribution.js --format svg -o deployment.svg

Exit status: 0 success; 1 Graphviz is missing or failed, or FILE could not be
written; 2 bad usage or a bad model (the message names the file and line).
`;

export const OPTIONS = {
  services: { type: 'string', short: 's' },
  infrastructure: { type: 'string', short: 'i' },
  distribution: { type: 'string', short: 'd' },
  format: { type: 'string', short: 'f' },
  output: { type: 'string', short: 'o' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FORMATS = ['dot', 'svg'] as const;
type Format = (typeof FORMATS)[number];

function usage(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_USAGE', message);
}

export async function visualizeCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.services === undefined) throw usage('no services model: pass -s SERVICES');
  if (values.infrastructure === undefined) throw usage('no infrastructure model: pass -i INFRASTRUCTURE');
  if (values.distribution === undefined) throw usage('no distribution model: pass -d DISTRIBUTION');
  const format = values.format ?? 'dot';
  if (!(FORMATS as readonly string[]).includes(format)) throw usage(`--format takes dot or svg, not '${format}'`);
  if (values.output !== undefined) await assertWritablePlace(values.output);

  const infrastructure = await loadInfrastructure(values.infrastructure);
  const distribution = await loadDistribution(values.distribution, infrastructure);
  const services = await loadServices(values.services, infrastructure, distribution);
  const dot = toDot(deploymentGraph(infrastructure, services));
  const text = (format as Format) === 'svg' ? await renderSvg(dot) : dot;

  if (values.output === undefined) {
    process.stdout.write(text);
    return 0;
  }
  try {
    await writeFileAtomic(values.output, text);
  } catch (error) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `--output ${values.output}: cannot write: ${(error as Error).message}`, { exitCode: EXIT_OPERATION_FAILED });
  }
  return 0;
}

/** --output names a file in an existing folder: checked before the models are evaluated. */
async function assertWritablePlace(file: string): Promise<void> {
  if (file === '') throw usage('--output needs a file name');
  const folder = path.dirname(path.resolve(file));
  const folderStat = await stat(folder).catch(() => undefined);
  if (folderStat === undefined || !folderStat.isDirectory()) throw usage(`--output ${file}: no folder ${folder}`);
  const fileStat = await stat(file).catch(() => undefined);
  if (fileStat?.isDirectory()) throw usage(`--output ${file}: is a folder; name a file`);
}
