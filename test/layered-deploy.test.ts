import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia } from './helpers/cli.js';
import { parseEvents, sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';
import { writeFileIn } from './helpers/fixtures.js';

// deploy --layers over sshd machines: a lower layer's service provides a container (its
// component ships the container file), the upper layer's services are deployed into it, in
// one command, with no infrastructure file edited between the layers.
t.setTimeout(600_000);
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-layered-');
const out = path.join(dir, 'out');
const infrastructure = path.join(dir, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test2: sshTarget(test2, knownHosts, state2) }, null, 2));

const project = path.join(dir, 'project');
/** The page host, version N: its wrapper says it runs; its component provides the container "pagehost". */
async function host(version: number): Promise<string> {
  const folder = path.join(project, `host-v${version}`);
  await writeProgram(path.join(folder, 'bin/wrapper'), `#!/bin/sh\nmkdir -p ${out}\ncase "$1" in\n  activate) echo v${version} > ${out}/host ;;\n  deactivate) rm -f ${out}/host ;;\nesac\n`);
  await writeFileIn(path.join(folder, 'etc/dysnomia/containers/pagehost'), `type=wrapper\noutDir=${out}\nhostVersion=${version}\n`);
  return folder;
}
/** A page: activated into the page host's container, it writes which host version it runs on (a fail flag makes it fail). */
async function page(name: string): Promise<string> {
  const folder = path.join(project, name);
  await writeProgram(
    path.join(folder, 'bin/wrapper'),
    `#!/bin/sh\ncase "$1" in\n  activate) [ -e "$outDir/fail-${name}-on-$hostVersion" ] && { echo "${name} cannot run on host $hostVersion" >&2; exit 1; }\n    echo "${name} on host $hostVersion" > "$outDir/${name}" ;;\n  deactivate) rm -f "$outDir/${name}" ;;\nesac\n`,
  );
  return folder;
}
const write = async (name: string, text: string) => {
  const file = path.join(project, name);
  await writeFile(file, text);
  return file;
};
async function writeBase(version: number): Promise<void> {
  await write('base.mjs', `export default () => ({ host: { name: 'host', pkg: ${JSON.stringify(await host(version))}, type: 'wrapper', providesContainers: { pagehost: {} } } });\n`);
}
await writeBase(1);
await write('base-distribution.json', JSON.stringify({ host: ['test1'] }));
await write('pages.mjs', `export default () => ({ home: { name: 'home', pkg: ${JSON.stringify(await page('home'))}, type: 'wrapper' }, about: { name: 'about', pkg: ${JSON.stringify(await page('about'))}, type: 'wrapper' } });\n`);
await write('pages-distribution.json', JSON.stringify({ home: { targets: [{ target: 'test1', container: 'pagehost' }] }, about: { targets: [{ target: 'test1', container: 'pagehost' }] } }));
await write('other.mjs', "export default () => ({ other: { name: 'other', pkg: './other', type: 'wrapper' } });\n");
await writeProgram(path.join(project, 'other/bin/wrapper'), `#!/bin/sh\nmkdir -p ${out}\ncase "$1" in\n  activate) echo other > ${out}/other ;;\n  deactivate) rm -f ${out}/other ;;\nesac\n`);
await write('other-distribution.json', JSON.stringify({ other: ['test2'] }));
const layers = await write(
  'layers.json',
  JSON.stringify([
    { name: 'base', services: 'base.mjs', distribution: 'base-distribution.json' },
    { name: 'pages', services: 'pages.mjs', distribution: 'pages-distribution.json' },
    { name: 'other', services: 'other.mjs', distribution: 'other-distribution.json', profile: 'other-stuff' },
  ]),
);

const deploy = (args: string[]) => dysnomia(['deploy', '--layers', layers, ...args], { env });
const events = (stdout: string, name: string) => parseEvents(stdout).filter((e) => e.event === name);
const operations = (stdout: string) => events(stdout, 'step').filter((e) => e.status === 'done' && !e.undo && (e.action === 'activate' || e.action === 'deactivate')).map((e) => `${e.action} ${e.service}`).sort();
const read = async (name: string) => (await readFile(path.join(out, name), 'utf8').catch(() => 'missing')).trim();
const state = async () => ({ host: await read('host'), home: await read('home'), about: await read('about'), other: await read('other') });
const layered = async () => {
  const current = (await readFile(path.join(env.DYSNOMIA_STATEDIR, 'deployments/layers/current'), 'utf8')).trim();
  return { generation: Number(current), ...(JSON.parse(await readFile(path.join(env.DYSNOMIA_STATEDIR, `deployments/layers/${current}.json`), 'utf8')) as { layers: Array<{ name: string; profile: string; generation: number }> }) };
};

t.test('--dry-run prints each layer’s plan and changes nothing', async (t) => {
  const result = await deploy(['-i', infrastructure, '--dry-run', '--json']);
  t.equal(result.code, 0, result.stderr);
  t.same(events(result.stdout, 'layer').map((e) => e.layer), ['base', 'pages', 'other']);
  t.same(events(result.stdout, 'step').filter((e) => e.status === 'planned').map((e) => `${e.action} ${e.service}`).sort(), ['activate about', 'activate home', 'activate host', 'activate other']);
  t.same(await readdir(out).catch(() => []), [], 'nothing ran');
});

t.test('three layers in one command: the pages run in the container the host layer provides', async (t) => {
  const result = await deploy(['-i', infrastructure, '--json']);
  t.equal(result.code, 0, result.stderr);
  t.same(await state(), { host: 'v1', home: 'home on host 1', about: 'about on host 1', other: 'other' }, 'each layer runs, the pages with the container the host provides');
  t.match(await layered(), { generation: 1, layers: [{ name: 'base', profile: 'base', generation: 1 }, { name: 'pages', profile: 'pages', generation: 1 }, { name: 'other', profile: 'other-stuff', generation: 1 }] });
  const query = await dysnomia(['query', '-i', infrastructure, '--json'], { env });
  t.equal(query.code, 0, query.stderr);
  const report = JSON.parse(query.stdout) as { targets: Record<string, { profiles: Record<string, { layer?: unknown; services: Array<{ service: string }> }> }> };
  t.match(report.targets.test1!.profiles, { base: { layer: { name: 'base', of: 'layers' } }, pages: { layer: { name: 'pages', of: 'layers' }, services: [{ service: 'about' }, { service: 'home' }] } }, 'query names the layer of each profile');
  t.match(report.targets.test2!.profiles, { 'other-stuff': { layer: { name: 'other', of: 'layers' } } });
  const text = await dysnomia(['query', '-i', infrastructure, '-p', 'pages'], { env });
  t.match(text.stdout, /Profile pages \(layer pages of layers\): generation 1 on this target/);
  const again = await deploy(['-i', infrastructure, '--json']);
  t.equal(again.code, 0, again.stderr);
  t.same(operations(again.stdout), [], 'an identical redeploy touches nothing');
  t.equal((await layered()).generation, 1, 'and records no generation');
});

t.test('a change to the host redeploys it and the pages in its container, nothing else', async (t) => {
  await writeBase(2);
  const result = await deploy(['-i', infrastructure, '--json']);
  t.equal(result.code, 0, result.stderr);
  t.same(operations(result.stdout), ['activate about', 'activate home', 'activate host', 'deactivate about', 'deactivate home', 'deactivate host']);
  t.same(await state(), { host: 'v2', home: 'home on host 2', about: 'about on host 2', other: 'other' });
  t.match(await layered(), { generation: 2, layers: [{ generation: 2 }, { generation: 2 }, { generation: 1 }] });
});

t.test('a failure in an upper layer rolls every layer back to the previous deployment', async (t) => {
  await writeBase(3);
  await writeFile(path.join(out, 'fail-about-on-3'), '');
  const result = await deploy(['-i', infrastructure, '--json']);
  t.equal(result.code, 1);
  t.match(events(result.stdout, 'output').map((e) => e.line).join('\n'), /about cannot run on host 3/, "the page's own words");
  t.match(result.stderr, /activating about on test1 \(container pagehost\) failed/);
  t.match(result.stderr, /layer pages failed, so the layers this run changed went back: base \(deployment generation 2\)/);
  t.same(await state(), { host: 'v2', home: 'home on host 2', about: 'about on host 2', other: 'other' }, 'the host is back at v2, the pages on it');
  t.equal((await layered()).generation, 2, 'the layered record did not move');
  t.same(events(result.stdout, 'layer').filter((e) => e.rollingBack).map((e) => e.layer), ['base'], 'the lower layer changed in this run went back');
  await rm(path.join(out, 'fail-about-on-3'));
  await writeBase(2);
});

t.test('--list-generations, --rollback and --undeploy act on all layers', async (t) => {
  const listed = await deploy(['--list-generations', '--json']);
  t.equal(listed.code, 0, listed.stderr);
  t.match(events(listed.stdout, 'deployments'), [{ profile: 'layers', generations: [{ generation: 1, current: false }, { generation: 2, current: true }] }]);
  const back = await deploy(['--rollback', '--json']);
  t.equal(back.code, 0, back.stderr);
  t.same(await state(), { host: 'v1', home: 'home on host 1', about: 'about on host 1', other: 'other' }, 'every layer back at generation 1');
  t.equal((await layered()).generation, 1);
  const gone = await deploy(['--undeploy', '--json']);
  t.equal(gone.code, 0, gone.stderr);
  t.same(events(gone.stdout, 'layer').map((e) => e.layer), ['other', 'pages', 'base'], 'top down');
  t.same(await state(), { host: 'missing', home: 'missing', about: 'missing', other: 'missing' }, 'nothing runs');
  for (const stateDir of [state1, state2]) {
    const records = await readdir(path.join(stateDir, 'activations')).catch(() => []);
    for (const record of records) {
      const { mappings } = JSON.parse(await readFile(path.join(stateDir, 'activations', record), 'utf8')) as { mappings: unknown[] };
      t.same(mappings, [], `${record} on ${path.basename(path.dirname(stateDir))} records nothing activated`);
    }
  }
});

t.test('bad layers models: exit 2 naming the file and line', async (t) => {
  const bad = await write('bad-layers.json', '[\n  { "name": "base", "services": "base.mjs", "distribution": "base-distribution.json" },\n  { "name": "x", "services": 3, "distribution": "d.json" }\n]\n');
  const result = await dysnomia(['deploy', '--layers', bad, '-i', infrastructure], { env });
  t.equal(result.code, 2);
  t.match(result.stderr, /bad-layers\.json:3.*layer x: services must be the path of a services model/);
  const clash = await dysnomia(['deploy', '--layers', layers, '-i', infrastructure, '--profile', 'base'], { env });
  t.equal(clash.code, 2);
  t.match(clash.stderr, /--profile base records the layered deployment: layer base needs a profile of its own/);
  const mixed = await dysnomia(['deploy', '--layers', layers, '-i', infrastructure, '-s', 'x', '-d', 'y'], { env });
  t.equal(mixed.code, 2);
  t.match(mixed.stderr, /--layers goes without -s and -d/);
});
