import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';

const run = promisify(execFile);

/** A folder package whose bin/<command> prints `output`. */
async function makeTool(dir: string, command: string, output: string): Promise<string> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  await writeFile(path.join(dir, 'bin', command), `#!/bin/sh\necho '${output}'\n`, { mode: 0o755 });
  return dir;
}

/** An npm package tarball (made with npm pack) whose command prints a greeting. */
async function makeNpmTarball(dir: string): Promise<string> {
  const folder = path.join(dir, 'npm-src');
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'package.json'), JSON.stringify({ name: 'npm-greeter', version: '0.1.0', bin: { 'npm-greeter': 'cli.js' } }));
  await writeFile(path.join(folder, 'cli.js'), '#!/usr/bin/env node\nconsole.log(`greetings from npm on node ${process.versions.node.split(".")[0]}`);\n');
  await run('npm', ['pack', '--pack-destination', dir], { cwd: folder });
  return path.join(dir, 'npm-greeter-0.1.0.tgz');
}

t.test('dysnomia profile: install sources of every kind, run them from the profile, roll back, switch, delete', async (t) => {
  const dir = await tempDir(t);
  const stateDir = path.join(dir, 'state');
  const env = { DYSNOMIA_STATEDIR: stateDir };
  const bin = (profile: string, command: string) => path.join(stateDir, 'profiles', profile, 'bin', command);
  await makeTool(path.join(dir, 'folder-tool'), 'folder-tool', 'from a folder');
  await makeTool(path.join(dir, 'package'), 'tarball-tool', 'from a tarball');
  await run('tar', ['-czf', path.join(dir, 'tarball-tool-1.0.tgz'), '-C', dir, 'package']);
  const npmTarball = await makeNpmTarball(dir);

  const first = await dysnomia(['profile', '--install', '--json', './folder-tool', './tarball-tool-1.0.tgz', `npm:${npmTarball}`], { env, cwd: dir });
  t.equal(first.code, 0, first.stderr);
  t.match(JSON.parse(first.stdout), { profile: 'default', generation: 1, changed: true, packages: [/-folder-tool$/, /-tarball-tool-1\.0$/, /-npm-greeter-0\.1\.0$/] });
  t.equal((await run(bin('default', 'folder-tool'))).stdout, 'from a folder\n');
  t.equal((await run(bin('default', 'tarball-tool'))).stdout, 'from a tarball\n');
  t.equal((await run(bin('default', 'npm-greeter'))).stdout, `greetings from npm on node ${process.versions.node.split('.')[0]}\n`);

  const same = await dysnomia(['profile', '--install', './folder-tool', './tarball-tool-1.0.tgz', `npm:${npmTarball}`], { env, cwd: dir });
  t.equal(same.stdout, 'profile default: unchanged, generation 1\n', 'the same packages again: no new generation');

  await makeTool(path.join(dir, 'folder-tool'), 'folder-tool', 'from a folder, version 2');
  const second = await dysnomia(['profile', '--install', './folder-tool'], { env, cwd: dir });
  t.equal(second.stdout, 'profile default: generation 2\n');
  t.equal((await run(bin('default', 'folder-tool'))).stdout, 'from a folder, version 2\n');
  await t.rejects(run(bin('default', 'tarball-tool')), 'the package set is exactly what was given');
  const packages = await dysnomia(['profile', '--packages'], { env });
  t.match(packages.stdout, /^\/.*\/store\/[0-9a-z]{32}-folder-tool\n$/);

  const generations = await dysnomia(['profile', '--list-generations', '--json'], { env });
  t.match(JSON.parse(generations.stdout), [
    { generation: 1, current: false, path: /-profile$/ },
    { generation: 2, current: true, path: /-profile$/ },
  ]);
  t.match((await dysnomia(['profile', '--list-generations'], { env })).stdout, /^ {3}1 {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n {3}2 {3}.*\(current\)\n$/);

  t.equal((await dysnomia(['profile', '--rollback'], { env })).stdout, 'profile default: generation 1\n');
  t.equal((await run(bin('default', 'folder-tool'))).stdout, 'from a folder\n', 'rollback brings back the previous programs');
  t.equal((await run(bin('default', 'npm-greeter'))).stdout.startsWith('greetings from npm'), true);
  const noEarlier = await dysnomia(['profile', '--rollback'], { env });
  t.equal(noEarlier.code, 1);
  t.match(noEarlier.stderr, 'profile default: no generation before 1 to roll back to');
  t.equal((await dysnomia(['profile', '--switch-to-generation', '2'], { env })).code, 0);
  t.equal((await run(bin('default', 'folder-tool'))).stdout, 'from a folder, version 2\n');

  const other = await dysnomia(['profile', '-p', 'tools', '--install', './tarball-tool-1.0.tgz'], { env, cwd: dir });
  t.equal(other.code, 0, other.stderr);
  t.equal((await run(bin('tools', 'tarball-tool'))).stdout, 'from a tarball\n');
  t.equal((await dysnomia(['profile', '--list'], { env })).stdout, 'default\ntools\n');
  t.equal((await run(bin('default', 'folder-tool'))).stdout, 'from a folder, version 2\n', 'the other profile is untouched');

  const deleted = await dysnomia(['profile', '--delete-generations', 'old', '--json'], { env });
  t.same(JSON.parse(deleted.stdout), { profile: 'default', deleted: [1] });
  const gc = await dysnomia(['store', '--gc', '--json'], { env });
  const removed = (JSON.parse(gc.stdout) as { removed: string[] }).removed;
  t.ok(removed.some((p) => p.endsWith('-npm-greeter-0.1.0')), 'the npm package only generation 1 had is collected');
  t.notOk(removed.some((p) => p.endsWith('-tarball-tool-1.0')), 'the tarball is still in the tools profile');
  t.equal((await run(bin('default', 'folder-tool'))).stdout, 'from a folder, version 2\n');
  t.equal((await run(bin('tools', 'tarball-tool'))).stdout, 'from a tarball\n');
});

t.test('dysnomia profile: conflicts (exit 1, both named) and bad usage (exit 2, the argument named)', async (t) => {
  const dir = await tempDir(t);
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'state') };
  await makeTool(path.join(dir, 'one'), 'same', 'one');
  await makeTool(path.join(dir, 'two'), 'same', 'two');
  const conflict = await dysnomia(['profile', '--install', './one', './two'], { env, cwd: dir });
  t.equal(conflict.code, 1);
  t.match(conflict.stderr, /bin\/same is provided by both [0-9a-z]{32}-(one|two) and [0-9a-z]{32}-(one|two)/);
  t.match(conflict.stderr, /-one/);
  t.match(conflict.stderr, /-two/);
  t.equal((await dysnomia(['profile', '--list'], { env })).stdout, '', 'no profile was made');

  const cases: Array<[string[], string]> = [
    [['profile'], 'no operation given'],
    [['profile', '--install'], '--install needs at least one argument'],
    [['profile', '--rollback', '--list'], 'only one operation at a time: --rollback and --list'],
    [['profile', '--switch-to-generation', 'two'], "--switch-to-generation takes a generation number, not 'two'"],
    [['profile', '--delete-generations', 'recent'], "--delete-generations: 'recent' is not old, a generation number or Nd (days)"],
    [['profile', '-p', 'a/b', '--rollback'], `--profile: invalid profile name "a/b": it has a "/"`],
    [['profile', '-p', '', '--rollback'], '--profile: invalid profile name "": it is empty'],
    [['profile', '--list', '-p', 'x'], '--list lists every profile'],
    [['profile', '--rollback', 'extra'], 'unexpected argument for --rollback: extra'],
    [['profile', '--rollback'], `no profile named default in ${path.join(dir, 'state/profiles')}`],
    [['profile', '--install', './not-there'], 'no such component source: ./not-there'],
  ];
  for (const [args, message] of cases) {
    const result = await dysnomia(args, { env, cwd: dir });
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, `dysnomia: error: ${message}`);
    t.notMatch(result.stderr, /^\s+at /m);
  }
});
