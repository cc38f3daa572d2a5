// The bad-input suite: malformed command lines, container files, models and
// archives. Each must end with exit status 2 (1 for an archive the store
// refuses), a message that names the argument or the file (and the line where
// the format has lines), no stack trace, no value of a secret, and nothing
// changed on the machine. It grows: a bad input found anywhere gets a case here.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { runCommand, tempDir } from './helpers/cli.js';
import { RECORDER_MODULE, writeExecutable, writeFileIn } from './helpers/fixtures.js';

const run = promisify(execFile);
t.setTimeout(600_000);

/** Put in inputs wherever a secret can be: it must never come back. */
const SECRET = 'S3cr3t-Value-42';

const dir = await tempDir(t, 'dysnomia-bad-input-');
const state = path.join(dir, 'state');
const machine = path.join(dir, 'machine');
const record = path.join(dir, 'record');
// A machine that has been used: its state folders are there.
await mkdir(path.join(state, 'store'), { recursive: true });
await mkdir(machine, { recursive: true });
await writeExecutable(path.join(dir, 'modules/recorder'), RECORDER_MODULE);
await writeFileIn(path.join(dir, 'containers/box'), `type=recorder\nrecordTo=${record}\nmysqlPassword=${SECRET}\n`);
await writeFileIn(path.join(dir, 'component/README'), 'a component\n');
await writeFileIn(path.join(dir, 'infra.json'), JSON.stringify({ m: { properties: { hostname: 'localhost', stateDir: machine }, containers: { box: { mysqlPassword: SECRET } } } }));
await writeFileIn(path.join(dir, 'services.json'), JSON.stringify({ svc: { pkg: './component', type: 'package' } }));
await writeFileIn(path.join(dir, 'dist.json'), JSON.stringify({ svc: ['m'] }));
await writeFileIn(path.join(dir, 'packages.json'), JSON.stringify({ m: ['./component'] }));
await run('mkfifo', [path.join(dir, 'fifo')]);
await run('mkfifo', [path.join(dir, 'fifo.json')]);
await mkdir(path.join(dir, 'a-folder.json'));

const env = {
  DYSNOMIA_STATEDIR: state,
  DYSNOMIA_MODULES_PATH: path.join(dir, 'modules'),
  DYSNOMIA_CONTAINERS_PATH: path.join(dir, 'containers'),
};

interface Case {
  /** What is wrong, as the test's name. */
  name: string;
  /** The command line; `@/` stands for the fixture folder, `@case/` for the case's own files. */
  args: string[];
  /** Files of the case (relative to its folder). */
  files?: Record<string, string>;
  program?: 'dysnomia' | 'dysnomia-containers' | 'dysnomia-snapshots';
  /** 2 unless said. */
  code?: number;
  /** What the message must say (the argument, or file:line). */
  message: string | RegExp;
  input?: string;
}

const cases: Case[] = [];
const add = (...more: Case[]) => cases.push(...more);

// ---------------------------------------------------------------- command lines
add(
  { name: 'an unknown option', args: ['--bogus'], message: "Unknown option '--bogus'" },
  { name: 'an unknown operation', args: ['--operation', 'explode', '-c', '@/component', '-C', 'box'], message: '--operation explode: unknown operation' },
  { name: 'two operations', args: ['activate', '--operation', 'deactivate', '-c', '@/component', '-C', 'box'], message: 'two operations given' },
  { name: 'no operation', args: ['-c', '@/component', '-C', 'box'], message: 'no operation given' },
  { name: 'no component', args: ['activate', '-C', 'box'], message: 'no component given' },
  { name: 'no container', args: ['activate', '-c', '@/component', '-t', 'recorder'], message: 'no container given' },
  { name: '--command without --shell', args: ['activate', '-c', '@/component', '-C', 'box', '--command', 'id'], message: '--command goes with --shell' },
  { name: '--shell with an operation', args: ['activate', '--shell', '-c', '@/component', '-C', 'box'], message: '--shell takes no operation' },
  { name: 'a stray argument', args: ['activate', '-c', '@/component', '-C', 'box', 'extra'], message: 'unexpected argument "extra"' },
  { name: 'an empty container name', args: ['activate', '-c', '@/component', '-C', ''], message: 'no container given: pass --container NAME|PATH' },
  { name: 'a container name with a slash', args: ['activate', '-c', '@/component', '-C', 'x/../../etc/shadow'], message: '--container x/../../etc/shadow: a name has no "/"' },
  // A plugin's resolveContainer tap may serve any name; the containers folders only safe ones.
  { name: 'a container name with spaces', args: ['activate', '-c', '@/component', '-C', 'my box'], message: 'no container configuration found for "my box"' },
  { name: 'a container named __proto__', args: ['activate', '-c', '@/component', '-C', '__proto__'], message: 'no container configuration found for "__proto__"' },
  { name: 'a container named constructor', args: ['activate', '-c', '@/component', '-C', 'constructor'], message: 'no container configuration found for "constructor"' },
  { name: 'a container that is not there', args: ['activate', '-c', '@/component', '-C', 'nowhere'], message: 'no container configuration found for "nowhere"' },
  { name: 'a container path that is not there', args: ['activate', '-c', '@/component', '-C', '@/no-such-file'], message: /no-such-file: cannot read container configuration/ },
  { name: 'a FIFO as the container (it would block forever)', args: ['activate', '-c', '@/component', '-C', '@/fifo'], message: /fifo: cannot read container configuration: not a regular file/ },
  { name: 'a folder as the container', args: ['activate', '-c', '@/component', '-C', '@/a-folder.json'], message: /a-folder\.json: cannot read container configuration: a folder/ },
  { name: 'a type that is no name', args: ['activate', '-c', '@/component', '-C', 'box', '-t', 'rm -rf'], message: '--type "rm -rf": not a type name' },
  { name: 'a type with shell characters', args: ['activate', '-c', '@/component', '-C', 'box', '-t', 'x;id'], message: '--type "x;id": not a type name' },
  { name: 'a type nothing serves', args: ['activate', '-c', '@/component', '-C', 'box', '-t', 'nosuchtype'], message: 'no module found for type "nosuchtype"' },
  { name: 'a type path that is not there', args: ['activate', '-c', '@/component', '-C', 'box', '-t', './nope'], message: /--type .*nope: no such file or folder/ },
  { name: 'a component name with a slash', args: ['activate', '-c', 'x/../../etc', '-E', '-t', 'recorder'], message: '--component x/../../etc: a name has no "/"' },
  { name: 'a component that is not there', args: ['activate', '-c', '@/no-component', '-C', 'box'], message: /no-component/ },
  { name: '--environment without a type', args: ['activate', '-c', '@/component', '-E'], message: '--environment needs --type TYPE' },
  { name: 'a config file that is not there', args: ['activate', '-c', '@/component', '-C', 'box', '--config', '@/no-config.json'], message: /no-config\.json: config file not found/ },
  { name: 'a config with an unknown key', files: { 'dysnomia.config.json': JSON.stringify({ modulePath: ['x'] }) }, args: ['activate', '-c', '@/component', '-C', 'box', '--config', '@case/dysnomia.config.json'], message: /dysnomia\.config\.json: unknown key "modulePath"/ },
  { name: 'a config that is not an object', files: { 'dysnomia.config.json': '[1]' }, args: ['activate', '-c', '@/component', '-C', 'box', '--config', '@case/dysnomia.config.json'], message: /dysnomia\.config\.json: the config must be an object/ },
  { name: 'a config whose plugin is not installed', files: { 'dysnomia.config.json': JSON.stringify({ plugins: ['dysnomia-plugin-not-installed'] }) }, args: ['activate', '-c', '@/component', '-C', 'box', '--config', '@case/dysnomia.config.json'], message: 'the config lists plugin "dysnomia-plugin-not-installed", but it is not installed' },
);
add(
  { name: 'containers: no action', program: 'dysnomia-containers', args: [], message: 'no action given' },
  { name: 'containers: two actions', program: 'dysnomia-containers', args: ['--deploy', '--snapshot'], message: 'choose one action, not --deploy and --snapshot' },
  { name: 'containers: an unknown operation', program: 'dysnomia-containers', args: ['-o', 'explode'], message: '--operation explode: unknown operation' },
  { name: 'containers: an unknown option', program: 'dysnomia-containers', args: ['--deploy', '--everything'], message: "Unknown option '--everything'" },
  { name: 'containers: restore unconfirmed', program: 'dysnomia-containers', args: ['--restore'], message: 'pass -y to confirm' },
  { name: 'snapshots: no action', program: 'dysnomia-snapshots', args: [], message: /no action|one of/ },
  { name: 'snapshots: a bad --keep', program: 'dysnomia-snapshots', args: ['--gc', '--keep', 'many'], message: /--keep/ },
  { name: 'snapshots: an unknown option', program: 'dysnomia-snapshots', args: ['--query-all', '--bogus'], message: "Unknown option '--bogus'" },
);
add(
  { name: 'store: no operation', args: ['store'], message: 'no operation given: use one of --add' },
  { name: 'store: two operations', args: ['store', '--add', '--gc', '@/component'], message: /one at a time|--add and --gc|choose one/ },
  { name: 'store: --add without a source', args: ['store', '--add'], message: /--add needs/ },
  { name: 'store: --add of a source that is not there', args: ['store', '--add', '@/no-such-source'], message: /no such component source/ },
  { name: 'store: --add of a FIFO', args: ['store', '--add', '@/fifo'], message: /fifo: not a folder, a tarball/ },
  { name: 'store: a --name with a slash', args: ['store', '--add', '@/component', '--name', 'a/b'], message: "invalid store name 'a/b'" },
  { name: 'store: a --name starting with a dot', args: ['store', '--add', '@/component', '--name', '.hidden'], message: "invalid store name '.hidden'" },
  { name: 'store: --query-missing of a path outside the store', args: ['store', '--query-missing', '/etc/passwd'], message: /\/etc\/passwd/ },
  { name: 'store: --export of a name that is not an entry', args: ['store', '--export', '../../etc'], message: /\.\.\/\.\.\/etc/ },
  { name: 'store: an unknown option', args: ['store', '--add', '@/component', '--force'], message: "Unknown option '--force'" },
);
add(
  { name: 'profile: no operation', args: ['profile'], message: /no operation|one of/ },
  { name: 'profile: a profile name with a slash', args: ['profile', '-p', 'a/b', '--rollback'], message: '--profile: invalid profile name "a/b": it has a "/"' },
  { name: 'profile: a profile name with a newline', args: ['profile', '-p', 'a\nb', '--rollback'], message: 'invalid profile name "a\\nb": it has a control character' },
  { name: 'profile: an empty profile name', args: ['profile', '-p', '', '--rollback'], message: 'invalid profile name "": it is empty' },
  { name: 'profile: a profile name like a generation link', args: ['profile', '-p', 'p-3-link', '--rollback'], message: 'it ends like a generation link' },
  { name: 'profile: a bad generation number', args: ['profile', '--switch-to-generation', 'three'], message: /--switch-to-generation/ },
  { name: 'profile: a bad --delete-generations', args: ['profile', '--delete-generations', 'recent'], message: "--delete-generations: 'recent' is not old, a generation number or Nd (days)" },
  { name: 'profile: --install of nothing', args: ['profile', '--install'], message: /--install needs|nothing to install|--allow-empty/ },
);
const deployBase = ['deploy', '-s', '@/services.json', '-i', '@/infra.json', '-d', '@/dist.json'];
add(
  { name: 'deploy: -s without -d', args: ['deploy', '-s', '@/services.json', '-i', '@/infra.json'], message: '-s SERVICES needs -d DISTRIBUTION' },
  { name: 'deploy: -d without -s', args: ['deploy', '-d', '@/dist.json', '-i', '@/infra.json'], message: '-d DISTRIBUTION needs -s SERVICES' },
  { name: 'deploy: -P with -s', args: [...deployBase, '-P', '@/packages.json'], message: '-P PACKAGES goes without -s SERVICES and -d DISTRIBUTION' },
  { name: 'deploy: services without -i', args: ['deploy', '-s', '@/services.json', '-d', '@/dist.json'], message: '-s SERVICES and -d DISTRIBUTION need -i INFRASTRUCTURE' },
  { name: 'deploy: -P without -i', args: ['deploy', '-P', '@/packages.json'], message: 'no infrastructure model: pass -i INFRASTRUCTURE' },
  { name: 'deploy: -i alone', args: ['deploy', '-i', '@/infra.json'], message: 'no packages model' },
  { name: 'deploy: --undeploy with --rollback', args: ['deploy', '--undeploy', '--rollback'], message: '--undeploy goes alone' },
  { name: 'deploy: --dry-run with --rollback', args: ['deploy', '--rollback', '--dry-run'], message: '--dry-run goes with a deployment, not with --rollback' },
  { name: 'deploy: two generation actions', args: ['deploy', '--rollback', '--list-generations'], message: 'only one profile operation at a time' },
  { name: 'deploy: a profile name with a newline', args: [...deployBase, '--profile', 'x\ny'], message: '--profile: invalid profile name "x\\ny"' },
  { name: 'deploy: a profile name with a slash', args: [...deployBase, '--profile', '../escape'], message: '--profile: invalid profile name "../escape"' },
  { name: 'deploy: --max-concurrent-transfers 0', args: [...deployBase, '--max-concurrent-transfers', '0'], message: "--max-concurrent-transfers takes a whole number from 1 to 1000, not '0'" },
  { name: 'deploy: --max-concurrent-transfers 10^30', args: [...deployBase, '--max-concurrent-transfers', '1000000000000000000000000000000'], message: '--max-concurrent-transfers takes a whole number from 1 to 1000' },
  { name: 'deploy: --max-concurrent-transfers -3', args: [...deployBase, '--max-concurrent-transfers=-3'], message: "--max-concurrent-transfers takes a whole number from 1 to 1000, not '-3'" },
  { name: 'deploy: --max-concurrent-activations 1.5', args: [...deployBase, '--max-concurrent-activations', '1.5'], message: "--max-concurrent-activations takes a whole number from 1 to 1024, not '1.5'" },
  { name: 'deploy: --connect-timeout soon', args: [...deployBase, '--connect-timeout', 'soon'], message: "--connect-timeout takes a number of seconds from 0 to 86400, not 'soon'" },
  { name: 'deploy: --command-timeout 0', args: [...deployBase, '--command-timeout', '0'], message: "--command-timeout takes a number of seconds from 0 to 86400, not '0'" },
  { name: 'deploy: --command-timeout a year', args: [...deployBase, '--command-timeout', '31536000'], message: '--command-timeout takes a number of seconds' },
  { name: 'deploy: --switch-to-generation x', args: ['deploy', '--switch-to-generation', 'x'], message: "--switch-to-generation takes a generation number, not 'x'" },
  { name: 'deploy: a stray argument', args: [...deployBase, 'now'], message: 'unexpected argument "now"' },
  { name: 'deploy: --build-on-targets with --list-generations', args: [...deployBase, '--build-on-targets', '--list-generations'], message: '--build-on-targets goes with a deployment, not with --list-generations' },
  { name: 'deploy: an unknown option', args: [...deployBase, '--fast'], message: "Unknown option '--fast'" },
  { name: 'deploy: rollback with no deployment before', args: ['deploy', '--profile', 'never-deployed', '--rollback'], message: 'profile "never-deployed" has no deployment before now to roll back to' },
  { name: 'capture-infra: no -i', args: ['capture-infra'], message: 'no infrastructure model: pass -i INFRASTRUCTURE' },
  { name: 'capture-infra: a bad --format', args: ['capture-infra', '-i', '@/infra.json', '--format', 'xml'], message: "--format takes json or nix, not 'xml'" },
  { name: 'capture-infra: --json with --format nix', args: ['capture-infra', '-i', '@/infra.json', '--json', '--format', 'nix'], message: '--json prints JSON: it goes without --format=nix' },
  { name: 'capture-infra: --max-concurrent-transfers 0', args: ['capture-infra', '-i', '@/infra.json', '--max-concurrent-transfers', '0'], message: '--max-concurrent-transfers takes a whole number from 1 to 1000' },
  { name: 'capture-infra: an output folder that is not there', args: ['capture-infra', '-i', '@/infra.json', '-o', '@/no/such/folder/out.json'], message: /no\/such\/folder/ },
  { name: 'visualize: no models', args: ['visualize'], message: /-s SERVICES|needs|pass -s/ },
  { name: 'visualize: a bad --format', args: ['visualize', '-s', '@/services.json', '-i', '@/infra.json', '-d', '@/dist.json', '--format', 'png'], message: /--format/ },
  { name: 'plugins: an unknown option', args: ['plugins', '--all'], message: "Unknown option '--all'" },
);

// ---------------------------------------------------------------- container files
const containerCase = (name: string, text: string, message: string | RegExp): Case => ({ name: `container file: ${name}`, files: { [`containers/c`]: text }, args: ['activate', '-c', '@/component', '-C', '@case/containers/c'], message });
add(
  containerCase('no =', 'type=recorder\njust words\n', /c:2: expected key=value/),
  containerCase('a secret on a line of its own', `type=recorder\n${SECRET}\n`, /c:2: expected key=value/),
  containerCase('text after a value', `type=recorder\nmysqlPassword=${SECRET} more\n`, /c:2: unexpected text after the value of "mysqlPassword"/),
  containerCase('an unterminated double quote', `type=recorder\nmysqlPassword="${SECRET}\n`, /c:2: unterminated double quote in the value of "mysqlPassword"/),
  containerCase('an unterminated single quote', `type=recorder\nmysqlPassword='${SECRET}\n`, /c:2: unterminated single quote in the value of "mysqlPassword"/),
  containerCase('command substitution', 'type=recorder\nport=$(cat /etc/passwd)\n', /c:2: command substitution \("\$"\) in the value of "port" is not allowed/),
  containerCase('backquotes', 'type=recorder\nport=`id`\n', /c:2: command substitution \("`"\) in the value of "port"/),
  containerCase('a variable', 'type=recorder\nhome=$HOME\n', /c:2: variable expansion \("\$"\) in the value of "home"/),
  containerCase('a variable in double quotes', 'type=recorder\nhome="$HOME/x"\n', /c:2: variable expansion/),
  containerCase('a pipe', 'type=recorder\nx=a|b\n', /c:2: unquoted "\|" in the value of "x"/),
  containerCase('a semicolon', 'type=recorder\nx=a;id\n', /c:2: unquoted ";" in the value of "x"/),
  containerCase('a redirection', 'type=recorder\nx=a>b\n', /c:2: unquoted ">" in the value of "x"/),
  containerCase('an ampersand', 'type=recorder\nx=a&\n', /c:2: unquoted "&" in the value of "x"/),
  containerCase('a lone backslash at the end', 'type=recorder\nx=abc\\', /c:2: the value of "x" ends with a lone backslash/),
  containerCase('a key with a space', 'type=recorder\nmy key=1\n', /c:2: "my key" is not a valid property name/),
  containerCase('a key with a dash', 'type=recorder\nmy-key=1\n', /c:2: "my-key" is not a valid property name/),
  containerCase('a space before =', 'type=recorder\nkey =1\n', /c:2: "key " is not a valid property name/),
  containerCase('an unterminated array', 'type=recorder\nlist=("a" "b"\n', /c:2: .*list/),
  containerCase('no type', 'recordTo=x\n', /c: the container names no type/),
  containerCase('a path as its type (it would run that program)', 'type=../../bin/sh\n', /c: type=: "\.\.\/\.\.\/bin\/sh" is not a valid type name/),
  containerCase('a type with shell characters', 'type=x;id\n', /c:1: unquoted ";" in the value of "type"/),
  { name: 'container file: JSON that is no object', files: { 'containers/j.json': '[1, 2]' }, args: ['activate', '-c', '@/component', '-C', '@case/containers/j.json'], message: /j\.json: .*object/ },
  { name: 'container file: invalid JSON', files: { 'containers/j.json': `{"mysqlPassword": "${SECRET}",}` }, args: ['activate', '-c', '@/component', '-C', '@case/containers/j.json'], message: /j\.json:1: invalid JSON/ },
  { name: 'container file: JSON with an object value', files: { 'containers/j.json': JSON.stringify({ type: 'recorder', nested: { a: 1 } }) }, args: ['activate', '-c', '@/component', '-C', '@case/containers/j.json'], message: /j\.json: .*nested/ },
  { name: 'container file: JSON FIFO', args: ['activate', '-c', '@/component', '-C', '@/fifo.json'], message: /fifo\.json: cannot read container configuration: not a regular file/ },
  { name: 'container file: over a megabyte', files: { 'containers/big': `type=recorder\nx="${'a'.repeat(1_100_000)}"\n` }, args: ['activate', '-c', '@/component', '-C', '@case/containers/big'], message: /big: cannot read container configuration: \d+ bytes is more than a container file may have/ },
);

// ---------------------------------------------------------------- models
const infra = (targets: unknown) => JSON.stringify(targets, null, 2);
const goodTarget = { properties: { hostname: 'localhost', stateDir: machine } };
/** A deploy of the case's own model in place of one of the fixture's. */
const modelCase = (name: string, kind: 'infra' | 'services' | 'dist', file: string, text: string, message: string | RegExp): Case => {
  const models = { infra: '@/infra.json', services: '@/services.json', dist: '@/dist.json', [kind]: `@case/${file}` };
  return { name: `${kind} model: ${name}`, files: { [file]: text }, args: ['deploy', '-s', models.services, '-i', models.infra, '-d', models.dist, '--dry-run'], message };
};
add(
  modelCase('not an object', 'infra', 'i.json', '[]', /i\.json:1: the infrastructure model must be an object/),
  modelCase('no targets', 'infra', 'i.json', '{}', /i\.json:1: the infrastructure model has no targets/),
  modelCase('invalid JSON', 'infra', 'i.json', '{"m": {', /i\.json:1: invalid JSON/),
  modelCase('invalid YAML', 'infra', 'i.yaml', 'm:\n  properties: [\n', /i\.yaml:\d+: invalid YAML/),
  modelCase('a YAML alias bomb', 'infra', 'i.yaml', `a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n`, /i\.yaml: invalid YAML: .*alias/i),
  modelCase('duplicate YAML keys', 'infra', 'i.yaml', 'm:\n  properties: { hostname: localhost }\nm:\n  properties: { hostname: localhost }\n', /i\.yaml:\d+: invalid YAML/),
  modelCase('an unknown format', 'infra', 'i.toml', 'x = 1\n', /i\.toml: unknown format "\.toml"/),
  modelCase('a target name with a slash', 'infra', 'i.json', infra({ '../etc': goodTarget }), /i\.json:2: "\.\.\/etc" is not a valid target name/),
  modelCase('a target named __proto__', 'infra', 'i.json', '{"__proto__": {"properties": {"hostname": "localhost"}}}', /i\.json:1: "__proto__" cannot be a target name/),
  modelCase('a target named constructor', 'infra', 'i.json', infra({ constructor: goodTarget }), /i\.json:2: "constructor" cannot be a target name/),
  modelCase('a target named toString', 'infra', 'i.json', infra({ toString: goodTarget }), /i\.json:2: "toString" cannot be a target name/),
  modelCase('a target with a space', 'infra', 'i.json', infra({ 'my machine': goodTarget }), /i\.json:2: "my machine" is not a valid target name/),
  modelCase('a target that is no object', 'infra', 'i.json', infra({ m: 'localhost' }), /i\.json:2: target "m": must be an object/),
  modelCase('an unknown target key', 'infra', 'i.json', infra({ m: { ...goodTarget, hostname: 'x' } }), /i\.json:\d+: target "m": unknown key "hostname"/),
  modelCase('no hostname', 'infra', 'i.json', infra({ m: { properties: {} } }), /i\.json:\d+: target "m": properties\.hostname must be the host's address/),
  modelCase('numOfCores 0', 'infra', 'i.json', infra({ m: { ...goodTarget, numOfCores: 0 } }), /i\.json:\d+: target "m": "numOfCores" must be a whole number from 1 to 1024/),
  modelCase('numOfCores -3', 'infra', 'i.json', infra({ m: { ...goodTarget, numOfCores: -3 } }), /i\.json:\d+: target "m": "numOfCores" must be a whole number from 1 to 1024/),
  modelCase('numOfCores 1e300', 'infra', 'i.json', '{"m": {"properties": {"hostname": "localhost"}, "numOfCores": 1e300}}', /i\.json:1: target "m": "numOfCores" must be a whole number from 1 to 1024/),
  modelCase('numOfCores 2.5', 'infra', 'i.json', infra({ m: { ...goodTarget, numOfCores: 2.5 } }), /"numOfCores" must be a whole number/),
  modelCase('sshPort 0', 'infra', 'i.json', infra({ m: { properties: { hostname: 'h.example', sshPort: 0 } } }), /i\.json:\d+: target "m": properties\.sshPort must be a port number/),
  modelCase('sshPort 70000', 'infra', 'i.json', infra({ m: { properties: { hostname: 'h.example', sshPort: 70000 } } }), /properties\.sshPort must be a port number/),
  modelCase('a relative stateDir', 'infra', 'i.json', infra({ m: { properties: { hostname: 'localhost', stateDir: 'state' } } }), /properties\.stateDir must be an absolute path/),
  modelCase('a missing sshKey', 'infra', 'i.json', infra({ m: { properties: { hostname: 'h.example', sshKey: './no-such-key' } } }), /i\.json:\d+: target "m": properties\.sshKey: no such file: .*no-such-key/),
  modelCase('an sshKey that is a folder', 'infra', 'i.json', infra({ m: { properties: { hostname: 'h.example', sshKey: '/tmp' } } }), /properties\.sshKey: not a regular file: \/tmp/),
  modelCase('a bad clientInterface', 'infra', 'i.json', infra({ m: { ...goodTarget, clientInterface: 'telnet' } }), /clientInterface must be "ssh" or "local", not "telnet"/),
  modelCase('a container name with a slash', 'infra', 'i.json', infra({ m: { ...goodTarget, containers: { '../../etc': {} } } }), /i\.json:\d+: target "m": "\.\.\/\.\.\/etc" is not a valid container name/),
  modelCase('a container named ..', 'infra', 'i.json', infra({ m: { ...goodTarget, containers: { '..': {} } } }), /"\.\." is not a valid container name/),
  modelCase('a container that is no object', 'infra', 'i.json', infra({ m: { ...goodTarget, containers: { box: 'x' } } }), /"containers" must map container names to objects of properties/),
  modelCase('a NUL byte in a password', 'infra', 'i.json', infra({ m: { ...goodTarget, containers: { box: { mysqlPassword: `${SECRET}\u0000${SECRET}` } } } }), /i\.json:\d+: target "m": containers\.box\.mysqlPassword holds a NUL byte/),
  modelCase('a NUL byte in a property', 'infra', 'i.json', infra({ m: { properties: { hostname: 'localhost', stateDir: machine, token: `${SECRET}\u0000` } } }), /properties\.token holds a NUL byte/),
  modelCase('properties that are no object', 'infra', 'i.json', infra({ m: { properties: ['localhost'] } }), /"properties" must be an object/),
  modelCase('a JS model whose default export is a rejected promise', 'infra', 'i.mjs', `export default Promise.reject(new Error('no infrastructure today'));\n`, /i\.mjs: the infrastructure model's default export is a promise that failed: no infrastructure today/),
  modelCase('a JS model with a throwing getter', 'infra', 'i.mjs', `export default { get m() { throw new Error('getter exploded'); } };\n`, /i\.mjs: reading the infrastructure model failed: getter exploded/),
  modelCase('a JS model function that throws', 'infra', 'i.mjs', `export default () => { throw new Error('model function exploded'); };\n`, /i\.mjs: the infrastructure model function failed: model function exploded/),
  modelCase('a JS model with a syntax error', 'infra', 'i.mjs', 'export default {\n  m: { properties: { hostname: "x" }\n;\n', /i\.mjs:\d+: /),
  modelCase('a JS model without a default export', 'infra', 'i.mjs', 'export const m = {};\n', /i\.mjs: the infrastructure model has no default export/),
  modelCase('a FIFO as the model (it would block forever)', 'infra', 'i.json', '', /./),
);
// The FIFO case reads the fixture's FIFO instead of its own file.
cases.at(-1)!.args = ['deploy', '-s', '@/services.json', '-i', '@/fifo.json', '-d', '@/dist.json', '--dry-run'];
cases.at(-1)!.message = /fifo\.json: not a regular file/;
add(
  modelCase('a folder as the model', 'infra', 'unused.json', '{}', /./),
);
cases.at(-1)!.args = ['deploy', '-s', '@/services.json', '-i', '@/a-folder.json', '-d', '@/dist.json', '--dry-run'];
cases.at(-1)!.message = /a-folder\.json: not a regular file/;
add(
  modelCase('a model that is not there', 'infra', 'unused.json', '{}', /./),
);
cases.at(-1)!.args = ['deploy', '-s', '@/services.json', '-i', '@/no-such-infra.json', '-d', '@/dist.json', '--dry-run'];
cases.at(-1)!.message = /no-such-infra\.json: no such file/;
add(
  { name: 'infra model: over 16 MiB', files: { 'big.json': `{"m": {"properties": {"hostname": "localhost", "x": "${'a'.repeat(17 * 1024 * 1024)}"}}}` }, args: ['deploy', '-s', '@/services.json', '-i', '@case/big.json', '-d', '@/dist.json', '--dry-run'], message: /big\.json: \d+ bytes is more than a model may have/ },
);
add(
  modelCase('a service name with ../', 'services', 's.json', JSON.stringify({ '../svc': { pkg: './c', type: 'package' } }, null, 2), /s\.json:2: "\.\.\/svc" is not a valid service name/),
  modelCase('a service named __proto__', 'services', 's.json', '{"__proto__": {"pkg": "./c", "type": "package"}}', /s\.json:1: "__proto__" cannot be a service name/),
  modelCase('a service named constructor', 'services', 's.json', JSON.stringify({ constructor: { pkg: './c', type: 'package' } }, null, 2), /s\.json:2: "constructor" cannot be a service name/),
  modelCase('a name other than its key', 'services', 's.json', JSON.stringify({ svc: { name: 'other', pkg: './component', type: 'package' } }, null, 2), /s\.json:3: service "svc": "name" must be the service's key "svc" \(as in Disnix\), not "other"/),
  modelCase('a path as the type', 'services', 's.json', JSON.stringify({ svc: { pkg: './component', type: '/usr/bin/touch' } }, null, 2), /s\.json:\d+: service "svc": "\/usr\/bin\/touch" is not a valid type name/),
  modelCase('shell characters in the type', 'services', 's.json', JSON.stringify({ svc: { pkg: './component', type: 'x;rm -rf /' } }, null, 2), /service "svc": "x;rm -rf \/" is not a valid type name/),
  modelCase('no type', 'services', 's.json', JSON.stringify({ svc: { pkg: './component' } }, null, 2), /s\.json:2: service "svc": has no "type"/),
  modelCase('no pkg', 'services', 's.json', JSON.stringify({ svc: { type: 'package' } }, null, 2), /s\.json:2: service "svc": has no "pkg"/),
  modelCase('a pkg that is a number', 'services', 's.json', JSON.stringify({ svc: { pkg: 42, type: 'package' } }, null, 2), /service "svc": expected a folder, a tarball/),
  modelCase('a provided container with a slash', 'services', 's.json', JSON.stringify({ svc: { pkg: './component', type: 'package', providesContainers: { 'x/../../y': {} } } }, null, 2), /service "svc": "x\/\.\.\/\.\.\/y" is not a valid container name/),
  modelCase('a providesContainer with a slash', 'services', 's.json', JSON.stringify({ svc: { pkg: './component', type: 'package', providesContainer: '../box' } }, null, 2), /service "svc": "\.\.\/box" is not a valid container name/),
  modelCase('a NUL byte in a provided container', 'services', 's.json', JSON.stringify({ svc: { pkg: './component', type: 'package', providesContainers: { box: { mysqlPassword: `${SECRET}\u0000` } } } }, null, 2), /providesContainers\.box\.mysqlPassword holds a NUL byte/),
  modelCase('a dependency that is not a service', 'services', 's.json', JSON.stringify({ svc: { pkg: './component', type: 'package', dependsOn: { db: 'nope' } } }, null, 2), /service "svc": dependsOn db: "nope" is not a service of the model/),
  modelCase('a dependency named constructor', 'services', 's.json', JSON.stringify({ svc: { pkg: './component', type: 'package', dependsOn: { db: 'constructor' } } }, null, 2), /dependsOn db: "constructor" is not a service of the model/),
  modelCase('a dependency named toString', 'services', 's.json', JSON.stringify({ svc: { pkg: './component', type: 'package', connectsTo: ['toString'] } }, null, 2), /connectsTo 0: "toString" is not a service of the model/),
  modelCase('a dependency cycle', 'services', 's.json', JSON.stringify({ svc: { pkg: './component', type: 'package', dependsOn: ['svc'] } }, null, 2), /dependency cycle: svc -> svc/),
  modelCase('a service that is no object', 'services', 's.json', JSON.stringify({ svc: 'x' }, null, 2), /s\.json:2: service "svc": must be an object/),
  modelCase('a services model that is a list', 'services', 's.json', '[]', /s\.json:1: the services model must map service names to services/),
  modelCase('a services function that throws', 'services', 's.mjs', `export default () => { throw new Error('services exploded'); };\n`, /s\.mjs: the services model function failed: services exploded/),
  modelCase('a services model with a throwing getter', 'services', 's.mjs', `export default { get svc() { throw new Error('getter exploded'); } };\n`, /s\.mjs: reading the services model failed: getter exploded/),
  modelCase('services as a rejected promise', 'services', 's.mjs', `export default Promise.reject(new Error('later'));\n`, /s\.mjs: the services model's default export is a promise that failed: later/),
);
add(
  modelCase('a service name with a slash', 'dist', 'd.json', JSON.stringify({ '../svc': ['m'] }, null, 2), /d\.json:2: "\.\.\/svc" is not a valid service name/),
  modelCase('constructor as a service', 'dist', 'd.json', JSON.stringify({ s: ['constructor'] }, null, 2), /d\.json:\d+: service "s": target "constructor" is not a target of the infrastructure model/),
  modelCase('toString as a service', 'dist', 'd.json', JSON.stringify({ toString: ['m'] }, null, 2), /d\.json:2: "toString" cannot be a service name/),
  modelCase('__proto__ as a service', 'dist', 'd.json', '{"__proto__": ["m"]}', /d\.json:1: "__proto__" cannot be a service name/),
  modelCase('a service the services model lacks', 'dist', 'd.json', JSON.stringify({ svc: ['m'], ghost: ['m'] }, null, 2), /d\.json:5: service "ghost" is not in the services model/),
  modelCase('a target that is not there', 'dist', 'd.json', JSON.stringify({ svc: ['nowhere'] }, null, 2), /d\.json:\d+: service "svc": target "nowhere" is not a target of the infrastructure model/),
  modelCase('a target named __proto__', 'dist', 'd.json', JSON.stringify({ svc: ['__proto__'] }, null, 2), /target "__proto__" is not a target of the infrastructure model/),
  modelCase('a container name with a slash', 'dist', 'd.json', JSON.stringify({ svc: { targets: [{ target: 'm', container: '../../../../etc/shadow' }] } }, null, 2), /d\.json:\d+: service "svc": mapping 1: "\.\.\/\.\.\/\.\.\/\.\.\/etc\/shadow" is not a valid container name/),
  modelCase('a container x/../../escape', 'dist', 'd.json', JSON.stringify({ svc: { targets: [{ target: 'm', container: 'x/../../../../escape' }] } }, null, 2), /mapping 1: "x\/\.\.\/\.\.\/\.\.\/\.\.\/escape" is not a valid container name/),
  modelCase('an empty container name', 'dist', 'd.json', JSON.stringify({ svc: { targets: [{ target: 'm', container: '' }] } }, null, 2), /mapping 1: "" is not a valid container name/),
  modelCase('a container that is a number', 'dist', 'd.json', JSON.stringify({ svc: { targets: [{ target: 'm', container: 7 }] } }, null, 2), /mapping 1: a container name must be a string/),
  modelCase('a mapping without a target', 'dist', 'd.json', JSON.stringify({ svc: { targets: [{ container: 'box' }] } }, null, 2), /mapping 1: expected \{ target, container\? \}/),
  modelCase('an unknown mapping key', 'dist', 'd.json', JSON.stringify({ svc: { targets: [{ target: 'm', port: 1 }] } }, null, 2), /mapping 1: unknown key "port"/),
  modelCase('a service mapped twice', 'dist', 'd.json', JSON.stringify({ svc: ['m', 'm'] }, null, 2), /service "svc": mapped twice to target "m"/),
  modelCase('targets that are no list', 'dist', 'd.json', JSON.stringify({ svc: 'm' }, null, 2), /service "svc": expected a list of targets/),
  modelCase('a distribution that is a list', 'dist', 'd.json', '["m"]', /d\.json:1: the distribution model must map service names to targets/),
  modelCase('a distribution function that throws', 'dist', 'd.mjs', `export default () => { throw new Error('distribution exploded'); };\n`, /d\.mjs: the distribution model function failed: distribution exploded/),
  modelCase('a target object that matches nothing', 'dist', 'd.mjs', `export default () => ({ svc: [{ properties: { hostname: 'elsewhere', password: '${SECRET}' } }] });\n`, /service "svc": a target object that matches no target/),
);
const packagesCase = (name: string, text: string, message: RegExp): Case => ({ name: `packages model: ${name}`, files: { 'p.json': text }, args: ['deploy', '-i', '@/infra.json', '-P', '@case/p.json', '--dry-run'], message });
add(
  packagesCase('a target that is not there', JSON.stringify({ nowhere: ['./c'] }, null, 2), /p\.json:2: target "nowhere" is not in the infrastructure model/),
  packagesCase('a target named constructor', JSON.stringify({ constructor: ['./c'] }, null, 2), /p\.json:2: "constructor" cannot be a target name/),
  packagesCase('a target named __proto__', '{"__proto__": ["./c"]}', /p\.json:1: "__proto__" cannot be a target name/),
  packagesCase('packages that are no list', JSON.stringify({ m: './c' }, null, 2), /p\.json:2: target "m": the packages must be a list/),
  packagesCase('a package that is a number', JSON.stringify({ m: [42] }, null, 2), /target "m", package 1: expected a path, a tarball, "npm:<spec>" or a component\(\.\.\.\), got 42/),
  packagesCase('a package that is an object', JSON.stringify({ m: [{ properties: { password: SECRET } }] }, null, 2), /target "m", package 1: .* got an object/),
  packagesCase('a model that is a list', '[]', /p\.json:1: the packages model must map target names to lists of packages/),
);

// ---------------------------------------------------------------- archives
const archives = path.join(dir, 'archives');
await mkdir(path.join(archives, 'pkg'), { recursive: true });
// Random bytes: they do not compress, so a cut-off copy really is cut off.
await writeFile(path.join(archives, 'pkg/blob'), randomBytes(300_000));
await run('tar', ['-czf', path.join(archives, 'full.tgz'), '-C', archives, 'pkg']);
await run('sh', ['-c', `head -c 4000 ${archives}/full.tgz > ${archives}/truncated.tgz`]);
await run('sh', ['-c', `head -c 100 ${archives}/full.tgz > ${archives}/header-only.tgz`]);
await writeFile(path.join(archives, 'not-gzip.tgz'), 'this is not an archive\n');
await run('tar', ['-cf', path.join(archives, 'full.tar'), '-C', archives, 'pkg']);
await run('sh', ['-c', `head -c 2000 ${archives}/full.tar > ${archives}/truncated.tar`]);
// Hostile members: a path climbing out, an absolute path, a link out of the folder, a hard link, a device.
const hostile = path.join(archives, 'hostile');
await mkdir(path.join(hostile, 'inside'), { recursive: true });
await writeFile(path.join(hostile, 'inside/file'), 'x\n');
await run('tar', ['-czf', path.join(archives, 'dotdot.tgz'), '-C', hostile, '--transform', 's,^inside/file,../../escaped,', 'inside/file']);
await run('tar', ['-czf', path.join(archives, 'absolute.tgz'), '-C', hostile, '--transform', 's,^inside/file,/tmp/dysnomia-absolute-escape,', '-P', 'inside/file']);
await symlink('/etc/passwd', path.join(hostile, 'inside/link'));
await run('tar', ['-czf', path.join(archives, 'symlink-out.tgz'), '-C', hostile, 'inside/link']);
await run('tar', ['-czf', path.join(archives, 'hardlink.tgz'), '-C', hostile, '--hard-dereference', 'inside/file', '--transform', 's,^inside/file,inside/again,', 'inside/file']).catch(() => undefined);
const archiveCase = (name: string, args: string[], message: RegExp, code = 1): Case => ({ name: `archive: ${name}`, args, message, code });
add(
  archiveCase('a cut-off gzip stream', ['store', '--add', '@/archives/truncated.tgz'], /truncated\.tgz: unreadable or incomplete archive/),
  archiveCase('only a gzip header', ['store', '--add', '@/archives/header-only.tgz'], /header-only\.tgz: unreadable or incomplete archive/),
  archiveCase('a .tgz that is no archive', ['store', '--add', '@/archives/not-gzip.tgz'], /not-gzip\.tgz: unreadable or incomplete archive/),
  archiveCase('a cut-off tar', ['store', '--add', '@/archives/truncated.tar'], /truncated\.tar: unreadable or incomplete archive/),
  archiveCase('a member climbing out with ..', ['store', '--add', '@/archives/dotdot.tgz'], /dotdot\.tgz: archive entry '\.\.\/\.\.\/escaped' refused: '\.\.' climbs out of the folder/, 2),
  archiveCase('an absolute member path', ['store', '--add', '@/archives/absolute.tgz'], /absolute\.tgz: archive entry '\/tmp\/dysnomia-absolute-escape' refused: absolute path/, 2),
  archiveCase('a link pointing out of the folder', ['store', '--add', '@/archives/symlink-out.tgz'], /symlink-out\.tgz: archive entry 'inside\/link' refused: the link points outside the folder/, 2),
  { name: 'archive: store --import of text', args: ['store', '--import'], input: 'not an archive\n', code: 1, message: /archive|header/ },
  { name: 'archive: store --import of nothing', args: ['store', '--import'], input: '', code: 1, message: /archive|header|empty/ },
  { name: 'archive: store --import of a header naming ../', args: ['store', '--import'], input: `${JSON.stringify({ version: 1, entries: [{ entry: '../../etc', references: [], sha256: 'sha256:00', size: 1 }] })}\n`, code: 1, message: /\.\.\/\.\.\/etc|not a store entry|archive/ },
);

// ---------------------------------------------------------------- the run
/** Every path below the folders a bad input must leave alone, with sizes (the build cache of this machine's store aside). */
async function listing(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (root: string, relative: string): Promise<void> => {
    const info = await lstat(path.join(root, relative)).catch(() => undefined);
    if (info === undefined) return;
    out.push(`${root === state ? 'state' : 'machine'}/${relative}:${info.isDirectory() ? 'd' : info.size}`);
    if (!info.isDirectory()) return;
    for (const name of (await readdir(path.join(root, relative))).sort()) {
      const child = relative === '' ? name : `${relative}/${name}`;
      if (root === state && ['store', 'deploy-cache'].includes(child)) continue;
      await walk(root, child);
    }
  };
  await walk(state, '');
  await walk(machine, '');
  return out;
}

t.ok(cases.length >= 150, `${cases.length} cases`);
let index = 0;
for (const c of cases) {
  const caseDir = path.join(dir, 'cases', String(index++));
  t.test(c.name, async (t) => {
    for (const [file, text] of Object.entries(c.files ?? {})) await writeFileIn(path.join(caseDir, file), text);
    const args = c.args.map((a) => a.replace(/^@case\//, `${caseDir}/`).replace(/^@\//, `${dir}/`));
    const before = await listing();
    const result = await runCommand(c.program ?? 'dysnomia', args, { env, cwd: dir, ...(c.input !== undefined ? { input: c.input } : {}) });
    const all = `${result.stdout}\n${result.stderr}`;
    t.equal(result.code, c.code ?? 2, `exit status (${args.join(' ').slice(0, 160)})\n${result.stderr.slice(0, 800)}`);
    t.match(result.stderr, c.message, 'the message names what is wrong');
    t.notMatch(all, /^\s+at .*\(?[/\w.-]+:\d+:\d+\)?$/m, 'no stack trace');
    t.notMatch(all, /internal error/, 'not an internal error');
    t.notMatch(all, SECRET, 'no secret value');
    t.same(await listing(), before, 'nothing changed on the machine');
    const ran = await lstat(`${record}.args`).then(() => true, () => false);
    t.notOk(ran, 'no module ran');
    if (ran) await rm(`${record}.args`, { force: true });
  });
}
