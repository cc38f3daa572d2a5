// A classic Dysnomia module that keeps its own markers the way Dysnomia's shell
// util does (an empty regular file in activated/, moved to garbage/ on deactivate,
// tested with [ -f ] before collecting), run unchanged through the CLI: the engine
// must leave those markers as the module keeps them, or the module never collects.
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, runCommand, tempDir } from './helpers/cli.js';
import { writeExecutable } from './helpers/fixtures.js';

const MODULE = `#!/bin/bash
set -e
# Shaped like Dysnomia's util: markComponentAsActive, markComponentAsGarbage, componentMarkedAsGarbage, unmarkComponentAsGarbage.
componentName=$(basename "$2")
containerName=$(basename "$3")
activatedPath="$DYSNOMIA_STATEDIR/activated/$containerName/$componentName"
garbagePath="$DYSNOMIA_STATEDIR/garbage/$containerName/$componentName"
markComponentAsActive() {
  mkdir -p "$(dirname "$activatedPath")"
  if [ -f "$garbagePath" ]; then mv "$garbagePath" "$activatedPath"; else touch "$activatedPath"; fi
}
markComponentAsGarbage() {
  if [ ! -e "$garbagePath" ]; then mkdir -p "$(dirname "$garbagePath")"; mv "$activatedPath" "$garbagePath"; fi
}
componentMarkedAsGarbage() { [ -f "$garbagePath" ]; }
unmarkComponentAsGarbage() { rm -f "$garbagePath"; }

case "$1" in
  activate)
    [ -e "$dataDir/$componentName" ] || echo "data of $componentName" > "$dataDir/$componentName"
    markComponentAsActive
    ;;
  deactivate)
    markComponentAsGarbage
    ;;
  collect-garbage)
    if componentMarkedAsGarbage; then
      rm -f "$dataDir/$componentName"
      echo "collected $componentName" >> "$dataDir/journal"
      unmarkComponentAsGarbage
    fi
    ;;
esac
`;

t.test('activate, deactivate and dysnomia-containers --collect-garbage keep the markers a classic module keeps itself', async (t) => {
  const dir = await tempDir(t, 'dysnomia-classic-markers-');
  const state = path.join(dir, 'state');
  const data = path.join(dir, 'data');
  await writeExecutable(path.join(dir, 'modules/classicdb'), MODULE);
  await writeExecutable(path.join(dir, 'containers/db'), `type=classicdb\ndataDir=${data}\n`);
  await writeExecutable(path.join(dir, 'components/db/shop/README'), 'the shop database\n');
  await writeExecutable(path.join(data, '.keep'), '');
  const env = {
    DYSNOMIA_STATEDIR: state,
    DYSNOMIA_MODULES_PATH: path.join(dir, 'modules'),
    DYSNOMIA_CONTAINERS_PATH: path.join(dir, 'containers'),
    DYSNOMIA_COMPONENTS_PATH: path.join(dir, 'components'),
  };
  const component = path.join(dir, 'components/db/shop');
  const run = (operation: string) => dysnomia(['--operation', operation, '--component', component, '--container', 'db'], { env });
  const activated = path.join(state, 'activated/db/shop');
  const garbage = path.join(state, 'garbage/db/shop');
  const kind = async (file: string) => {
    const info = await lstat(file).catch(() => undefined);
    if (info === undefined) return 'absent';
    if (!info.isFile()) return 'not a regular file';
    return (await readFile(file, 'utf8')) === '' ? 'empty file' : 'file with text';
  };

  for (const round of [1, 2]) {
    const result = await run('activate');
    t.equal(result.code, 0, result.stderr);
    t.equal(await kind(activated), 'empty file', `activate #${round}: the module's own marker, left as the module wrote it`);
  }
  t.equal(await readFile(path.join(data, 'shop'), 'utf8'), 'data of shop\n');

  const deactivated = await run('deactivate');
  t.equal(deactivated.code, 0, deactivated.stderr);
  t.equal(await kind(activated), 'absent', 'the module moved its marker away');
  t.equal(await kind(garbage), 'empty file', 'to garbage/, where [ -f ] finds it');
  t.ok(await lstat(path.join(data, 'shop')), 'deactivate keeps the data');

  const collected = await runCommand('dysnomia-containers', ['--collect-garbage'], { env });
  t.equal(collected.code, 0, collected.stderr);
  t.equal(await readFile(path.join(data, 'journal'), 'utf8'), 'collected shop\n', "the module's own test of its garbage marker held");
  await t.rejects(lstat(path.join(data, 'shop')), { code: 'ENOENT' }, 'the data is gone');
  t.equal(await kind(garbage), 'absent', 'the module removed its garbage marker');

  // A module that keeps no markers gets the engine's (a regular file naming the component), removed again on deactivate.
  await writeExecutable(path.join(dir, 'modules/plain'), '#!/bin/sh\nexit 0\n');
  await writeExecutable(path.join(dir, 'containers/plainbox'), 'type=plain\n');
  await writeExecutable(path.join(dir, 'components/plainbox/thing/README'), 'a thing\n');
  const thing = path.join(dir, 'components/plainbox/thing');
  t.equal((await dysnomia(['--operation', 'activate', '--component', thing, '--container', 'plainbox'], { env })).code, 0);
  t.equal(await readFile(path.join(state, 'activated/plainbox/thing'), 'utf8'), `${thing}\n`, "the engine's marker names the component");
  t.equal((await dysnomia(['--operation', 'deactivate', '--component', thing, '--container', 'plainbox'], { env })).code, 0);
  t.equal(await kind(path.join(state, 'activated/plainbox/thing')), 'absent');
  t.equal(await kind(path.join(state, 'garbage/plainbox/thing')), 'absent', 'no garbage marker the module did not make');
});
