import { loadConfig } from '../config.js';
import { DysnomiaError } from '../errors.js';
import { deployPackages, modelDir, profileAction } from '../deploy/deploy-packages.js';
import type { DeployOptions, DeployResult, ProfileAction } from '../deploy/deploy-packages.js';
import { jsonReporter, plainReporter, terminalReporter } from '../deploy/progress.js';
import { loadInfrastructure } from '../models/infrastructure.js';
import { loadDistribution } from '../models/distribution.js';
import { loadPackagesModel } from '../models/packages.js';
import type { PackagesModel } from '../models/packages.js';
import { loadServices } from '../models/services.js';
import { assertOnlyPackageServices, distributedTargets, servicesToPackages } from '../deploy/services-to-packages.js';
import { assertProfileName } from '../profiles/names.js';
import { parseGenerationSelector } from '../profiles/profiles.js';
import { chooseStateDir } from '../state-dir.js';
import { Store } from '../store/store.js';
import { parseOptions } from './run-cli.js';

export const DEFAULT_MAX_CONCURRENT_TRANSFERS = 4;

export const HELP = `Usage: dysnomia deploy -i INFRASTRUCTURE -P PACKAGES [OPTION]...
       dysnomia deploy -s SERVICES -i INFRASTRUCTURE -d DISTRIBUTION [OPTION]...
       dysnomia deploy -i INFRASTRUCTURE [-P PACKAGES | -s SERVICES -d DISTRIBUTION]
                       (--list-generations | --rollback
                       | --switch-to-generation=N | --delete-generations old|N...|Nd)

Installs packages into a profile on each target, as disnix-env -P does: every
package is added to this machine's store, each target gets the store entries
it lacks over SSH (or directly for a local target), and once every transfer
succeeded each target's profile switches to a new generation. A target needs
only sshd and Node.js 20.19+: the engine installs itself into its store.
Users there run the programs from STATEDIR/profiles/PROFILE/bin.

Models (JS with a default export, TS, JSON or YAML):
  INFRASTRUCTURE  { test1: { properties: { hostname, sshPort?, sshUser?, sshKey?,
                  sshKnownHosts?, stateDir?, nodePath? }, clientInterface? } }
                  A target is reached over SSH unless clientInterface is
                  "local" or its hostname is this machine (localhost,
                  127.0.0.1, ::1, the host name) with no ssh* property.
  PACKAGES        { test1: ['./pkgs/hello', 'pkg.tgz', 'npm:cowsay@1.6.0',
                  component({ name, build(out) {} })] }, or a JS function
                  ({ infrastructure }) => ({ … }); paths are relative to the
                  model file
  SERVICES        { svc: { name?, pkg, type, dependsOn?, connectsTo?,
                  providesContainers? } }, or a JS function ({ distribution,
                  invDistribution, system }) => ({ … }); pkg as in PACKAGES,
                  or a function of the dependsOn/connectsTo dependencies
                  (each with its targets' properties) returning one
  DISTRIBUTION    { svc: ['test1', 'test2'], db: { targets: [{ target:
                  'test2', container: 'mysql-test' }] } }, or a JS function
                  ({ infrastructure }) => ({ svc: [infrastructure.test1] })

Options:
  -i, --infrastructure=FILE  The infrastructure model
  -P, --packages=FILE        The packages model
  -s, --services=FILE        The services model (with -d)
  -d, --distribution=FILE    The distribution model (with -s)
  -p, --profile=NAME         The profile on the targets (default: default)
      --dry-run              Build here and show what each target lacks;
                             send nothing, switch nothing
      --max-concurrent-transfers=N
                             Targets worked on at once (default: ${DEFAULT_MAX_CONCURRENT_TRANSFERS})
      --accept-new-host-keys Trust and record the key of a host not yet in
                             known_hosts (a changed key is always refused)
      --known-hosts=FILE     known_hosts file for targets without an
                             sshKnownHosts property (default: ~/.ssh/known_hosts)
      --json                 Print one JSON event per line ({"v":1,"event":…})
                             and nothing else on standard output
      --debug                Show stack traces
  -h, --help                 Show this help

Profile operations, on each target of PACKAGES or DISTRIBUTION (or of
INFRASTRUCTURE):
      --list-generations     List the profile's generations
      --rollback             Switch the profile back to its previous generation
      --switch-to-generation=N
                             Switch the profile to generation N
      --delete-generations   With old, generation numbers or Nd (days): delete
                             those generations (never the current one)

With -s and -d, every service of type "package" is installed into the
profile of each target the distribution maps it to. A distributed service of
any other type is refused (exit status 2) before anything is built or sent:
activating it needs the deployment orchestrator, not in this version yet.

Environment:
  DYSNOMIA_STATEDIR  This machine's state folder, holding the store the
                     packages are built into (default: the config's stateDir,
                     else /var/state/dysnomia for root, ~/.dysnomia otherwise)
  SSH_AUTH_SOCK      An ssh-agent to authenticate with

Exit status: 0 success; 1 a target failed (the message names it); 2 bad usage
or a bad model (the message names the file and line).
`;

export const OPTIONS = {
  infrastructure: { type: 'string', short: 'i' },
  packages: { type: 'string', short: 'P' },
  services: { type: 'string', short: 's' },
  distribution: { type: 'string', short: 'd' },
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
} as const;

/** Options of the orchestrator's deploy (DESIGN.md), refused with a straight answer until it lands. */
const ORCHESTRATOR_OPTIONS = ['--undeploy', '--build-on-targets'];

function usage(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_USAGE', message);
}

export async function deployCommand(argv: string[]): Promise<number> {
  const orchestrator = argv.find((arg) => ORCHESTRATOR_OPTIONS.includes(arg.split('=')[0]!));
  if (orchestrator !== undefined) {
    throw usage(`"dysnomia deploy" is not part of this version yet with ${orchestrator.split('=')[0]}: it comes with the deployment orchestrator. Packages deploy now: dysnomia deploy -i INFRASTRUCTURE -P PACKAGES, or services of type "package" with -s SERVICES -d DISTRIBUTION`);
  }
  const { values, positionals } = parseOptions(argv, OPTIONS, true);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0 && !values['delete-generations']) throw usage(`unexpected argument "${positionals[0]}"`);
  const action = profileActionOf(values, positionals);
  if (values.infrastructure === undefined) throw usage('no infrastructure model: pass -i INFRASTRUCTURE');
  const servicesMode = values.services !== undefined || values.distribution !== undefined;
  if (servicesMode && values.packages !== undefined) throw usage('-P PACKAGES goes without -s SERVICES and -d DISTRIBUTION: deploy either a packages model or services');
  if (values.services !== undefined && values.distribution === undefined) throw usage('-s SERVICES needs -d DISTRIBUTION');
  if (values.distribution !== undefined && values.services === undefined) throw usage('-d DISTRIBUTION needs -s SERVICES');
  if (action === undefined && values.packages === undefined && !servicesMode) throw usage('no packages model: pass -P PACKAGES, or -s SERVICES -d DISTRIBUTION');
  if (action !== undefined && values['dry-run']) throw usage(`--dry-run goes with a deployment, not with --${action.kind}`);
  let profile = 'default';
  if (values.profile !== undefined) {
    try {
      profile = assertProfileName(values.profile);
    } catch (error) {
      throw usage(`--profile: ${(error as Error).message}`);
    }
  }
  const limit = values['max-concurrent-transfers'] ?? String(DEFAULT_MAX_CONCURRENT_TRANSFERS);
  if (!/^[1-9]\d*$/.test(limit)) throw usage(`--max-concurrent-transfers takes a positive number, not '${limit}'`);

  const infrastructure = await loadInfrastructure(values.infrastructure);
  let packages: PackagesModel | undefined;
  if (values.packages !== undefined) packages = await loadPackagesModel(values.packages, infrastructure);
  else if (servicesMode) {
    const distribution = await loadDistribution(values.distribution!, infrastructure);
    const services = await loadServices(values.services!, infrastructure, distribution);
    // A profile operation needs only the targets; a deployment also each service's package (its pkg function called).
    assertOnlyPackageServices(services);
    packages = action ? distributedTargets(services, infrastructure) : await servicesToPackages(services, infrastructure);
  }
  const targets = packages ? Object.keys(packages) : Object.keys(infrastructure);
  const config = await loadConfig(process.cwd());
  const reporter = values.json ? jsonReporter(process.stdout) : process.stdout.isTTY ? terminalReporter(process.stdout) : plainReporter(process.stdout);
  const options: DeployOptions = {
    infrastructure,
    targets,
    store: Store.at(chooseStateDir(config.stateDir)),
    profile,
    reporter,
    maxConcurrent: Number(limit),
    acceptNewHostKeys: values['accept-new-host-keys'] === true,
    ...(values['known-hosts'] ? { knownHostsFile: values['known-hosts'] } : {}),
    cwd: modelDir(values.packages ?? values.services ?? values.infrastructure),
    // Build logs (npm, build functions) go to stderr, so --json keeps stdout to events.
    log: (message) => process.stderr.write(`dysnomia: ${message}\n`),
  };
  let result: DeployResult;
  try {
    result = action ? await profileAction(action, options) : await deployPackages(packages!, { ...options, dryRun: values['dry-run'] === true });
  } finally {
    reporter.finish();
  }
  if (!values.json) for (const message of result.failed.values()) process.stderr.write(`dysnomia: error: ${message}\n`);
  return result.ok ? 0 : 1;
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

