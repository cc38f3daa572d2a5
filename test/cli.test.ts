import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import * as containersCommand from '../packages/engine/src/cli/containers-command.js';
import * as deployCommand from '../packages/deploy/src/cli/deploy-command.js';
import * as stateCommand from '../packages/deploy/src/cli/state-command.js';
import * as queryCommand from '../packages/deploy/src/cli/query-command.js';
import * as reconstructCommand from '../packages/deploy/src/cli/reconstruct-command.js';
import * as initCommand from '../packages/engine/src/cli/init-command.js';
import * as collectGarbageCommand from '../packages/deploy/src/cli/collect-garbage-command.js';
import * as diagnoseCommand from '../packages/deploy/src/cli/diagnose-command.js';
import * as snapshotsOnMachinesCommand from '../packages/deploy/src/cli/snapshots-on-machines-command.js';
import * as operationCommand from '../packages/engine/src/cli/operation-command.js';
import * as pluginsCommand from '../packages/engine/src/cli/plugins-command.js';
import * as profileCommand from '../packages/engine/src/cli/profile-command.js';
import * as snapshotsCommand from '../packages/engine/src/cli/snapshots-command.js';
import * as storeCommand from '../packages/engine/src/cli/store-command.js';
import { dysnomia, REPO_ROOT, runCommand, tempDir } from './helpers/cli.js';

const run = promisify(execFile);
import { RECORDER_MODULE, writeExecutable, writeFileIn } from './helpers/fixtures.js';

type Spec = Record<string, { type: string; short?: string }>;

/** Every option the parser accepts is in the help, and every --option the help names is accepted. */
function checkHelpMatchesOptions(t: Test, help: string, options: Spec, ofOtherCommands: string[] = []) {
  for (const [name, spec] of Object.entries(options)) {
    const long = name.length === 1 ? `-${name}` : `--${name}`;
    t.match(help, new RegExp(`(^|[\\s,\\[])${long}(?![\\w-])`, 'm'), `help documents ${long}`);
    if (spec.short) t.match(help, new RegExp(`-${spec.short}, ${long}\\b|-${spec.short}\\b`), `help documents -${spec.short}`);
  }
  const named = new Set([...help.matchAll(/(?<![\w-])--([a-z][a-z-]*[a-z])/g)].map((m) => m[1]!));
  for (const option of named) {
    if (ofOtherCommands.includes(option)) continue;
    t.ok(option in options, `--${option} named in the help is accepted`);
  }
}

t.test('--help tells the truth about the options of each command', async (t) => {
  t.test('dysnomia', async (t) => checkHelpMatchesOptions(t, operationCommand.HELP, operationCommand.OPTIONS, ['json', 'to', 'plugin']));
  t.test('dysnomia-containers', async (t) => checkHelpMatchesOptions(t, containersCommand.HELP, containersCommand.OPTIONS));
  t.test('dysnomia plugins', async (t) => checkHelpMatchesOptions(t, pluginsCommand.HELP, pluginsCommand.OPTIONS, ['type']));
  t.test('dysnomia-snapshots', async (t) => checkHelpMatchesOptions(t, snapshotsCommand.HELP, snapshotsCommand.OPTIONS));
  t.equal((await runCommand('dysnomia-snapshots', ['--help'])).stdout, snapshotsCommand.HELP);
  const printed = await dysnomia(['--help']);
  t.equal(printed.code, 0);
  t.equal(printed.stdout, operationCommand.HELP);
  t.equal((await runCommand('dysnomia-containers', ['-h'])).stdout, containersCommand.HELP);
  t.equal((await dysnomia(['containers', '--help'])).stdout, containersCommand.HELP, 'dysnomia containers is dysnomia-containers');
  t.equal((await dysnomia(['plugins', '--help'])).stdout, pluginsCommand.HELP);
  t.test('dysnomia store', async (t) => checkHelpMatchesOptions(t, storeCommand.HELP, storeCommand.OPTIONS));
  t.test('dysnomia profile', async (t) => checkHelpMatchesOptions(t, profileCommand.HELP, profileCommand.OPTIONS, ['gc']));
  t.equal((await dysnomia(['store', '--help'])).stdout, storeCommand.HELP);
  t.equal((await dysnomia(['profile', '-h'])).stdout, profileCommand.HELP);
  t.test('dysnomia deploy', async (t) => checkHelpMatchesOptions(t, deployCommand.HELP, deployCommand.OPTIONS));
  t.equal((await dysnomia(['deploy', '--help'])).stdout, deployCommand.HELP);
  t.test('dysnomia state', async (t) => checkHelpMatchesOptions(t, stateCommand.HELP, stateCommand.OPTIONS));
  t.equal((await dysnomia(['state', '--help'])).stdout, stateCommand.HELP);
  t.test('dysnomia query', async (t) => checkHelpMatchesOptions(t, queryCommand.HELP, queryCommand.OPTIONS));
  t.equal((await dysnomia(['query', '--help'])).stdout, queryCommand.HELP);
  t.test('dysnomia reconstruct', async (t) => checkHelpMatchesOptions(t, reconstructCommand.HELP, reconstructCommand.OPTIONS));
  t.equal((await dysnomia(['reconstruct', '--help'])).stdout, reconstructCommand.HELP);
  t.test('dysnomia init', async (t) => checkHelpMatchesOptions(t, initCommand.HELP, initCommand.OPTIONS, ['test']));
  t.equal((await dysnomia(['init', '--help'])).stdout, initCommand.HELP);
  t.test('dysnomia collect-garbage -i', async (t) => checkHelpMatchesOptions(t, collectGarbageCommand.HELP, collectGarbageCommand.OPTIONS));
  t.equal((await dysnomia(['collect-garbage', '-i', 'infrastructure.json', '--help'])).stdout, collectGarbageCommand.HELP);
  t.test('dysnomia diagnose', async (t) => checkHelpMatchesOptions(t, diagnoseCommand.HELP, diagnoseCommand.OPTIONS, ['shell']));
  t.equal((await dysnomia(['diagnose', '--help'])).stdout, diagnoseCommand.HELP);
  for (const word of ['snapshot', 'restore', 'clean-snapshots'] as const) {
    const help = snapshotsOnMachinesCommand.HELP[word];
    t.test(`dysnomia ${word} -i`, async (t) => checkHelpMatchesOptions(t, help, snapshotsOnMachinesCommand.OPTIONS));
    t.equal((await dysnomia([word, '-i', 'infrastructure.json', '--help'])).stdout, help, `dysnomia ${word} -i --help`);
  }
  t.equal((await dysnomia(['clean-snapshots', '--help'])).stdout, snapshotsOnMachinesCommand.HELP['clean-snapshots'], 'clean-snapshots is a coordinator command without -i too');
});

t.test('--version names the engine and its plugin API', async (t) => {
  for (const [program, args] of [
    ['dysnomia', ['--version']],
    ['dysnomia', ['-v']],
    ['dysnomia-containers', ['--version']],
  ] as const) {
    const result = await runCommand(program, [...args]);
    t.equal(result.code, 0);
    t.equal(result.stdout, `${program} (@dysnomia/engine 1.0.0, plugin API 1.0.0)\n`);
  }
  for (const program of ['dysnomia', 'dysnomia-containers', 'dysnomia-snapshots']) {
    const { stdout } = await run(path.join(REPO_ROOT, 'node_modules/.bin', program), ['--version']);
    t.equal(stdout, `${program} (@dysnomia/engine 1.0.0, plugin API 1.0.0)\n`, `npm linked the ${program} command`);
  }
});

t.test('bad usage: exit status 2, the argument named, a pointer to --help, no stack trace', async (t) => {
  const cases: Array<[string[], string]> = [
    [['--operation', 'activate', '--bogus'], "Unknown option '--bogus'"],
    [['--operation', 'explode', '-c', '/tmp', '-C', '/tmp/x'], '--operation explode: unknown operation'],
    [['--component', '/tmp', '-C', 'x'], 'no operation given'],
    [['activate', '-C', 'x'], 'no component given: pass --component PATH'],
    [['activate', '-c', '/tmp'], 'no container given: pass --container NAME|PATH, or --environment with --type TYPE'],
    [['activate', '-c', '/tmp', '-E'], '--environment needs --type TYPE'],
    [['activate', '--operation', 'deactivate', '-c', '/tmp', '-C', 'x'], 'two operations given: "activate" and --operation deactivate'],
    [['--shell', '-o', 'activate', '-c', '/tmp', '-C', 'x'], '--shell takes no operation'],
    [['-o', 'activate', '--command', 'ls', '-c', '/tmp', '-C', 'x'], '--command goes with --shell'],
    [['activate', 'extra', '-c', '/tmp', '-C', 'x'], 'unexpected argument "extra"'],
    [['deploy', '--build-on-targets', '--rollback'], '--build-on-targets goes with a deployment, not with --rollback'],
    [['deploy', '--undeploy', '--rollback'], '--undeploy goes alone (with --profile), not with --rollback'],
    [['deploy', '-i', 'i.json', '-s', 's.js'], '-s SERVICES needs -d DISTRIBUTION'],
    [['activate', '-c', '/tmp', '-C', 'a/../../etc/passwd'], '--container a/../../etc/passwd: a name has no "/"'],
    [['activate', '-c', 'x/../../etc', '--environment', '-t', 'package'], '--component x/../../etc: a name has no "/"'],
  ];
  for (const [args, message] of cases) {
    const result = await dysnomia(args);
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, `dysnomia: error: ${message}`);
    // A command's usage error points to that command's help; an operation's to dysnomia's.
    t.match(result.stderr, args[0] === 'deploy' ? "Try 'dysnomia deploy --help' for the options." : "Try 'dysnomia --help' for the options.");
    t.notMatch(result.stderr, /^\s+at /m);
  }
});

t.test('an unknown type lists every place searched and the npm packages to install', async (t) => {
  const dir = await tempDir(t);
  await writeFileIn(path.join(dir, 'box'), 'type=no-such-type\n');
  const result = await dysnomia(['activate', '-c', dir, '-C', path.join(dir, 'box')], {
    env: { DYSNOMIA_STATEDIR: path.join(dir, 'state'), DYSNOMIA_MODULES_PATH: path.join(dir, 'modules') },
    cwd: dir,
  });
  t.equal(result.code, 2);
  t.match(result.stderr, 'no module found for type "no-such-type"');
  t.match(result.stderr, `- ${path.join(dir, 'modules/no-such-type')}`);
  t.match(result.stderr, `- profiles: none installed in ${path.join(dir, 'state/profiles')}`);
  t.match(result.stderr, '- npm package @dysnomia/plugin-no-such-type');
  t.match(result.stderr, '- npm package dysnomia-plugin-no-such-type');
  t.match(result.stderr, 'npm install @dysnomia/plugin-no-such-type, or dysnomia-plugin-no-such-type');

  const container = await dysnomia(['activate', '-c', dir, '-C', 'nowhere'], { env: { DYSNOMIA_CONTAINERS_PATH: path.join(dir, 'c') }, cwd: dir });
  t.equal(container.code, 2);
  t.match(container.stderr, 'no container configuration found for "nowhere"');
  t.match(container.stderr, `- ${path.join(dir, 'c/nowhere')}[.json]`);
  t.match(container.stderr, '- /etc/dysnomia/containers/nowhere[.json]');
});

t.test('a plugin with a syntax error: file and line, exit status 2', async (t) => {
  const dir = await tempDir(t);
  const plugin = await writeFileIn(path.join(dir, 'broken.mjs'), '// a plugin\nexport default { type: "x", engine: "^1.0.0", activate() {, deactivate() {} };\n');
  const result = await dysnomia(['activate', '-c', dir, '-E', '-t', plugin], { env: { DYSNOMIA_STATEDIR: path.join(dir, 'state') } });
  t.equal(result.code, 2);
  t.equal(result.stderr, `dysnomia: error: cannot load plugin "${plugin}": ${plugin}:2: syntax error: Unexpected token ','\n`);
});

t.test('--shell --command runs in an environment holding the container properties', async (t) => {
  const dir = await tempDir(t);
  const module = await writeExecutable(path.join(dir, 'modules/recorder'), `${RECORDER_MODULE.split('\n')[0]}\nif [ "$1" = shell ]; then export FROM_MODULE="module says hi"; fi\n`);
  await writeFileIn(path.join(dir, 'box'), 'type=recorder\ngreeting="hello there"\nlist=(a "b c")\n');
  await mkdir(path.join(dir, 'component'));
  const result = await dysnomia(
    ['--shell', '-c', './component', '-C', './box', '--command', 'echo "$greeting|$list|$FROM_MODULE|$this_component|$this_dysnomia_module"; exit 7'],
    { env: { DYSNOMIA_MODULES_PATH: path.join(dir, 'modules'), DYSNOMIA_STATEDIR: path.join(dir, 'state') }, cwd: dir },
  );
  t.equal(result.code, 7, 'the exit status of the command');
  t.equal(result.stdout, `hello there|a b c|module says hi|${path.join(dir, 'component')}|${module}\n`);
});

t.test('a config file sets the modules and containers path, relative to its folder', async (t) => {
  const dir = await tempDir(t);
  const record = path.join(dir, 'record');
  await writeExecutable(path.join(dir, 'project/my-modules/recorder'), RECORDER_MODULE);
  await writeFileIn(path.join(dir, 'project/my-containers/box'), `type=recorder\nrecordTo=${record}\n`);
  await writeFileIn(
    path.join(dir, 'project/package.json'),
    JSON.stringify({ name: 'p', dysnomia: { modulesPath: ['my-modules'], containersPath: ['my-containers'], stateDir: 'state' } }),
  );
  await mkdir(path.join(dir, 'project/sub/component'), { recursive: true });
  const result = await dysnomia(['activate', '-c', './component', '-C', 'box'], { cwd: path.join(dir, 'project/sub') });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, 'recorder: activate done\n', 'found from a subfolder of the project, via package.json "dysnomia"');

  await writeFileIn(path.join(dir, 'bad/.dysnomiarc.json'), JSON.stringify({ modulePath: ['x'] }));
  const bad = await dysnomia(['activate', '-c', '/tmp', '-C', 'box'], { cwd: path.join(dir, 'bad') });
  t.equal(bad.code, 2);
  t.match(bad.stderr, `dysnomia: error: ${path.join(dir, 'bad/.dysnomiarc.json')}: unknown key "modulePath"`);
});
