import { mkdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, runCommand, tempDir } from './helpers/cli.js';
import { parseNulList, RECORDER_MODULE, writeExecutable, writeFileIn } from './helpers/fixtures.js';

/** A profile as a deployment leaves it: profiles/NAME -> NAME-1-link -> a generation folder. */
async function installProfile(stateDir: string, name: string, generation: string) {
  await mkdir(path.join(stateDir, 'profiles'), { recursive: true });
  await symlink(generation, path.join(stateDir, 'profiles', `${name}-1-link`));
  await symlink(`${name}-1-link`, path.join(stateDir, 'profiles', name));
}

t.test('modules and containers provided by an installed profile are found with no environment variable', async (t) => {
  const dir = await tempDir(t);
  const stateDir = path.join(dir, 'state');
  const record = path.join(dir, 'record');
  const generation = path.join(dir, 'store/generation-1');
  await writeExecutable(path.join(generation, 'etc/dysnomia/modules/profiled'), RECORDER_MODULE);
  await writeFileIn(path.join(generation, 'etc/dysnomia/containers/profiled-box'), `type=profiled\nrecordTo=${record}\nport=3307\n`);
  await installProfile(stateDir, 'containers', generation);
  // The state folder comes from the project's config file, so no DYSNOMIA_* variable is set at all.
  const project = path.join(dir, 'project');
  await writeFileIn(path.join(project, '.dysnomiarc.json'), JSON.stringify({ stateDir: '../state' }));
  await mkdir(path.join(project, 'component'));

  const result = await dysnomia(['-o', 'activate', '-c', './component', '-C', 'profiled-box'], { cwd: project });
  t.equal(result.code, 0, result.stderr);
  t.same(parseNulList(await readFile(`${record}.args`, 'utf8')), ['activate', path.join(project, 'component'), 'profiled-box']);

  const containers = await runCommand('dysnomia-containers', ['--query-containers'], { cwd: project });
  t.match(containers.stdout.split('\n'), ['profiled-box'], 'the profile container is listed');

  const plugins = await dysnomia(['plugins', '--json'], { cwd: project });
  t.equal(plugins.code, 0, plugins.stderr);
  const listed = (JSON.parse(plugins.stdout) as Array<{ type: string; kind: string; foundBy: string; status: string }>).find((m) => m.type === 'profiled');
  t.match(listed, { kind: 'executable', status: 'active', foundBy: `profile ${path.join(stateDir, 'profiles/containers/etc/dysnomia/modules')}` });
});

t.test('libexec/dysnomia in a profile is searched too, and generation links are not profiles', async (t) => {
  const dir = await tempDir(t);
  const stateDir = path.join(dir, 'state');
  const record = path.join(dir, 'record');
  const generation = path.join(dir, 'gen');
  await writeExecutable(path.join(generation, 'libexec/dysnomia/libexec-type'), RECORDER_MODULE);
  await installProfile(stateDir, 'default', generation);
  await writeFileIn(path.join(dir, 'box'), `type=libexec-type\nrecordTo=${record}\n`);
  const result = await dysnomia(['-o', 'deactivate', '-c', dir, '-C', path.join(dir, 'box')], { env: { DYSNOMIA_STATEDIR: stateDir } });
  t.equal(result.code, 0, result.stderr);
  t.equal(parseNulList(await readFile(`${record}.args`, 'utf8'))[0], 'deactivate');

  const missing = await dysnomia(['-o', 'activate', '-c', dir, '-C', path.join(dir, 'box'), '-t', 'nothing-serves-this'], {
    env: { DYSNOMIA_STATEDIR: stateDir },
  });
  t.equal(missing.code, 2);
  const searchedProfiles = missing.stderr.split('\n').filter((line) => line.includes('/profiles/'));
  t.same(
    searchedProfiles.map((line) => line.trim()),
    [
      `- ${path.join(stateDir, 'profiles/default/etc/dysnomia/modules/nothing-serves-this')}`,
      `- ${path.join(stateDir, 'profiles/default/libexec/dysnomia/nothing-serves-this')}`,
    ],
    'only the profile itself is searched, not its generation link',
  );
});
