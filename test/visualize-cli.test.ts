import { spawnSync } from 'node:child_process';
import { access, chmod, lstat, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { writeFileIn } from './helpers/fixtures.js';

// A small StaffTracker-like deployment in JS models: a function distribution, a services function whose pkg functions would leave a marker if called.
const dir = await tempDir(t, 'dysnomia-visualize-');
const marker = path.join(dir, 'pkg-function-was-called');
const evaluated = path.join(dir, 'services-model-was-evaluated');
const infrastructure = path.join(dir, 'infrastructure.mjs');
await writeFile(
  infrastructure,
  `export default {
  test1: { properties: { hostname: 'test1.example' }, containers: { 'mysql-production': { mysqlPort: 3306 } } },
  test2: { properties: { hostname: 'test2.example' }, containers: { 'tomcat-production': { tomcatPort: 8080 } } },
};
`,
);
const distribution = path.join(dir, 'distribution.mjs');
await writeFile(
  distribution,
  `export default ({ infrastructure }) => ({
  rooms: { targets: [{ target: infrastructure.test1, container: 'mysql-production' }] },
  'mysql-test': [infrastructure.test1],
  staff: { targets: [{ target: infrastructure.test1, container: 'mysql-test' }] },
  StaffTracker: { targets: [{ target: infrastructure.test2, container: 'tomcat-production' }] },
  GeolocationService: [infrastructure.test2],
});
`,
);
const services = path.join(dir, 'services.mjs');
await writeFile(
  services,
  `import { writeFileSync } from 'node:fs';
export default ({ distribution }) => {
  writeFileSync(${JSON.stringify(evaluated)}, 'evaluated');
  const built = () => { writeFileSync(${JSON.stringify(marker)}, 'built'); return './pkgs/none'; };
  const services = {
    rooms: { name: 'rooms', pkg: './pkgs/missing-rooms', type: 'mysql-database' },
    'mysql-test': { name: 'mysql-test', pkg: './pkgs/missing-mysql', type: 'process', providesContainers: { 'mysql-test': { mysqlPort: 3307 } } },
    staff: { name: 'staff', pkg: built, type: 'mysql-database' },
    GeolocationService: { pkg: built, type: 'tomcat-webapplication' },
  };
  services.StaffTracker = {
    name: 'StaffTracker',
    pkg: built,
    type: 'tomcat-webapplication',
    dependsOn: { rooms: services.rooms, staff: services.staff },
    connectsTo: { geo: services.GeolocationService },
    activatesAfter: { mysql: services['mysql-test'] },
  };
  return services;
};
`,
);
const models = ['-s', services, '-i', infrastructure, '-d', distribution];
const visualize = (args: string[], env?: Record<string, string>) => dysnomia(['visualize', ...args], env === undefined ? undefined : { env });

const id = (...place: string[]) => JSON.stringify(JSON.stringify(place));
const tracker = id('test2', 'tomcat-production', 'StaffTracker');

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

t.test('DOT: targets, containers and services nested, dependencies as styled arrows, nothing built', async (t) => {
  const result = await visualize(models);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stderr, '');
  const dot = result.stdout;
  t.match(dot, /^digraph "deployment" \{\n/);
  t.match(dot, `subgraph ${JSON.stringify('cluster["test1"]')} {\n    label=""; style=filled; fillcolor="#f2f2f2"; penwidth=2;\n    ${JSON.stringify(JSON.stringify(['#label', 'test1']))} [shape=plaintext, label="target test1\\ntest1.example"];`, 'a cluster per target: name and hostname, as a node arrows go around');
  t.match(dot, `${JSON.stringify(JSON.stringify(['#label', 'test1', 'mysql-test']))} [shape=plaintext, label="mysql-test\\nprovided by mysql-test"];`, 'a provided container says who provides it');
  t.match(dot, `${id('test1', 'process', 'mysql-test')} [label="mysql-test\\nprocess", peripheries=2];`, 'the provider has a double border');
  t.match(dot, `${id('test2', 'tomcat-webapplication', 'GeolocationService')} [label="GeolocationService\\ntomcat-webapplication"];`, 'the container defaults to the type');
  t.match(dot, `${tracker} -> ${id('test1', 'mysql-production', 'rooms')} [style=solid];`, 'dependsOn: solid');
  t.match(dot, `${tracker} -> ${id('test1', 'mysql-test', 'staff')} [style=solid];`);
  t.match(dot, `${tracker} -> ${id('test2', 'tomcat-webapplication', 'GeolocationService')} [style=dashed];`, 'connectsTo: dashed');
  t.match(dot, `${tracker} -> ${id('test1', 'process', 'mysql-test')} [style=dotted];`, 'activatesAfter: dotted');
  t.equal(dot.split('\n').filter((line) => line.includes(' -> ') && !line.includes('style=invis')).length, 4, 'one arrow per dependency');
  const positions = ['test1', 'test2'].map((target) => dot.indexOf(`cluster[\\"${target}\\"]`));
  t.ok(positions[0]! < positions[1]!, 'targets sorted');
  t.ok(await exists(evaluated), 'the services model function was evaluated');
  t.notOk(await exists(marker), 'but no pkg function was called');
  const again = await visualize(models);
  t.equal(again.stdout, dot, 'the same output every time');
});

t.test('--format svg: Graphviz draws the graph; the SVG names every service', async (t) => {
  if (spawnSync('dot', ['-V']).error !== undefined) {
    t.fail('Graphviz "dot" is not installed: apt-get install graphviz');
    return;
  }
  const result = await visualize([...models, '--format', 'svg']);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^<\?xml[^>]*>\s*<!DOCTYPE svg[\s\S]*<svg [\s\S]*<\/svg>\s*$/);
  for (const name of ['rooms', 'staff', 'StaffTracker', 'GeolocationService', 'provided by mysql&#45;test', 'test2.example']) {
    t.match(result.stdout, `>${name}</text>`, name);
  }
  t.equal((result.stdout.match(/class="edge"/g) ?? []).length, 4, 'four arrows');
  t.match(result.stdout, /stroke-dasharray="5,2"/, 'a dashed arrow');
  t.match(result.stdout, /stroke-dasharray="1,5"/, 'a dotted arrow');
});

t.test('--output writes the file (replacing what was there) and nothing to standard output', async (t) => {
  const out = await tempDir(t, 'dysnomia-visualize-out-');
  const dotFile = path.join(out, 'deployment.dot');
  await writeFile(dotFile, 'old contents, much longer than nothing '.repeat(1000));
  const dot = await visualize([...models, '--output', dotFile]);
  t.equal(dot.code, 0, dot.stderr);
  t.equal(dot.stdout, '');
  t.equal(await readFile(dotFile, 'utf8'), (await visualize(models)).stdout, 'the whole DOT, the old contents gone');

  const svgFile = path.join(out, 'deployment.svg');
  const svg = await visualize([...models, '-f', 'svg', '-o', svgFile]);
  t.equal(svg.code, 0, svg.stderr);
  t.equal(svg.stdout, '');
  t.match(await readFile(svgFile, 'utf8'), />StaffTracker<\/text>[\s\S]*<\/svg>\s*$/);
  t.same((await readdir(out)).sort(), ['deployment.dot', 'deployment.svg'], 'no temporary file left');
});

t.test('--output through a symbolic link replaces the file it points to; a device is written to, not replaced', async (t) => {
  const out = await tempDir(t, 'dysnomia-visualize-link-');
  const real = path.join(out, 'real.dot');
  const link = path.join(out, 'link.dot');
  await writeFile(real, 'old');
  await symlink(real, link);
  const result = await visualize([...models, '--output', link]);
  t.equal(result.code, 0, result.stderr);
  t.ok((await lstat(link)).isSymbolicLink(), 'the link is still a link');
  t.match(await readFile(real, 'utf8'), /^digraph "deployment"/, 'the file it points to has the graph');
  t.same((await readdir(out)).sort(), ['link.dot', 'real.dot']);

  const toDevice = await visualize([...models, '--output', '/dev/null']);
  t.equal(toDevice.code, 0, toDevice.stderr);
  t.equal(toDevice.stdout, '');
  t.ok((await stat('/dev/null')).isCharacterDevice(), '/dev/null is still the device');
});

t.test('--format svg without Graphviz on PATH: exit 1, how to install it, no file written', async (t) => {
  const empty = await tempDir(t, 'dysnomia-visualize-path-');
  const file = path.join(empty, 'out.svg');
  const result = await visualize([...models, '--format', 'svg', '--output', file], { PATH: empty });
  t.equal(result.code, 1);
  t.match(result.stderr, 'install graphviz (apt-get install graphviz)');
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
  t.notOk(await exists(file));
});

t.test('bad models: exit 2 naming the file and line', async (t) => {
  const bad = await tempDir(t, 'dysnomia-visualize-bad-');
  const infraJson = path.join(bad, 'infrastructure.json');
  await writeFile(infraJson, '{\n  "test1": {\n    "properties": { "hostname": "test1.example" },\n    "containres": {}\n  }\n}\n');
  const badInfra = await visualize(['-s', services, '-i', infraJson, '-d', distribution]);
  t.equal(badInfra.code, 2);
  t.match(badInfra.stderr, `${infraJson}:4: target "test1": unknown key "containres"`);
  t.notMatch(badInfra.stderr, /\n\s+at /, 'no stack trace');

  const goodInfra = path.join(bad, 'good-infrastructure.json');
  await writeFile(goodInfra, JSON.stringify({ test1: { properties: { hostname: 'test1.example' } } }));
  const distYaml = path.join(bad, 'distribution.yaml');
  await writeFile(distYaml, 'rooms:\n  - test1\n  - test9\n');
  const badDist = await visualize(['-s', services, '-i', goodInfra, '-d', distYaml]);
  t.equal(badDist.code, 2);
  t.match(badDist.stderr, `${distYaml}:3: service "rooms": target "test9" is not a target of the infrastructure model`);

  const servicesYaml = path.join(bad, 'services.yaml');
  await writeFile(servicesYaml, 'rooms:\n  pkg: ./rooms\n  type: mysql-database\n  dependsOn:\n    db: nothere\n');
  const okDist = path.join(bad, 'ok-distribution.json');
  await writeFile(okDist, JSON.stringify({ rooms: ['test1'] }));
  const badServices = await visualize(['-s', servicesYaml, '-i', goodInfra, '-d', okDist]);
  t.equal(badServices.code, 2);
  t.match(badServices.stderr, `${servicesYaml}:5: service "rooms": dependsOn db: "nothere" is not a service of the model`);
});

t.test('bad usage: exit 2 naming the argument, before any model is evaluated', async (t) => {
  await rm(evaluated, { force: true });
  const cases: Array<[string[], string]> = [
    [['-i', infrastructure, '-d', distribution], 'pass -s SERVICES'],
    [['-s', services, '-d', distribution], 'pass -i INFRASTRUCTURE'],
    [['-s', services, '-i', infrastructure], 'pass -d DISTRIBUTION'],
    [[...models, '--format', 'png'], "--format takes dot or svg, not 'png'"],
    [[...models, '--output', path.join(dir, 'no-such-folder', 'g.dot')], `--output ${path.join(dir, 'no-such-folder', 'g.dot')}: no folder`],
    [[...models, '--output', dir], `--output ${dir}: is a folder`],
    [[...models, '--colour'], "Unknown option '--colour'"],
    [[...models, 'extra'], 'unexpected argument "extra"'],
  ];
  for (const [args, message] of cases) {
    const result = await visualize(args);
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, message, message);
    t.equal(result.stdout, '');
  }
  t.notOk(await exists(evaluated), 'the services model was not evaluated');
});

t.test('--help describes the options and the drawing', async (t) => {
  const result = await visualize(['--help']);
  t.equal(result.code, 0);
  for (const text of ['-s, --services=FILE', '-i, --infrastructure=FILE', '-d, --distribution=FILE', '--format=FORMAT', '--output=FILE', 'solid for dependsOn', 'dashed for connectsTo', 'dotted for activatesAfter', 'apt-get install graphviz']) {
    t.match(result.stdout, text, text);
  }
});

t.test('-p and --layers: a two-layer deployment recorded here, drawn without models and rendered to PNG', async (t) => {
  const rsvg = spawnSync('rsvg-convert', ['--version']);
  if (rsvg.error) throw new Error('rsvg-convert is missing: apt-get install librsvg2-bin');
  const layers = await tempDir(t, 'dysnomia-visualize-layers-');
  const env = { DYSNOMIA_STATEDIR: path.join(layers, 'coordinator') };
  const program = async (file: string) => {
    await writeFileIn(file, '#!/bin/sh\nexit 0\n');
    await chmod(file, 0o755);
  };
  await program(path.join(layers, 'server/bin/wrapper'));
  await writeFileIn(path.join(layers, 'server/etc/dysnomia/containers/greeting'), 'type=wrapper\n');
  await program(path.join(layers, 'app/bin/wrapper'));
  const infra = path.join(layers, 'infrastructure.json');
  const local = (name: string) => ({ properties: { hostname: `${name}.example`, stateDir: path.join(layers, name) }, clientInterface: 'local', containers: { process: {}, wrapper: {} } });
  await writeFile(infra, JSON.stringify({ test1: local('test1'), test2: local('test2') }));
  await writeFile(path.join(layers, 'containers.mjs'), "export default () => ({ server: { name: 'server', pkg: './server', type: 'wrapper', providesContainers: { greeting: { type: 'wrapper' } } } });\n");
  await writeFile(path.join(layers, 'containers.json'), JSON.stringify({ server: ['test1', 'test2'] }));
  await writeFile(
    path.join(layers, 'apps.mjs'),
    "export default () => { const s = { hello: { name: 'hello', pkg: './app', type: 'wrapper' }, web: { name: 'web', pkg: './app', type: 'wrapper' } }; s.web.dependsOn = { hello: s.hello }; return s; };\n",
  );
  await writeFile(path.join(layers, 'apps.json'), JSON.stringify({ hello: { targets: [{ target: 'test1', container: 'greeting' }] }, web: { targets: [{ target: 'test2', container: 'greeting' }] } }));
  for (const [services, dist, profile] of [['containers.mjs', 'containers.json', 'containers'], ['apps.mjs', 'apps.json', 'apps']]) {
    const deployed = await dysnomia(['deploy', '-s', path.join(layers, services!), '-i', infra, '-d', path.join(layers, dist!), '--profile', profile!], { env });
    t.equal(deployed.code, 0, `layer ${profile}: ${deployed.stderr}`);
  }

  const one = await dysnomia(['visualize', '-p', 'apps'], { env, cwd: layers });
  t.equal(one.code, 0, one.stderr);
  t.match(one.stdout, /"\[\\"test2\\",\\"greeting\\",\\"apps\/web\\"\]" -> "\[\\"test1\\",\\"greeting\\",\\"apps\/hello\\"\]" \[style=solid\]/, 'the recorded activation order as arrows');
  t.notMatch(one.stdout, /layer apps/, 'one profile: no layer names');

  const both = await dysnomia(['visualize', '--layers', '--format', 'svg', '-o', path.join(layers, 'layers.svg')], { env, cwd: layers });
  t.equal(both.code, 0, both.stderr);
  const svg = await readFile(path.join(layers, 'layers.svg'), 'utf8');
  for (const text of ['layer containers', 'layer apps', 'provided by server', 'process (empty)', 'target test1']) t.match(svg, text, `the picture shows "${text}"`);
  const dot = (await dysnomia(['visualize', '--layers'], { env, cwd: layers })).stdout;
  const provides = dot.split('\n').filter((line) => line.includes('lhead='));
  t.equal(provides.length, 2, 'each server is linked to the container it provides');
  t.match(provides.join('\n'), `${JSON.stringify(JSON.stringify(['test1', 'wrapper', 'containers/server']))} -> ${JSON.stringify(JSON.stringify(['#label', 'test1', 'greeting']))} [lhead=${JSON.stringify('cluster' + JSON.stringify(['test1', 'greeting']))}`);
  const png = spawnSync('rsvg-convert', [path.join(layers, 'layers.svg'), '-o', path.join(layers, 'layers.png')], { encoding: 'utf8' });
  t.equal(png.status, 0, `rsvg-convert renders the SVG: ${png.stderr}`);
  t.equal(png.stderr, '', 'without a warning');
  t.ok((await stat(path.join(layers, 'layers.png'))).size > 1000, 'a PNG with something in it');

  const unknown = await dysnomia(['visualize', '-p', 'nothing'], { env, cwd: layers });
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /--profile nothing: no deployment of it is recorded .*\(recorded: apps, containers\)/);
  const mixed = await dysnomia(['visualize', '-p', 'apps', '-s', 'x.mjs'], { env, cwd: layers });
  t.equal(mixed.code, 2);
  t.match(mixed.stderr, /-p\/--layers draw recorded deployments: they go without --services/);
});
