import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED, usageError as usage } from '@dysnomia/engine/internal/errors.js';
import { loadDistribution } from '../models/distribution.js';
import { loadInfrastructure } from '../models/infrastructure.js';
import { loadServices } from '../models/services.js';
import { deploymentGraph } from '../visualize/deployment-graph.js';
import type { DeploymentGraph } from '../visualize/deployment-graph.js';
import { recordedGraph } from '../visualize/recorded-graph.js';
import type { RecordedLayer } from '../visualize/recorded-graph.js';
import type { DeployedMapping } from '../deploy/deployment.js';
import { stateBackendFor } from '../deploy/state/open-state.js';
import { loadConfig } from '@dysnomia/engine/internal/config.js';
import { assertProfileName } from '@dysnomia/engine/internal/profiles/names.js';
import { chooseStateDir } from '@dysnomia/engine/internal/state-dir.js';
import { Store } from '@dysnomia/engine/internal/store/store.js';
import { toDot } from '../visualize/dot.js';
import { renderSvg } from '../visualize/render-svg.js';
import { writeFileAtomic } from '@dysnomia/engine/internal/write-file-atomic.js';
import { parseOptions } from '@dysnomia/engine/internal/cli/run-cli.js';

export const HELP = `Usage: dysnomia visualize -s SERVICES -i INFRASTRUCTURE -d DISTRIBUTION [OPTION]...
  or:  dysnomia visualize -p PROFILE [-p PROFILE]... [OPTION]...
  or:  dysnomia visualize --layers [-p PROFILE]... [OPTION]...

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

With -p PROFILE (no models needed), the picture is the deployment recorded
for the profile on this machine (its current generation): arrows are the
activation order the record keeps (dependsOn and activatesAfter; connectsTo
is not recorded). Several -p, or --layers, draw several profiles in one
picture, each service naming its layer, and a bold blue arrow from each
service that provides a container (providesContainers, or an
etc/dysnomia/containers file in its component) to that container, so the
containers a lower layer provides are linked to the services deployed in
them. --layers without -p draws every profile recorded here, providers
first. A container with nothing in it is drawn dashed, marked "(empty)".

Models (JS with a default export, TS, JSON or YAML), as for dysnomia deploy:
  -s, --services=FILE        The services model
  -i, --infrastructure=FILE  The infrastructure model
  -d, --distribution=FILE    The distribution model

Recorded deployments (instead of models):
  -p, --profile=NAME         A profile's recorded deployment (repeatable)
      --layers               Several profiles in one picture (default: every
                             profile recorded here)

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
  profile: { type: 'string', short: 'p', multiple: true },
  layers: { type: 'boolean' },
  format: { type: 'string', short: 'f' },
  output: { type: 'string', short: 'o' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FORMATS = ['dot', 'svg'] as const;
type Format = (typeof FORMATS)[number];


export async function visualizeCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const recorded = values.profile !== undefined || values.layers === true;
  const modelOptions = (['services', 'infrastructure', 'distribution'] as const).filter((name) => values[name] !== undefined);
  if (recorded && modelOptions.length > 0) throw usage(`-p/--layers draw recorded deployments: they go without --${modelOptions[0]}`);
  if (!recorded) {
    if (values.services === undefined) throw usage('no services model: pass -s SERVICES (or -p PROFILE for a recorded deployment)');
    if (values.infrastructure === undefined) throw usage('no infrastructure model: pass -i INFRASTRUCTURE');
    if (values.distribution === undefined) throw usage('no distribution model: pass -d DISTRIBUTION');
  }
  const format = values.format ?? 'dot';
  if (!(FORMATS as readonly string[]).includes(format)) throw usage(`--format takes dot or svg, not '${format}'`);
  if (values.output !== undefined) await assertWritablePlace(values.output);

  let graph: DeploymentGraph;
  if (recorded) {
    graph = await recordedPicture(values.profile ?? [], values.layers === true);
  } else {
    const infrastructure = await loadInfrastructure(values.infrastructure!);
    const distribution = await loadDistribution(values.distribution!, infrastructure);
    const services = await loadServices(values.services!, infrastructure, distribution);
    graph = deploymentGraph(infrastructure, services);
  }
  const dot = toDot(graph);
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

/** The recorded deployments of the profiles (all recorded here with --layers and none named), as one graph. */
async function recordedPicture(named: string[], layers: boolean): Promise<DeploymentGraph> {
  for (const profile of named) {
    try {
      assertProfileName(profile);
    } catch (error) {
      throw usage(`--profile: ${(error as Error).message}`);
    }
  }
  const config = await loadConfig(process.cwd());
  const stateDir = chooseStateDir(config.stateDir);
  const state = stateBackendFor(config, stateDir);
  try {
    const known = await state.profiles();
    const profiles = named.length > 0 ? named : layers ? known : [];
    const recorded: RecordedLayer[] = [];
    for (const profile of profiles) {
      const manifest = await state.records(profile).current();
      if (manifest === undefined) throw usage(`--profile ${profile}: no deployment of it is recorded in ${state.description} (recorded: ${known.join(', ') || 'none'})`);
      recorded.push({ profile, deployment: manifest });
    }
    if (recorded.length === 0) throw usage(`--layers: no deployment is recorded in ${state.description}`);
    const store = Store.at(stateDir);
    return await recordedGraph(named.length > 0 ? recorded : providersFirst(recorded), (m) => providedContainers(store, m));
  } finally {
    await state.close();
  }
}

/** What a mapping provides: as recorded, else the container files its component ships (a record older than that field). */
async function providedContainers(store: Store, m: DeployedMapping): Promise<string[]> {
  if (m.providesContainers !== undefined) return m.providesContainers;
  const names = await readdir(path.join(store.path(m.entry), 'etc/dysnomia/containers')).catch(() => [] as string[]);
  return names.filter((name) => !name.startsWith('.')).map((name) => name.replace(/\.json$/, '')).sort();
}

/** Layers ordered so that a profile providing containers another deploys into comes before it (else by name). */
function providersFirst(layers: RecordedLayer[]): RecordedLayer[] {
  const provides = (layer: RecordedLayer) => new Set(layer.deployment.mappings.flatMap((m) => (m.providesContainers ?? []).map((c) => `${m.target}\0${c}`)));
  const uses = (layer: RecordedLayer) => new Set(layer.deployment.mappings.map((m) => `${m.target}\0${m.container}`));
  const left = [...layers].sort((a, b) => (a.profile < b.profile ? -1 : 1));
  const ordered: RecordedLayer[] = [];
  while (left.length > 0) {
    // The first layer no remaining layer provides for; a cycle takes the first by name.
    const next = left.find((layer) => left.every((other) => other === layer || ![...uses(layer)].some((place) => provides(other).has(place)))) ?? left[0]!;
    ordered.push(next);
    left.splice(left.indexOf(next), 1);
  }
  return ordered;
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
