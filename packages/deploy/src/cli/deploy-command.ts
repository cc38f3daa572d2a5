import { loadConfig } from '@dysnomia/engine/internal/config.js';
import { usageError as usage } from '@dysnomia/engine/internal/errors.js';
import { deployPackages, modelDir, profileAction, stateOf } from '../deploy/deploy-packages.js';
import type { DeployOptions, DeployResult, ProfileAction } from '../deploy/deploy-packages.js';
import { jsonReporter, plainReporter, terminalReporter } from '../deploy/progress.js';
import { loadInfrastructure, MAX_CORES } from '../models/infrastructure.js';
import { loadDistribution } from '../models/distribution.js';
import { loadPackagesModel } from '../models/packages.js';
import { loadServices } from '../models/services.js';
import { parseExtraParams } from '../models/extra-params.js';
import type { ExtraParams } from '../models/extra-params.js';
import { deployHooksFor } from '../deploy/deploy-plugins.js';
import { TypePlugins } from '../deploy/type-plugins.js';
import { stateBackendFor } from '../deploy/state/open-state.js';
import type { DeploymentRecords } from '../deploy/state/state-backend.js';
import { runTransition } from '../deploy/orchestrator.js';
import { deployServices } from '../deploy/services-deployment.js';
import type { OrchestratorOptions } from '../deploy/orchestrator.js';
import { parseGenerationSelector } from '@dysnomia/engine/internal/profiles/profiles.js';
import { chooseStateDir } from '@dysnomia/engine/internal/state-dir.js';
import { Store } from '@dysnomia/engine/internal/store/store.js';
import { currentSystem } from '../models/system.js';
import { TIME_LIMIT_OPTIONS, TIME_LIMITS_HELP, timeLimitsFrom } from '../remote/time-limits.js';
import { countOption, parseOptions } from '@dysnomia/engine/internal/cli/run-cli.js';
import { profileOption } from './target-options.js';

export const DEFAULT_MAX_CONCURRENT_TRANSFERS = 4;
/** More targets at once than this is a typo, not a setting. */
export const MAX_CONCURRENT_TRANSFERS = 1000;

export const HELP = `Usage: dysnomia deploy -s SERVICES -i INFRASTRUCTURE -d DISTRIBUTION [OPTION]...
       dysnomia deploy -i INFRASTRUCTURE -P PACKAGES [OPTION]...
       dysnomia deploy --layers LAYERS -i INFRASTRUCTURE [OPTION]...
       dysnomia deploy [-p PROFILE] (--undeploy | --list-generations | --rollback
                       | --switch-to-generation=N | --delete-generations old|N...|Nd)
       dysnomia deploy -i INFRASTRUCTURE [-P PACKAGES] (--list-generations
                       | --rollback | --switch-to-generation=N | --delete-generations ...)

With -s and -d (the disnix-env job): builds every distributed service's
component here, then moves the targets from what they run to the new
deployment. Each target keeps its own record of what the profile runs on it,
so the transition starts from the targets' word, not from this machine's
record: a deploy interrupted at any point is finished by running it again.
The profile is locked here and on each target (a second deploy is refused,
naming the holder; a lock whose holder was a process of this machine that
is gone is broken, and said), every running service's lock operation is
asked, the targets get the store entries they lack (over SSH, or directly
for a local target; held there from a garbage collection, which a deploy
waits for, until the deploy ends), services no longer wanted are deactivated (dependants
first) and new ones activated (dependencies first, in parallel per target up
to its numOfCores, else its core count). A service's identity is its name,
type, component and its dependencies' identities, so a changed or moved
dependency redeploys its dependants. If any step fails, every operation of
the run is undone on every target that answers, and the message says which
step failed and what could not be undone.
Only after success does each target's profile switch (packages merged whole,
of other services only etc/: the containers and modules they provide) and the
deployment get recorded as the profile's next generation: in the state
folder (STATEDIR/deployments/PROFILE/N.json), or, with the config's
state: { backend: "postgres", url }, in PostgreSQL, shared with every
coordinator using that database (the profile's lock there too; see
dysnomia state --help). An identical redeploy touches nothing.

With --layers LAYERS (a layered system in one command): LAYERS lists the
layers, lowest first, each { name, services, distribution, profile? } (files
relative to LAYERS; the profile defaults to the name). Each layer is deployed
as above, as its own profile, and sees the infrastructure as the layers below
left it: the containers the machines now have (captured, as capture-infra
does, their profiles' included) plus those the lower layers' services declare
(providesContainers), so no infrastructure file is edited by hand. A service
in a container a lower layer provides is redeployed when that provider
changes or moves. A provider whose containers leave their target (moved
elsewhere, or gone) stays up until the layers above have moved out of it
(their deployState services' state is taken out of it first), then goes.
When a layer fails, its own transition is rolled back, then every other
layer this run changed goes back to its previous deployment, upper layers
first. The layered deployment is recorded as a generation of
--profile (default: layers): --list-generations, --rollback and
--switch-to-generation act on all layers at once (lowest first), --undeploy
undeploys them top down, --dry-run prints each layer's plan.

State moves with a service that says deployState: true (or of a stateful
type, with --deploy-state) when its mapping moves to another target or
container, as Disnix migrates it: after the old mapping is deactivated (its
data stays, as garbage) and the new one activated, the plugin's snapshot is
taken there, retrieved to this machine (STATEDIR/target-snapshots/TARGET,
only what it lacks), sent to the new target (only what that lacks) and
restored, before any dependant activates. A failure there rolls the transition back like any
other step; every snapshot stays where it was made and where it went. The
old state is deleted only with --delete-state, once the deployment is
recorded; otherwise it stays, marked as garbage, for a later collect-garbage.

Plugins the config lists take part through the orchestrator's hooks (the
plan, before and after each activation and deactivation, a failure, the
profiles switched, the record): one may refuse the plan, or fail a step,
which is then rolled back. @dysnomia/plugin-health-check is one: a service
with healthCheck: { url, status } or { port } counts only once it answers.

With -P (disnix-env -P): installs packages into a profile on each target; no
activation.

A target needs only sshd and Node.js 20.19+. Each gets a runtime made of
what is installed here (no npm, no network): the engine, the first-party
plugins beside it and the plugin of every type its services use, resolved
before anything is built or sent from the services model's folder, the
config's folder, the working folder and the engine's install (the config's
"plugins", @dysnomia/plugin-TYPE, dysnomia-plugin-TYPE,
@SCOPE/dysnomia-plugin-TYPE), one store entry per npm package, so an upgrade
sends only what changed. A type nothing serves (no plugin here, no module in
a profile on the target or in a component deployed with it) stops the
deployment before anything is sent or locked. What modules print on a target
is shown as TARGET: SERVICE: LINE (output events with --json).

Models (JS with a default export, TS, JSON or YAML):
  INFRASTRUCTURE  { test1: { properties: { hostname, sshPort?, sshUser?, sshKey?,
                  sshKnownHosts?, sshConfig?, sudo?, stateDir?, nodePath? },
                  containers?: { name: { props } }, system?, numOfCores?,
                  clientInterface? } }
                  A target is reached over SSH unless clientInterface is
                  "local" or its hostname is this machine (localhost,
                  127.0.0.1, ::1, the host name) with no ssh* or sudo
                  property. hostname may be a Host alias of the ssh config
                  (sshConfig, else ~/.ssh/config: HostName, Port, User,
                  IdentityFile, UserKnownHostsFile, ProxyJump); the ssh*
                  properties win over it. sudo: true runs everything there
                  through passwordless sudo (sudo -n) as root.
  SERVICES        { svc: { name?, pkg, type, dependsOn?, connectsTo?,
                  activatesAfter?, providesContainers?, deployState? } }, or a JS function
                  ({ distribution, invDistribution, system }) => ({ … }); pkg is
                  a folder, a tarball, npm:SPEC, component({ name, build(out) })
                  or a function of the dependsOn/connectsTo dependencies (each
                  with its targets' properties and container) returning one.
                  type "package" is only installed into the profile.
  DISTRIBUTION    { svc: ['test1', 'test2'], db: { targets: [{ target:
                  'test2', container: 'mysql-test' }] } }, or a JS function
                  ({ infrastructure }) => ({ svc: [infrastructure.test1] })
  PACKAGES        { test1: ['./pkgs/hello', 'pkg.tgz', 'npm:cowsay@1.6.0'] }
  Paths are relative to the model file.

Options:
  -s, --services=FILE        The services model (with -d and -i)
  -d, --distribution=FILE    The distribution model
  -i, --infrastructure=FILE  The infrastructure model
  -P, --packages=FILE        A packages model instead of services
      --layers=FILE          A layers model: several layers as one system
  -p, --profile=NAME         The profile (default: default; with --layers,
                             the layered deployment's record: layers)
      --dry-run              Build here and print the plan: what each target
                             lacks, what would be deactivated and activated,
                             where and in which order; change nothing
      --undeploy             Deactivate every service of the profile's
                             deployment and empty its profiles on the targets
      --max-concurrent-transfers=N
                             Targets worked on at once (default: ${DEFAULT_MAX_CONCURRENT_TRANSFERS})
      --max-concurrent-activations=N
                             Operations at once per target (default: the
                             target's numOfCores, else its core count)
      --build-on-targets     Build the build-function and npm: components on
                             the targets they go to (see below), not here
      --no-lock              Do not ask the services to lock and unlock
                             during the transition (the profile locks are
                             still taken)
      --no-upgrade           Do not compute a transition from what the
                             targets run: deactivate nothing, activate every
                             mapping of the new deployment
      --no-target-profiles   Leave the profiles on the targets as they are
      --extra-params=JSON    A JSON object handed to every model that is a
                             function (infrastructure, distribution, services,
                             packages), beside its own arguments (which win
                             on a clash), as Disnix's --extra-params
      --deploy-state         Every service of a stateful type (its plugin
                             says so, e.g. mysql-database; or a module only
                             the target has) whose deployState is not false
                             carries its state when its mapping moves (as if
                             deployState: true)
      --delete-state         Once the deployment is in place and recorded,
                             delete the state the moved (or removed)
                             deployState services left behind (the plugin's
                             collect-garbage there; their snapshots stay)
      --no-migration         Move no state, whatever deployState says
      --break-stale-lock     Also break a profile lock whose holder cannot be
                             checked from here (another machine's); one whose
                             holder is a process of this machine that is gone
                             is broken anyway
      --accept-new-host-keys Trust and record the key of a host not yet in
                             known_hosts (a changed key is always refused)
      --known-hosts=FILE     known_hosts file for targets without an
                             sshKnownHosts property (default: the ssh
                             config's UserKnownHostsFile, else
                             ~/.ssh/known_hosts)
${TIME_LIMITS_HELP}      --json                 Print one JSON event per line ({"v":1,"event":…})
                             and nothing else on standard output
      --debug                Show stack traces, and the modules' debug lines
                             from the targets
  -h, --help                 Show this help

Generations. Without -i (or with -s and -d), on the recorded deployments of
the profile; with -i (and -P), on the profile of each target:
      --list-generations     List the generations
      --rollback             Go back to the previous generation (for
                             deployments: a transition to it)
      --switch-to-generation=N
                             Go to generation N
      --delete-generations   With old, generation numbers or Nd (days): delete
                             those generations (never the current one)

Building on the targets (disnix-env --build-on-targets): components made
by a build function (component({ name, inputs, build })) or from npm:SPEC are
built on a target the service goes to, with its Node and toolchain (a native
addon, say), then copied into this machine's store and deployed as usual. A
target whose system (its "system" property, e.g. aarch64-linux; default this
machine's, ${currentSystem()}) differs from this machine's gets such builds
without the option (the first target of a system builds for all of them);
one build cannot serve targets of two systems. A build
function travels as its source text with its inputs, so it must be
self-contained: no variables from around it, modules imported inside it with
await import(); one that is not fails naming the component (exit status 2),
before anything is activated. For npm:, this machine packs the package and the
tarball travels; the target installs it with npm's cache only (no registry),
so its dependencies must be bundled or cached there. The build's output is
shown as TARGET: SERVICE: LINE; the result counts as built (also with --dry-run).

Environment:
  DYSNOMIA_STATEDIR  This machine's state folder: its store, the recorded
                     deployments and locks (default: the config's stateDir,
                     else /var/state/dysnomia for root, ~/.dysnomia otherwise)
  PGPASSFILE, PGPASSWORD  The password of the PostgreSQL state backend (else
                     ~/.pgpass); never in the config or on the command line
  SSH_AUTH_SOCK      An ssh-agent to authenticate with

Exit status: 0 success; 1 a target or a step failed (the message names it),
or the profile is locked; 2 bad usage or a bad model (the message names the
file and line).
`;

export const OPTIONS = {
  infrastructure: { type: 'string', short: 'i' },
  packages: { type: 'string', short: 'P' },
  services: { type: 'string', short: 's' },
  distribution: { type: 'string', short: 'd' },
  layers: { type: 'string' },
  profile: { type: 'string', short: 'p' },
  'dry-run': { type: 'boolean' },
  'max-concurrent-transfers': { type: 'string' },
  'accept-new-host-keys': { type: 'boolean' },
  'known-hosts': { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'list-generations': { type: 'boolean' },
  rollback: { type: 'boolean' },
  'switch-to-generation': { type: 'string' },
  'delete-generations': { type: 'boolean' },
  undeploy: { type: 'boolean' },
  'break-stale-lock': { type: 'boolean' },
  'max-concurrent-activations': { type: 'string' },
  'build-on-targets': { type: 'boolean' },
  'no-lock': { type: 'boolean' },
  'no-upgrade': { type: 'boolean' },
  'no-target-profiles': { type: 'boolean' },
  'extra-params': { type: 'string' },
  'deploy-state': { type: 'boolean' },
  'delete-state': { type: 'boolean' },
  'no-migration': { type: 'boolean' },
  ...TIME_LIMIT_OPTIONS,
} as const;


export async function deployCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, true);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0 && !values['delete-generations']) throw usage(`unexpected argument "${positionals[0]}"`);
  const action = profileActionOf(values, positionals);
  const servicesMode = values.services !== undefined || values.distribution !== undefined;
  const layered = values.layers !== undefined;
  if (layered && (servicesMode || values.packages !== undefined)) throw usage(`--layers goes without ${servicesMode ? '-s and -d' : '-P'}: each layer names its own models`);
  if (layered && action === undefined && !values.undeploy && values.infrastructure === undefined) throw usage('--layers needs -i INFRASTRUCTURE');
  if (servicesMode && values.packages !== undefined) throw usage('-P PACKAGES goes without -s SERVICES and -d DISTRIBUTION: deploy either a packages model or services');
  if (values.services !== undefined && values.distribution === undefined) throw usage('-s SERVICES needs -d DISTRIBUTION');
  if (values.distribution !== undefined && values.services === undefined) throw usage('-d DISTRIBUTION needs -s SERVICES');
  if (values.undeploy && (action !== undefined || values.packages !== undefined)) throw usage(`--undeploy goes alone (with --profile), not with ${action ? `--${action.kind}` : '-P'}`);
  // The orchestrator: services models, or the recorded deployments of a profile (no -P, no -i given).
  const orchestrated = layered || servicesMode || values.undeploy === true || (values.infrastructure === undefined && values.packages === undefined && action !== undefined);
  if (!orchestrated && values.infrastructure === undefined) throw usage('no infrastructure model: pass -i INFRASTRUCTURE');
  if (servicesMode && values.infrastructure === undefined) throw usage('-s SERVICES and -d DISTRIBUTION need -i INFRASTRUCTURE');
  if (action === undefined && !orchestrated && values.packages === undefined) throw usage('no packages model: pass -P PACKAGES, or -s SERVICES -d DISTRIBUTION');
  if (values['no-migration'] && (values['deploy-state'] || values['delete-state'])) throw usage(`--no-migration moves no state: it goes without --${values['deploy-state'] ? 'deploy-state' : 'delete-state'}`);
  const stateOption = (['deploy-state', 'delete-state', 'no-migration'] as const).find((o) => values[o]);
  if (stateOption !== undefined && !orchestratedWith(values, action)) throw usage(`--${stateOption} goes with a services deployment (-s, -d), --rollback, --switch-to-generation or --undeploy`);
  if (action !== undefined && values['dry-run']) throw usage(`--dry-run goes with a deployment, not with --${action.kind}`);
  if (values['build-on-targets'] && (action !== undefined || values.undeploy)) throw usage(`--build-on-targets goes with a deployment, not with --${action?.kind ?? 'undeploy'}`);
  const transitionOnly = (['no-lock', 'no-upgrade', 'no-target-profiles'] as const).find((flag) => values[flag] === true);
  if (transitionOnly !== undefined && (!orchestrated || action?.kind === 'list-generations' || action?.kind === 'delete-generations')) {
    throw usage(`--${transitionOnly} goes with a deployment of services (-s and -d), --rollback, --switch-to-generation or --undeploy`);
  }
  const extraParams: ExtraParams = values['extra-params'] === undefined ? {} : parseExtraParams(values['extra-params']);
  if (values['extra-params'] !== undefined && !servicesMode && !layered && values.packages === undefined) throw usage('--extra-params is handed to the models: it goes with -s and -d, --layers, or -P');
  const profile = profileOption(values.profile, layered ? 'layers' : 'default');
  const limit = values['max-concurrent-transfers'] ?? String(DEFAULT_MAX_CONCURRENT_TRANSFERS);
  const maxConcurrent = countOption('max-concurrent-transfers', limit, MAX_CONCURRENT_TRANSFERS);
  const activations = values['max-concurrent-activations'];
  const activationsPerTarget = activations === undefined ? undefined : countOption('max-concurrent-activations', activations, MAX_CORES);

  const timeLimits = timeLimitsFrom(values);
  const config = await loadConfig(process.cwd());
  const reporter = values.json ? jsonReporter(process.stdout) : process.stdout.isTTY ? terminalReporter(process.stdout) : plainReporter(process.stdout);
  const stateDir = chooseStateDir(config.stateDir);
  const common = {
    store: Store.at(stateDir),
    // Deployment records and the coordinator's locks: the state folder's files, or PostgreSQL (config "state").
    state: stateBackendFor(config, stateDir),
    profile,
    reporter,
    maxConcurrent,
    acceptNewHostKeys: values['accept-new-host-keys'] === true,
    ...(values['known-hosts'] ? { knownHostsFile: values['known-hosts'] } : {}),
    timeLimits,
    breakStaleLock: values['break-stale-lock'] === true,
    cwd: modelDir(values.packages ?? values.services ?? values.layers ?? values.infrastructure ?? '.'),
    // Build logs (npm, build functions) go to stderr, so --json keeps stdout to events.
    log: (message: string) => process.stderr.write(`dysnomia: ${message}\n`),
    buildOnTargets: values['build-on-targets'] === true,
  };
  common.state.warmUp();
  let result: DeployResult;
  try {
    if (orchestrated) {
      const orchestration = {
        ...common,
        dryRun: values['dry-run'] === true,
        ...(activationsPerTarget ? { activationsPerTarget } : {}),
        typePlugins: new TypePlugins(config, values.services ? [modelDir(values.services)] : values.layers ? [modelDir(values.layers)] : []),
        // The config's plugins take part in the deployment through the orchestrator's hooks.
        hooks: await deployHooksFor(config, process.cwd()),
        debug: values.debug === true,
        noLock: values['no-lock'] === true,
        noUpgrade: values['no-upgrade'] === true,
        noTargetProfiles: values['no-target-profiles'] === true,
        migration: { enabled: values['no-migration'] !== true, deployStateAll: values['deploy-state'] === true, deleteState: values['delete-state'] === true },
      };
      result = await orchestrate(values, action, orchestration, extraParams);
    } else {
      const infrastructure = await loadInfrastructure(values.infrastructure!, extraParams);
      const packages = values.packages !== undefined ? await loadPackagesModel(values.packages, infrastructure, extraParams) : undefined;
      const options: DeployOptions = { ...common, infrastructure, targets: packages ? Object.keys(packages) : Object.keys(infrastructure) };
      result = action ? await profileAction(action, options) : await deployPackages(packages!, { ...options, dryRun: values['dry-run'] === true });
    }
  } finally {
    reporter.finish();
    await common.state.close();
  }
  // With --json the events carry the failures too; stderr says them to a person either way.
  for (const message of new Set(result.failed.values())) process.stderr.write(`dysnomia: error: ${message}\n`);
  return result.ok ? 0 : 1;
}

/** Whether the command runs a transition of the orchestrator (where state can move). */
function orchestratedWith(values: { services?: string; distribution?: string; undeploy?: boolean; infrastructure?: string; packages?: string }, action: ProfileAction | undefined): boolean {
  if (values.services !== undefined || values.undeploy === true) return true;
  return values.infrastructure === undefined && values.packages === undefined && (action?.kind === 'rollback' || action?.kind === 'switch-to-generation');
}

/** -s/-d deployments, --undeploy, and generation actions on the coordinator's recorded deployments. */
async function orchestrate(
  values: { infrastructure?: string; services?: string; distribution?: string; undeploy?: boolean; layers?: string },
  action: ProfileAction | undefined,
  options: OrchestratorOptions,
  extraParams: ExtraParams,
): Promise<DeployResult> {
  const manifests = stateOf(options).records(options.profile);
  // Layered deployments (and the capture between layers) are loaded only when asked for: a plain deploy starts faster.
  const layered = values.layers === undefined ? undefined : await import('../deploy/layered.js');
  const layers = layered === undefined ? undefined : await layered.loadLayers(values.layers!);
  const clash = layers?.find((layer) => layer.profile === options.profile);
  if (clash) throw usage(`--profile ${options.profile} records the layered deployment: layer ${clash.name} needs a profile of its own`);
  if (action?.kind === 'list-generations') return listDeployments(manifests, options);
  if (action?.kind === 'delete-generations') {
    const deleted = await manifests.delete(action.which);
    options.reporter.emit({ event: 'deleted', target: 'coordinator', profile: options.profile, generations: deleted });
    options.reporter.emit({ event: 'done', ok: true, failed: [] });
    return { ok: true, failed: new Map() };
  }
  if (action?.kind === 'rollback' || action?.kind === 'switch-to-generation') {
    const current = await manifests.currentGeneration();
    let generation: number;
    if (action.kind === 'rollback') {
      const earlier = (await manifests.generations()).filter((g) => current === undefined || g < current);
      if (earlier.length === 0) throw usage(`profile "${options.profile}" has no deployment before ${current === undefined ? 'now' : `generation ${current}`} to roll back to`);
      generation = earlier.at(-1)!;
    } else generation = action.generation;
    if (layers) return layered!.switchLayers(generation, options);
    return runTransition({ kind: 'recorded', manifest: await manifests.read(generation) }, options);
  }
  if (layers && values.undeploy) return layered!.undeployLayers(layers, options);
  if (layers) return layered!.deployLayers(layers, { ...options, infrastructureFile: values.infrastructure!, loadInfrastructure: (file) => loadInfrastructure(file, extraParams), extraParams });
  if (values.undeploy) return runTransition({ kind: 'new', deployment: { profile: options.profile, targets: {}, mappings: [], profiles: {} } }, options);
  const infrastructure = await loadInfrastructure(values.infrastructure!, extraParams);
  const distribution = await loadDistribution(values.distribution!, infrastructure, extraParams);
  const services = await loadServices(values.services!, infrastructure, distribution, extraParams);
  return deployServices(services, infrastructure, options);
}

async function listDeployments(manifests: DeploymentRecords, options: OrchestratorOptions): Promise<DeployResult> {
  const current = await manifests.currentGeneration();
  const generations = [];
  for (const generation of await manifests.generations()) {
    const manifest = await manifests.read(generation);
    generations.push({ generation, current: generation === current, created: manifest.created, services: manifest.mappings.length, targets: Object.keys(manifest.targets) });
  }
  options.reporter.emit({ event: 'deployments', profile: options.profile, generations });
  options.reporter.emit({ event: 'done', ok: true, failed: [] });
  return { ok: true, failed: new Map() };
}

function profileActionOf(values: Record<string, unknown>, positionals: string[]): ProfileAction | undefined {
  const chosen = ['list-generations', 'rollback', 'switch-to-generation', 'delete-generations'].filter((key) => values[key] !== undefined && values[key] !== false);
  if (chosen.length > 1) throw usage(`only one profile operation at a time: ${chosen.map((o) => `--${o}`).join(' and ')}`);
  switch (chosen[0]) {
    case undefined:
      return undefined;
    case 'list-generations':
      return { kind: 'list-generations' };
    case 'rollback':
      return { kind: 'rollback' };
    case 'switch-to-generation': {
      const raw = values['switch-to-generation'] as string;
      if (!/^\d+$/.test(raw)) throw usage(`--switch-to-generation takes a generation number, not '${raw}'`);
      return { kind: 'switch-to-generation', generation: Number(raw) };
    }
    default:
      return { kind: 'delete-generations', which: parseGenerationSelector(positionals) };
  }
}

