import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia } from './helpers/cli.js';
import { parseEvents, sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';
import { freePort } from './helpers/sshd.js';
import { parseNix } from './helpers/nix.js';

// dysnomia query and dysnomia reconstruct over two simulated machines (sshd on 127.0.0.1):
// what the targets answer is checked against the coordinator's record, and a record rebuilt
// from the targets alone must make the same deploy a no-op.
t.setTimeout(600_000);
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-query-');
const journal = path.join(dir, 'journal');
const target = (host: typeof test1, state: string) => ({ ...sshTarget(host, knownHosts, state), containers: { wrapper: { journal } } });
const infrastructure = path.join(dir, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: target(test1, state1), test2: target(test2, state2) }, null, 2));

const project = path.join(dir, 'project');
async function wrapperService(name: string, version = 1): Promise<string> {
  const folder = path.join(project, `${name}-v${version}`);
  await writeProgram(path.join(folder, 'bin/wrapper'), `#!/bin/sh\necho "$1 ${name} v${version}" >> "$journal"\n`);
  return folder;
}
const toolFolder = path.join(project, 'tool');
await writeProgram(path.join(toolFolder, 'bin/tool'), '#!/bin/sh\necho tool\n');

const services = path.join(project, 'services.mjs');
async function writeServices(versions: Record<string, number> = {}): Promise<void> {
  const pkg = async (name: string) => JSON.stringify(await wrapperService(name, versions[name] ?? 1));
  await writeFile(
    services,
    `export default () => {
  const s = {
    db: { pkg: ${await pkg('db')}, type: 'wrapper' },
    api: { pkg: ${await pkg('api')}, type: 'wrapper' },
    web: { pkg: ${await pkg('web')}, type: 'wrapper' },
    tool: { pkg: ${JSON.stringify(toolFolder)}, type: 'package' },
  };
  s.api.dependsOn = { db: s.db };
  s.web.dependsOn = { api: s.api };
  return s;
};
`,
  );
}
await writeServices();
const distribution = path.join(project, 'distribution.json');
await writeFile(distribution, JSON.stringify({ db: ['test1'], api: ['test2'], web: ['test1', 'test2'], tool: ['test2'] }));
const extrasServices = path.join(project, 'extras.mjs');
await writeFile(extrasServices, `export default () => ({ cron: { pkg: ${JSON.stringify(await wrapperService('cron'))}, type: 'wrapper' } });\n`);
const extrasDistribution = path.join(project, 'extras-distribution.json');
await writeFile(extrasDistribution, JSON.stringify({ cron: ['test1'] }));

const deployApps = () => dysnomia(['deploy', '-s', services, '-i', infrastructure, '-d', distribution, '--profile', 'apps', '--json'], { env });
const query = (args: string[]) => dysnomia(['query', '-i', infrastructure, ...args], { env });
const journalLines = async () => (await readFile(journal, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);

interface Mapping { id: string; service: string; name: string; type: string; entry: string; target: string; container: string }
interface Manifest { generation: number; mappings: Mapping[]; profiles: Record<string, string[]> }
const appsDir = path.join(env.DYSNOMIA_STATEDIR, 'deployments/apps');
const recorded = async (): Promise<Manifest> => {
  const current = (await readFile(path.join(appsDir, 'current'), 'utf8')).trim();
  return JSON.parse(await readFile(path.join(appsDir, `${current}.json`), 'utf8')) as Manifest;
};
const shown = (m: Mapping) => ({ service: m.service, name: m.name, type: m.type, container: m.container, component: m.entry, id: m.id });
const byService = (a: { service: string }, b: { service: string }) => a.service.localeCompare(b.service);

const first = await deployApps();
if (first.code !== 0) throw new Error(`deploying apps failed: ${first.stderr}${first.stdout}`);
const profileGenerations = Object.fromEntries(parseEvents(first.stdout).filter((e) => e.event === 'profile').map((e) => [e.target, e.generation]));
const extras = await dysnomia(['deploy', '-s', extrasServices, '-i', infrastructure, '-d', extrasDistribution, '--profile', 'extras', '--json'], { env });
if (extras.code !== 0) throw new Error(`deploying extras failed: ${extras.stderr}${extras.stdout}`);
const manifest = await recorded();
const engineVersion = (JSON.parse(await readFile(path.resolve('packages/engine/package.json'), 'utf8')) as { version: string }).version;

t.test('query --format json lists what each target runs, per profile, as the coordinator recorded it', async (t) => {
  const result = await query(['--format', 'json']);
  t.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as {
    version: number;
    profile: string | null;
    targets: Record<string, { engine: { version: string }; runtime: { plugins: Array<{ name: string }> } | null; modules: Array<{ type: string }>; profiles: Record<string, { generation: number | null; services: unknown[]; packages: string[] }> }>;
  };
  t.equal(report.version, 1);
  t.equal(report.profile, null, 'every profile');
  t.same(Object.keys(report.targets), ['test1', 'test2'], 'every target, in the model’s order');
  for (const name of ['test1', 'test2']) {
    const answer = report.targets[name]!;
    const apps = answer.profiles.apps!;
    t.same(apps.services, manifest.mappings.filter((m) => m.target === name).map(shown).sort(byService), `${name}: the services of the recorded deployment`);
    t.same(apps.packages, [...manifest.profiles[name]!].sort(), `${name}: the profile holds the recorded components`);
    t.equal(apps.generation, profileGenerations[name], `${name}: the profile generation the deploy made there`);
    t.equal(answer.engine.version, engineVersion, `${name}: the engine's version`);
    t.ok(answer.runtime?.plugins.some((p) => p.name === '@dysnomia/plugin-wrapper'), `${name}: the runtime's plugins`);
    t.ok(answer.modules.some((m) => m.type === 'wrapper'), `${name}: the types it serves`);
  }
  t.same(report.targets.test2!.profiles.apps!.services.map((s) => (s as { service: string }).service), ['api', 'tool', 'web'], 'the package-type service is listed too');
  t.same(Object.keys(report.targets.test1!.profiles).sort(), ['apps', 'extras'], 'test1 has both profiles');
  t.same(report.targets.test1!.profiles.extras!.services.map((s) => (s as { service: string }).service), ['cron']);
  t.same(Object.keys(report.targets.test2!.profiles), ['apps'], 'test2 has only apps');
  t.notMatch(result.stdout, journal, 'container properties are not shown');
});

t.test('query -p PROFILE: the same in Nix and as text', async (t) => {
  const json = await query(['-p', 'apps', '--json']);
  t.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as { profile: string; targets: Record<string, { profiles: Record<string, unknown> }> };
  t.equal(report.profile, 'apps');
  t.same(Object.keys(report.targets.test1!.profiles), ['apps'], 'only the profile asked for');
  const nix = await query(['-p', 'apps', '--format', 'nix']);
  t.equal(nix.code, 0, nix.stderr);
  t.same(parseNix(nix.stdout), report.targets, 'the Nix expression holds the same as the JSON');
  const text = await query(['-p', 'apps']);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, new RegExp(`^Target test1: engine ${engineVersion.replaceAll('.', '\\.')} on Node\\.js`, 'm'));
  t.match(text.stdout, new RegExp(`Profile apps: generation ${profileGenerations.test2} on this target`));
  for (const m of manifest.mappings) {
    t.match(text.stdout, new RegExp(`^    ${m.service} +${m.type} +${m.container} +${m.entry}$`, 'm'), `text names ${m.service} on ${m.target}`);
  }
  t.notMatch(text.stdout, /cron/, 'not the other profile');
  const bad = await query(['--format', 'yaml']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--format takes text, json, nix, not 'yaml'/);
});

t.test('reconstruct: after the coordinator loses its state, the record comes back from the targets and the same deploy is a no-op', async (t) => {
  const journalBefore = await journalLines();
  await rm(env.DYSNOMIA_STATEDIR, { recursive: true, force: true });

  const dry = await dysnomia(['reconstruct', '-i', infrastructure, '-p', 'apps', '--dry-run'], { env });
  t.equal(dry.code, 0, dry.stderr);
  t.match(dry.stdout, /would record 5 service mappings on 2 targets as generation 1/);
  t.equal(await readdir(appsDir).catch(() => 'none'), 'none', 'a dry run records nothing');

  const rebuilt = await dysnomia(['reconstruct', '-i', infrastructure, '-p', 'apps'], { env });
  t.equal(rebuilt.code, 0, rebuilt.stderr);
  t.match(rebuilt.stdout, /profile apps: recorded 5 service mappings on 2 targets as generation 1/);
  const record = await recorded();
  t.same(record.mappings.map((m) => m.id).sort(), manifest.mappings.map((m) => m.id).sort(), 'the same mappings as the lost record');
  t.same(Object.fromEntries(Object.entries(record.profiles).map(([k, v]) => [k, [...v].sort()])), Object.fromEntries(Object.entries(manifest.profiles).map(([k, v]) => [k, [...v].sort()])), 'the same profiles');

  const again = await dysnomia(['reconstruct', '-i', infrastructure, '-p', 'apps', '--json'], { env });
  t.equal(again.code, 0, again.stderr);
  t.match(JSON.parse(again.stdout), { profile: 'apps', kind: 'unchanged', generation: 1 }, 'a second reconstruct records nothing');

  const redeploy = await deployApps();
  t.equal(redeploy.code, 0, redeploy.stderr);
  const events = parseEvents(redeploy.stdout);
  t.same(events.filter((e) => e.event === 'step' && e.status === 'done'), [], 'no service was activated, deactivated or locked');
  t.ok(events.filter((e) => e.event === 'profile').every((e) => e.changed === false), 'no profile changed');
  t.same(await readdir(appsDir).then((names) => names.filter((n) => n.endsWith('.json'))), ['1.json'], 'no new generation');
  t.same(await journalLines(), journalBefore, 'no wrapper ran');

  // And the next change is a correct transition from the reconstructed record: api and its dependant web move, nothing else.
  await writeServices({ api: 2 });
  const changed = await deployApps();
  t.equal(changed.code, 0, changed.stderr);
  const steps = parseEvents(changed.stdout).filter((e) => e.event === 'step' && e.status === 'done' && (e.action === 'activate' || e.action === 'deactivate'));
  t.same(steps.map((e) => `${e.action} ${e.service}@${e.target}`).sort(), ['activate api@test2', 'activate web@test1', 'activate web@test2', 'deactivate api@test2', 'deactivate web@test1', 'deactivate web@test2']);
  const after = await query(['-p', 'apps', '--json']);
  const test2 = (JSON.parse(after.stdout) as { targets: Record<string, { profiles: Record<string, { services: Array<{ service: string }> }> }> }).targets.test2!;
  t.same(test2.profiles.apps!.services.map((s) => s.service), ['api', 'tool', 'web'], 'the package-type service stays in the profile');
});

t.test('a deploy says which services it deactivates and activates, where, and which generation is which', async (t) => {
  await writeServices({ api: 3 });
  const result = await dysnomia(['deploy', '-s', services, '-i', infrastructure, '-d', distribution, '--profile', 'apps'], { env });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^3 to deactivate, 3 to activate, 2 unchanged \(from deployment generation 2\)\n/m, 'the plan, with the deployment generation it starts from');
  for (const line of ['test2: deactivate api (wrapper) in wrapper', 'test1: deactivate web (wrapper) in wrapper', 'test2: activate api (wrapper) in wrapper', 'test1: activate web (wrapper) in wrapper', 'test2: activate web (wrapper) in wrapper']) {
    t.match(result.stdout, `\n  ${line}\n`, `the plan names: ${line}`);
  }
  t.notMatch(result.stdout, /(de)?activate db/, 'not the unchanged ones');
  t.match(result.stdout, /^test2: done: profile apps at target generation \d+$/m, "a target's profile generation says it is the target's");
  t.match(result.stdout, /^deployment recorded here: profile apps, deployment generation 3$/m, "this machine's record says it is a deployment generation");
});

t.test('reconstruct refuses to record a partial picture, or a profile no target holds', async (t) => {
  const unreachable = path.join(dir, 'infrastructure-unreachable.json');
  const model = JSON.parse(await readFile(infrastructure, 'utf8')) as Record<string, { properties: Record<string, unknown> }>;
  model.test2!.properties.sshPort = await freePort();
  await writeFile(unreachable, JSON.stringify(model));
  const generationsBefore = await readdir(appsDir);
  const partial = await dysnomia(['reconstruct', '-i', unreachable, '-p', 'apps', '--connect-timeout', '10'], { env });
  t.equal(partial.code, 1);
  t.match(partial.stderr, /target "test2"/);
  t.match(partial.stderr, /nothing reconstructed: every target must answer/);
  t.same(await readdir(appsDir), generationsBefore, 'nothing recorded');

  const none = await dysnomia(['reconstruct', '-i', infrastructure, '-p', 'nothing-here'], { env });
  t.equal(none.code, 1);
  t.match(none.stderr, /no target of .* holds profile "nothing-here"/);
  await mkdir(path.join(dir, 'x'), { recursive: true });
  const usage = await dysnomia(['reconstruct', '-p', 'apps'], { env });
  t.equal(usage.code, 2);
  t.match(usage.stderr, /no infrastructure model: pass -i INFRASTRUCTURE/);
});
