import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { loadInfrastructure } from '../packages/deploy/src/models/infrastructure.js';
import { dysnomia } from './helpers/cli.js';
import { packageFolder, sshTarget, twoMachines } from './helpers/deploy-fixtures.js';

// Bootstrapping two targets and a dozen CLI runs over SSH: well within 120 s on a quiet machine, not with other suites running.
t.setTimeout(300_000);

// Two machines over SSH and one local target, each with containers provided by a profile, as the seed article's
// multi-layer deployment leaves them.
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-capture-');
const localState = path.join(dir, 'machines/local/state');
const PASSWORD = 'pw-4f9e1c-never-printed';

const project = path.join(dir, 'project');
const mysqlPackage = await packageFolder(path.join(project, 'mysql-server'), 'mysql-server', 'mysql');
await mkdir(path.join(mysqlPackage, 'etc/dysnomia/containers'), { recursive: true });
const mysqlContainer = path.join(mysqlPackage, 'etc/dysnomia/containers/mysql-production');
await writeFile(
  mysqlContainer,
  `# made by the mysql-server package\ntype=mysql-database\nmysqlPort=3307\nmysqlUsername=root\nmysqlPassword='${PASSWORD}'\nmysqlSocket="/run/mysqld production/mysqld.sock"\n`,
);
await chmod(mysqlContainer, 0o600);
const tomcatPackage = await packageFolder(path.join(project, 'tomcat-server'), 'tomcat-server', 'tomcat');
await mkdir(path.join(tomcatPackage, 'etc/dysnomia/containers'), { recursive: true });
await writeFile(
  path.join(tomcatPackage, 'etc/dysnomia/containers/tomcat-production.json'),
  JSON.stringify({ type: 'tomcat-webapplication', tomcatPort: '8081', catalinaBaseDir: '/var/tomcat-production' }),
);

const bootstrap = {
  test1: sshTarget(test1, knownHosts, state1),
  test2: { ...sshTarget(test2, knownHosts, state2), containers: { 'mysql-test': { mysqlPort: '3308' }, 'tomcat-production': { tomcatPort: '1', fromModel: 'yes' } } },
  local: { properties: { hostname: 'coordinator', stateDir: localState }, clientInterface: 'local' },
};
const infrastructure = path.join(dir, 'infrastructure-bootstrap.json');
await writeFile(infrastructure, JSON.stringify(bootstrap, null, 2));
const packages = path.join(project, 'packages.json');
await writeFile(packages, JSON.stringify({ test1: ['./mysql-server'], test2: ['./tomcat-server'], local: ['./mysql-server'] }));

const deployed = await dysnomia(['deploy', '-i', infrastructure, '-P', packages, '--profile', 'containers', '--json'], { env });
if (deployed.code !== 0) throw new Error(`the containers' deployment failed: ${deployed.stderr}${deployed.stdout}`);

const capture = (args: string[], extraEnv: Record<string, string> = {}) => dysnomia(['capture-infra', ...args], { env: { ...env, ...extraEnv } });

t.test('each target lists its containers with their ports, plus process and wrapper, its ssh settings kept; secrets held back', async (t) => {
  const result = await capture(['-i', infrastructure]);
  t.equal(result.code, 0, result.stderr);
  const model = JSON.parse(result.stdout) as Record<string, { properties: Record<string, unknown>; containers: Record<string, Record<string, unknown>>; clientInterface?: string }>;
  t.same(Object.keys(model), ['test1', 'test2', 'local'], 'every target, in the model’s order');
  t.same(model.test1!.properties, bootstrap.test1.properties, "test1's ssh settings, state folder and node kept");
  t.same(model.test1!.containers, {
    'mysql-production': { mysqlPort: '3307', mysqlUsername: 'root', mysqlSocket: '/run/mysqld production/mysqld.sock' },
    process: {},
    wrapper: {},
  });
  t.same(model.test2!.containers, {
    'mysql-test': { mysqlPort: '3308' },
    'tomcat-production': { tomcatPort: '8081', fromModel: 'yes', catalinaBaseDir: '/var/tomcat-production' },
    process: {},
    wrapper: {},
  }, "test2: its JSON container over the model's, the model's own container kept");
  t.same(model.local, { properties: bootstrap.local.properties, containers: model.test1!.containers, clientInterface: 'local' }, 'the local target, described in process');
  t.notMatch(result.stdout, PASSWORD, 'the password is not printed');
  t.notMatch(result.stdout, /mysqlPassword/);
  t.match(result.stderr, /test1, container mysql-production: mysqlPassword/, 'stderr names what was held back');
  t.match(result.stderr, /local, container mysql-production: mysqlPassword/);
  t.match(result.stderr, /--show-secrets/, 'and how to include it');
  t.notMatch(result.stderr, PASSWORD);
  t.notMatch(result.stderr, /connecting/, 'no progress when stderr is not a terminal');

  const captured = path.join(dir, 'infrastructure-captured.json');
  await writeFile(captured, result.stdout);
  const loaded = await loadInfrastructure(captured);
  t.match(loaded.test1, { hostname: test1.host, clientInterface: 'ssh', properties: { sshPort: test1.port }, containers: { 'mysql-production': { mysqlPort: '3307' } } });
  t.match(loaded.local, { clientInterface: 'local', properties: { stateDir: localState } });
  const redeploy = await dysnomia(['deploy', '-i', captured, '-P', packages, '--profile', 'containers', '--json'], { env });
  t.equal(redeploy.code, 0, `the next deploy reaches every target through the captured model: ${redeploy.stderr}`);
  t.match(redeploy.stdout, /"event":"profile","target":"test2","profile":"containers","generation":1,"changed":false/);
});

t.test('--show-secrets includes them; --output writes the file mode 0600 and prints nothing', async (t) => {
  const output = path.join(dir, 'with-secrets.json');
  const result = await capture(['-i', infrastructure, '--show-secrets', '--output', output]);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, '');
  t.equal((await stat(output)).mode & 0o777, 0o600, 'a file with secrets is private');
  const model = JSON.parse(await readFile(output, 'utf8')) as Record<string, { containers: Record<string, Record<string, unknown>> }>;
  t.equal(model.test1!.containers['mysql-production']!.mysqlPassword, PASSWORD);
  t.notMatch(result.stderr, /held back|left out/);

  const shown = await capture(['-i', infrastructure, '--show-secrets', '--json']);
  t.equal(shown.code, 0, shown.stderr);
  t.match(shown.stdout, `"mysqlPassword": "${PASSWORD}"`, 'printed on stdout too when asked');

  const publicOutput = path.join(dir, 'without-secrets.json');
  const plain = await capture(['-i', infrastructure, '-o', publicOutput]);
  t.equal(plain.code, 0, plain.stderr);
  t.equal((await stat(publicOutput)).mode & 0o777, 0o644, 'without secrets: 0644');
  t.notMatch(await readFile(publicOutput, 'utf8'), PASSWORD);
});

t.test('--format nix prints the layout of disnix-capture-infra', async (t) => {
  const result = await capture(['-i', infrastructure, '--format', 'nix']);
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  t.equal(lines[0], '{');
  for (const expected of [
    '  "test1" = {',
    '    properties = {',
    `      "hostname" = "127.0.0.1";`,
    `      "sshPort" = ${test1.port};`,
    `      "stateDir" = "${state1}";`,
    '    containers = {',
    '      mysql-production = {',
    '        "mysqlPort" = "3307";',
    '        "mysqlUsername" = "root";',
    '        "mysqlSocket" = "/run/mysqld production/mysqld.sock";',
    '      process = {',
    '      wrapper = {',
    '  "test2" = {',
    '      tomcat-production = {',
    '        "tomcatPort" = "8081";',
    '  "local" = {',
    '    clientInterface = "local";',
  ]) {
    t.ok(lines.includes(expected), `has the line ${JSON.stringify(expected)}`);
  }
  t.notMatch(result.stdout, /mysqlPassword/);
  t.equal(lines.at(-2), '}', 'one expression');
  t.equal(result.stdout.split('{').length, result.stdout.split('}').length, 'braces balance');
});

t.test('a target whose host key is unknown: exit 1 naming it, nothing on stdout', async (t) => {
  const emptyKnownHosts = path.join(dir, 'empty_known_hosts');
  await writeFile(emptyKnownHosts, '');
  const model = path.join(dir, 'unknown-key.json');
  await writeFile(model, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test2: sshTarget(test2, emptyKnownHosts, state2) }));
  const result = await capture(['-i', model]);
  t.equal(result.code, 1, result.stderr);
  t.equal(result.stdout, '', 'no partial model');
  t.match(result.stderr, /target "test2"/);
  t.match(result.stderr, /host key|known_hosts/i);
  t.notMatch(result.stderr, /target "test1"/, 'the reachable target is not blamed');
  t.equal(await readFile(emptyKnownHosts, 'utf8'), '', 'nothing recorded without --accept-new-host-keys');
});

t.test('bad usage and bad models exit 2 naming the argument or file:line', async (t) => {
  const format = await capture(['-i', infrastructure, '--format', 'yaml']);
  t.equal(format.code, 2);
  t.match(format.stderr, /--format takes json or nix, not 'yaml'/);
  const noModel = await capture([]);
  t.equal(noModel.code, 2);
  t.match(noModel.stderr, /-i INFRASTRUCTURE/);
  const both = await capture(['-i', infrastructure, '--json', '--format=nix']);
  t.equal(both.code, 2);
  const badModel = path.join(dir, 'bad.json');
  await writeFile(badModel, '{\n  "test1": {\n    "properties": { "hostname": "a" },\n    "colour": 1\n  }\n}\n');
  const bad = await capture(['-i', badModel]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, `${badModel}:4`);
  t.match(bad.stderr, /unknown key "colour"/);
  const missingFolder = await capture(['-i', infrastructure, '-o', path.join(dir, 'nowhere/infra.json')]);
  t.equal(missingFolder.code, 2);
  t.match(missingFolder.stderr, /--output .*nowhere/);
  for (const result of [format, noModel, both, bad, missingFolder]) {
    t.equal(result.stdout, '');
    t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
});

t.test('a container file the target cannot read is that target failing: exit 1 naming the target and file:line', async (t) => {
  const containers = path.join(dir, 'broken-containers');
  await mkdir(containers, { recursive: true });
  await writeFile(path.join(containers, 'broken'), 'type=process\nport=$PORT\n');
  const model = path.join(dir, 'local-only.json');
  await writeFile(model, JSON.stringify({ local: bootstrap.local }));
  const result = await capture(['-i', model], { DYSNOMIA_CONTAINERS_PATH: containers });
  t.equal(result.code, 1, result.stderr);
  t.equal(result.stdout, '');
  t.match(result.stderr, /target "local": describing the machine failed: .*broken:2/);
});
