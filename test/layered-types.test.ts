import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia } from './helpers/cli.js';
import { failureText, sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';
import { writeFileIn } from './helpers/fixtures.js';

// deploy --layers where an upper layer's type exists only once a lower layer is deployed: the
// lower layer's component ships a Dysnomia executable module (etc/dysnomia/modules/stamp) and a
// container of that type; the upper layer's service of type "stamp" runs through that module.
t.setTimeout(600_000);
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-layered-types-');
const out = path.join(dir, 'out');
const infrastructure = path.join(dir, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test2: sshTarget(test2, knownHosts, state2) }, null, 2));
const project = path.join(dir, 'project');
await writeProgram(path.join(project, 'tools/bin/wrapper'), '#!/bin/sh\nexit 0\n');
await writeProgram(
  path.join(project, 'tools/etc/dysnomia/modules/stamp'),
  `#!/bin/sh
# A Dysnomia executable module: operation, component, container; the container's properties in the environment.
set -e
mkdir -p "$outDir"
case "$1" in
  activate) echo "stamped $(cat "$2/text") in $stampColour" > "$outDir/$(basename "$2" | sed 's/^[0-9a-z]*-//')" ;;
  deactivate) rm -f "$outDir/$(basename "$2" | sed 's/^[0-9a-z]*-//')" ;;
esac
`,
);
await writeFileIn(path.join(project, 'tools/etc/dysnomia/containers/stampbox'), `type=stamp\noutDir=${out}\nstampColour=red\n`);
await writeFileIn(path.join(project, 'note/text'), 'hello\n');
await writeFile(path.join(project, 'tools.mjs'), "export default () => ({ tools: { name: 'tools', pkg: './tools', type: 'wrapper' } });\n");
await writeFile(path.join(project, 'tools.json'), JSON.stringify({ tools: ['test1'] }));
await writeFile(path.join(project, 'notes.mjs'), "export default () => ({ note: { name: 'note', pkg: './note', type: 'stamp' } });\n");
await writeFile(path.join(project, 'notes.json'), JSON.stringify({ note: { targets: [{ target: 'test1', container: 'stampbox' }] } }));
const layers = path.join(project, 'layers.json');
await writeFile(layers, JSON.stringify([{ name: 'tools', services: 'tools.mjs', distribution: 'tools.json' }, { name: 'notes', services: 'notes.mjs', distribution: 'notes.json' }]));

t.test('a type served by a module a lower layer installed', async (t) => {
  const result = await dysnomia(['deploy', '--layers', layers, '-i', infrastructure], { env });
  t.equal(result.code, 0, failureText(result));
  t.equal(await readFile(path.join(out, 'note'), 'utf8'), 'stamped hello in red\n', 'the upper layer ran through the lower layer’s module, in its container');
  const gone = await dysnomia(['deploy', '--layers', layers, '--undeploy'], { env });
  t.equal(gone.code, 0, failureText(gone));
  await t.rejects(readFile(path.join(out, 'note')), 'undeployed through the same module');
});
