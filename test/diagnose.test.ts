import { execFile } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { BIN_DIR, dysnomia, NO_REGISTRY_ENV } from './helpers/cli.js';
import { sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';
import { waitFor } from './helpers/fixtures.js';

// `dysnomia diagnose` over two simulated machines (sshd on 127.0.0.1): a shell on the service's
// target in its container's environment, chosen from the coordinator's record of the deployment.
t.setTimeout(600_000);
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-diagnose-');
const marks = path.join(dir, 'marks');
const project = path.join(dir, 'project');
await mkdir(marks, { recursive: true });
await mkdir(project, { recursive: true });
const target = (host: typeof test1, state: string, greeting: string) => ({ ...sshTarget(host, knownHosts, state), containers: { wrapper: { marks, greeting } } });
const infrastructure = path.join(project, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: target(test1, state1, 'hi from test1'), test2: target(test2, state2, 'hi from test2') }, null, 2));

async function wrapperService(name: string): Promise<string> {
  const folder = path.join(project, name);
  await writeProgram(path.join(folder, 'bin/wrapper'), `#!/bin/sh\ncase "$1" in\n  activate) touch "$marks/${name}-$(basename "$DYSNOMIA_STATEDIR")" ;;\nesac\n`);
  return folder;
}
const services = path.join(project, 'services.mjs');
await writeFile(services, `export default () => ({ solo: { pkg: ${JSON.stringify(await wrapperService('solo'))}, type: 'wrapper' }, both: { pkg: ${JSON.stringify(await wrapperService('both'))}, type: 'wrapper' } });\n`);
const distribution = path.join(project, 'distribution.json');
await writeFile(distribution, JSON.stringify({ solo: ['test1'], both: ['test1', 'test2'] }));

const diagnose = (args: string[], input?: string) => dysnomia(['diagnose', '-p', 'apps', ...args], { env, ...(input === undefined ? {} : { input }) });
const shellFiles = async (state: string) => (await readdir(path.join(state, 'tmp')).catch(() => [] as string[])).filter((n) => n.startsWith('shell-'));

t.before(async () => {
  const deployed = await dysnomia(['deploy', '-s', services, '-i', infrastructure, '-d', distribution, '--profile', 'apps'], { env });
  if (deployed.code !== 0) throw new Error(`the deployment failed: ${deployed.stderr}`);
});

t.test('--command runs in the container environment on the service target, and its exit status is passed back', async (t) => {
  const script = 'echo "greeting=$greeting"; echo "component=$this_component"; echo "container=$this_container"; echo "statedir=$DYSNOMIA_STATEDIR"; echo "module=$this_dysnomia_module"; exit 7';
  const result = await diagnose(['-s', 'solo', '-i', infrastructure, '--command', script]);
  t.equal(result.code, 7, result.stderr);
  t.match(result.stdout, /^greeting=hi from test1$/m, "the model's container property is in the environment");
  t.match(result.stdout, new RegExp(`^component=${state1}/store/[0-9a-z]{32}-solo$`, 'm'), 'the component in the target store');
  t.match(result.stdout, /^container=wrapper$/m);
  t.match(result.stdout, new RegExp(`^statedir=${state1}$`, 'm'), 'on test1');
  t.match(result.stdout, /^module=.*plugin-wrapper/m, 'set up by the type module');
  await waitFor(async () => (await shellFiles(state1)).length === 0, "the agent to remove the shell's properties file");
  t.pass('the properties file is gone once the session ended');

  const ok = await diagnose(['-s', 'solo', '--command', 'test "$greeting" = "hi from test1"']);
  t.equal(ok.code, 0, `without -i the record says how to reach the target: ${ok.stderr}`);
});

t.test('a service on several targets needs -t; -t chooses the target', async (t) => {
  const open = await diagnose(['-s', 'both', '--command', 'true']);
  t.equal(open.code, 2);
  t.match(open.stderr, 'service "both" runs on several targets: test1, test2; choose one with -t TARGET');
  t.notMatch(open.stderr, /^\s+at /m);
  const chosen = await diagnose(['-s', 'both', '-t', 'test2', '--command', 'echo "$greeting at $DYSNOMIA_STATEDIR"']);
  t.equal(chosen.code, 0, chosen.stderr);
  t.equal(chosen.stdout.trim(), `hi from test2 at ${state2}`);
});

t.test('unknown services, targets and containers are bad usage naming the known ones', async (t) => {
  const service = await diagnose(['-s', 'nope', '--command', 'true']);
  t.equal(service.code, 2);
  t.match(service.stderr, 'service "nope" is not in the deployment of profile "apps" (its services: both, solo)');
  const target = await diagnose(['-s', 'solo', '-t', 'test9', '--command', 'true']);
  t.equal(target.code, 2);
  t.match(target.stderr, 'service "solo" does not run on target "test9" (it runs on: test1)');
  const container = await diagnose(['-s', 'solo', '-C', 'mysql', '--command', 'true']);
  t.equal(container.code, 2);
  t.match(container.stderr, 'its containers: wrapper');
  const profile = await dysnomia(['diagnose', '-p', 'nothing-here', '-s', 'solo', '--command', 'true'], { env });
  t.equal(profile.code, 2);
  t.match(profile.stderr, 'profile "nothing-here" has no recorded deployment');
  const noService = await dysnomia(['diagnose', '-p', 'apps'], { env });
  t.equal(noService.code, 2);
  t.match(noService.stderr, '-s SERVICE');
});

t.test('without --command the shell reads standard input (a pipe here) and its exit status is passed back', async (t) => {
  const result = await diagnose(['-s', 'solo'], 'echo "piped: $greeting"\nexit 3\n');
  t.equal(result.code, 3, result.stderr);
  t.match(result.stdout, /^piped: hi from test1$/m);
});

t.test('on a terminal the shell gets a pseudo-terminal on the target', async (t) => {
  // util-linux script(1) gives the command a terminal here, as a person at one would have.
  const command = ['/usr/bin/env', '-i', `PATH=${process.env.PATH}`, `HOME=${process.env.HOME}`, `DYSNOMIA_STATEDIR=${env.DYSNOMIA_STATEDIR}`, ...Object.entries(NO_REGISTRY_ENV).map(([k, v]) => `${k}=${v}`), process.execPath, path.join(BIN_DIR, 'dysnomia.js'), 'diagnose', '-p', 'apps', '-s', 'solo']
    .map((word) => `'${word.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
    const child = execFile('script', ['-qec', command, '/dev/null'], { timeout: 300_000 }, (error, stdout) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout }));
    child.stdin?.write('if [ -t 0 ]; then echo "remote-tty:yes $greeting"; fi; exit 5\n');
  });
  t.equal(result.code, 5, result.stdout);
  t.match(result.stdout, /remote-tty:yes hi from test1/, 'the shell on the target has a terminal');
});

t.test('dysnomia --shell --container-properties: a bad file is bad input naming it', async (t) => {
  const bad = path.join(project, 'bad-properties.json');
  await writeFile(bad, '{"greeting": ');
  const component = path.join(project, 'solo');
  const result = await dysnomia(['--shell', '--component', component, '--container', 'wrapper', '--type', 'wrapper', '--container-properties', bad, '--command', 'true'], { env });
  t.equal(result.code, 2, result.stderr);
  t.match(result.stderr, bad);
  t.notMatch(result.stderr, /^\s+at /m);
  const withEnvironment = await dysnomia(['--shell', '--component', component, '--type', 'wrapper', '-E', '--container-properties', bad, '--command', 'true'], { env });
  t.equal(withEnvironment.code, 2);
  t.match(withEnvironment.stderr, '--container-properties goes with --container NAME');
  const good = path.join(project, 'good-properties.json');
  await writeFile(good, '{"greeting": "from a file"}');
  const shell = await dysnomia(['--shell', '--component', component, '--container', 'wrapper', '--type', 'wrapper', '--container-properties', good, '--command', 'echo "$greeting"'], { env });
  t.equal(shell.code, 0, shell.stderr);
  t.equal(shell.stdout.trim(), 'from a file');
});

t.test('a local target: the shell runs here, on its state folder', async (t) => {
  const localState = path.join(dir, 'machines/here/state');
  const localInfrastructure = path.join(project, 'infrastructure-local.json');
  await writeFile(localInfrastructure, JSON.stringify({ here: { properties: { hostname: 'localhost', stateDir: localState }, clientInterface: 'local', containers: { wrapper: { marks, greeting: 'hi from here' } } } }));
  const localDistribution = path.join(project, 'distribution-local.json');
  await writeFile(localDistribution, JSON.stringify({ solo: ['here'] }));
  const deployed = await dysnomia(['deploy', '-s', services, '-i', localInfrastructure, '-d', localDistribution, '--profile', 'local'], { env });
  t.equal(deployed.code, 0, deployed.stderr);
  const result = await dysnomia(['diagnose', '-p', 'local', '-s', 'solo', '--command', 'echo "$greeting in $DYSNOMIA_STATEDIR"; exit 4'], { env });
  t.equal(result.code, 4, result.stderr);
  t.equal(result.stdout.trim(), `hi from here in ${localState}`);
});
