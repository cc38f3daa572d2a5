#!/usr/bin/env node
// The deployment orchestrator (dysnomia deploy -s -i -d), two ways:
//  1. Planning at scale, in process: 1,000 services on 100 simulated targets
//     (nothing is connected): model checks, identities (deploymentOf),
//     planTransition for a first deploy and a one-service change, and the
//     ordering through runGraph with no-op work. Median time and memory.
//  2. 200 wrapper services to 4 loopback sshd targets through the CLI: first
//     deploy, no-op redeploy and a one-service change, with our default
//     parallelism side by side with Disnix's (--max-concurrent-activations 1
//     --max-concurrent-transfers 2), each on fresh state folders. The --json
//     events and the marker files on the targets check what each run did.
//  With --compare state, part 2 compares the state backends instead: the same
//  runs with deployment records and locks in the state folder (file) and in a
//  private PostgreSQL started here (postgres), and the postgres overhead.
//  With --compare base DIR, part 2 runs ours side by side with the built
//  checkout in DIR (another commit: an A/B of a change, interleaved so load
//  drifts alike), same parallelism.
// Needs the built engine and plugins (npm run build) and /usr/sbin/sshd
// (and Debian's postgresql for --compare state).
//  3. Packages over SSH (bench/deploy-packages.mjs): 50 packages, one of 200 MB,
//     first copy against rsync -a. The run ends with the goals table of issue 14.
// Usage: node bench/orchestrator.mjs [--quick] [--keep] [--skip-plan] [--skip-ssh] [--skip-packages] [--compare state|base DIR]
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FIRST_COPY_GOAL, measurePackages } from './deploy-packages.mjs';
import { GoalTable } from './lib/goals.mjs';
import { acyclicDependencies, nodeWithDependants, withDependants } from './lib/seeded-graph.mjs';
import { have, makeClientKey, SSHD, startSshd, stopDaemons } from './lib/sshd.mjs';
import { DYSNOMIA, markers, phaseLine, runDysnomia, sameSet, tally, wrapperServicesModel, writeComponent } from './lib/wrapper-deploy.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'packages/engine/dist');
const DEPLOY_DIST = path.join(ROOT, 'packages/deploy/dist');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');

const PLAN = QUICK ? { services: 200, targets: 20, runs: 3 } : { services: 1000, targets: 100, runs: 7 };
const SSH = QUICK ? { services: 40, targets: 4, repeats: 1 } : { services: 200, targets: 4, repeats: 3 };
const OURS = { label: 'ours', folder: 'ours', args: [] };
const DISNIX = { label: 'Disnix defaults', folder: 'disnix', args: ['--max-concurrent-activations', '1', '--max-concurrent-transfers', '2'] };
const COMPARE_STATE = argv[argv.indexOf('--compare') + 1] === 'state' && argv.includes('--compare');
const FILE_STATE = { label: 'file state', folder: 'file-state', args: [], state: { backend: 'file' } };
// Its url and PGPASSFILE are filled in once the server runs.
const POSTGRES_STATE = { label: 'postgres state', folder: 'postgres-state', args: [], state: { backend: 'postgres' } };
const COMPARE_BASE = argv[argv.indexOf('--compare') + 1] === 'base' && argv.includes('--compare') ? path.resolve(argv[argv.indexOf('--compare') + 2] ?? '.') : undefined;
const BASE = { label: 'base', folder: 'base', args: [], cli: COMPARE_BASE && path.join(COMPARE_BASE, 'packages/engine/bin/dysnomia.js') };
const CONFIGURATIONS = COMPARE_STATE ? [FILE_STATE, POSTGRES_STATE] : COMPARE_BASE ? [OURS, BASE] : [OURS, DISNIX];

for (const [file, setup] of [[path.join(DIST, 'bundle.cjs'), 'npm run build'], [path.join(ROOT, 'packages/plugin-wrapper/dist/index.js'), 'npm run build']]) {
  if (!(await have(file))) {
    console.error(`missing ${file}: run \`${setup}\``);
    process.exit(2);
  }
}
if (!argv.includes('--skip-ssh') && !(await have(SSHD))) {
  console.error(`missing ${SSHD}: run \`apt-get install openssh-server\` (or pass --skip-ssh)`);
  process.exit(2);
}

const deploy = (file) => import(pathToFileURL(path.join(DEPLOY_DIST, file)).href);
const { loadModelFile } = await deploy('models/load-model.js');
const { parseInfrastructure } = await deploy('models/infrastructure.js');
const { parseDistribution } = await deploy('models/distribution.js');
const { parseServices } = await deploy('models/services.js');
const { deploymentOf } = await deploy('deploy/deployment.js');
const { planTransition, runGraph } = await deploy('deploy/transition.js');

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

const work = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-bench-orchestrator-'));
const daemons = [];
/** Servers stopped by their own stop() (the PostgreSQL of --compare state). */
const servers = [];
const cleanup = async () => {
  stopDaemons(daemons);
  await Promise.all(servers.map((server) => server.stop().then(() => rm(server.dir, { recursive: true, force: true }))));
  if (argv.includes('--keep')) console.log(`work folder kept: ${work} (logs of each run: ssh/*/logs)`);
  else await rm(work, { recursive: true, force: true });
};
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));

const MiB = 2 ** 20;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (nanoseconds) => Number(nanoseconds) / 1e6;
const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
const check = (ok) => (ok ? 'ok' : 'MISMATCH');
let mismatches = 0;
const verify = (ok) => {
  if (!ok) mismatches++;
  return check(ok);
};

/**
 * Runs `fn` `runs` times (a garbage collection before each) and reports the
 * median time, the median heap growth while it ran (what it allocated and had
 * not collected yet), the heap its result holds after a collection (first
 * run: later runs' baselines may still hold an earlier result through the
 * async frame), and the process's peak RSS so far.
 */
async function measure(label, runs, fn) {
  const times = [];
  const grown = [];
  let kept;
  let result;
  for (let i = 0; i < runs; i++) {
    result = undefined;
    gc();
    const before = process.memoryUsage().heapUsed;
    const started = process.hrtime.bigint();
    result = await fn();
    times.push(ms(process.hrtime.bigint() - started));
    grown.push(process.memoryUsage().heapUsed - before);
    gc();
    kept ??= process.memoryUsage().heapUsed - before;
  }
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const time = median(times);
  console.log(`  ${label.padEnd(46)} ${time.toFixed(1).padStart(8)} ms   heap +${mib(median(grown)).padStart(10)}  kept ${mib(kept).padStart(9)}  peak RSS ${mib(peakRss)}`);
  return { time, result };
}

// ---------------------------------------------------------------- 1. planning
async function planAtScale() {
  const { services: N, targets: T, runs } = PLAN;
  console.log(`1. Planning at scale: ${N} services (wrapper, 0-3 dependsOn each on earlier ones, seeded) on ${T} simulated targets; median of ${runs} runs`);
  const dir = path.join(work, 'plan');
  await mkdir(dir, { recursive: true });
  const deps = acyclicDependencies(N, { seed: 42, maxDeps: 3 });
  const key = (i) => `s${String(i).padStart(4, '0')}`;
  const target = (i) => `t${String(i).padStart(3, '0')}`;
  const infrastructure = Object.fromEntries(Array.from({ length: T }, (_, i) => [target(i), {
    properties: { hostname: `${target(i)}.example.org`, sshUser: 'deploy' },
    numOfCores: 4,
    containers: { wrapper: { markerDir: '/var/lib/markers' } },
  }]));
  const distribution = Object.fromEntries(deps.map((_, i) => [key(i), [target(i % T)]]));
  const services = Object.fromEntries(deps.map((list, i) => [key(i), {
    name: key(i),
    type: 'wrapper',
    pkg: `./components/${key(i)}`,
    ...(list.length > 0 ? { dependsOn: Object.fromEntries(list.map((d, n) => [`dep${n}`, key(d)])) } : {}),
  }]));
  const files = { infrastructure: path.join(dir, 'infrastructure.json'), distribution: path.join(dir, 'distribution.json'), services: path.join(dir, 'services.json') };
  await writeFile(files.infrastructure, JSON.stringify(infrastructure, null, 2));
  await writeFile(files.distribution, JSON.stringify(distribution, null, 2));
  await writeFile(files.services, JSON.stringify(services, null, 2));
  const edges = deps.reduce((a, list) => a + list.length, 0);
  console.log(`  models: ${N} services, ${edges} dependsOn edges; JSON files of ${[files.infrastructure, files.distribution, files.services].length} models written to a temp folder`);

  // The changed service: past the middle, with a handful of dependants (so the change plan is small but not trivial).
  const changed = nodeWithDependants(deps, Math.floor(N / 2), { min: 4, max: 20 });
  const expected = new Set([...withDependants(deps, changed)].map(key));
  const entry = (source, service, version = 1) => `${String(service).padEnd(8, '0')}${version}-${path.basename(String(source))}`;

  const sources = await measure('read models (JSON read through yaml, lines)', runs, async () => ({
    infrastructure: await loadModelFile(files.infrastructure, 'infrastructure'),
    distribution: await loadModelFile(files.distribution, 'distribution'),
    services: await loadModelFile(files.services, 'services'),
  }));
  const models = await measure('check models (parse* functions)', runs, async () => {
    const infra = parseInfrastructure(sources.result.infrastructure);
    const dist = await parseDistribution(sources.result.distribution, infra);
    return { infra, dist, model: await parseServices(sources.result.services, infra, dist) };
  });
  const { infra, model } = models.result;
  const first = await measure('identities: deploymentOf', runs, () => deploymentOf(model, infra, 'default', async (source, service) => entry(source, service)));
  const next = await measure('identities: deploymentOf, 1 component changed', runs, () =>
    deploymentOf(model, infra, 'default', async (source, service) => entry(source, service, service === key(changed) ? 2 : 1)),
  );
  const firstPlan = await measure('planTransition: first deploy', runs, async () => planTransition(undefined, first.result));
  const noopPlan = await measure('planTransition: no change', runs, async () => planTransition(first.result, first.result));
  const changePlan = await measure('planTransition: 1 service changed', runs, async () => planTransition(first.result, next.result));
  const limit = () => 4;
  const order = async (plan, waits) => {
    const finished = new Set();
    let wrong = 0;
    const outcome = await runGraph(plan, waits, limit, async (m) => {
      if ((waits.get(m.id) ?? []).some((id) => !finished.has(id))) wrong++;
      await Promise.resolve();
      finished.add(m.id);
    });
    return { done: outcome.done.length, failure: outcome.failure, wrong };
  };
  const firstOrder = await measure('runGraph: first deploy, no-op work', runs, () => order(firstPlan.result.activate, firstPlan.result.activationWaits));
  const changeOrder = await measure('runGraph: change (deactivate + activate)', runs, async () => ({
    deactivated: await order(changePlan.result.deactivate, changePlan.result.deactivationWaits),
    activated: await order(changePlan.result.activate, changePlan.result.activationWaits),
  }));

  const servicesOf = (mappings) => new Set(mappings.map((m) => m.service));
  const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));
  const total = firstPlan.result.activate.length;
  const { deactivate, activate } = changePlan.result;
  console.log('  checks:');
  console.log(`    first deploy plans ${total} activations of ${N} mappings, 0 deactivations: ${verify(total === N && firstPlan.result.deactivate.length === 0)}`);
  console.log(`    no change plans 0 steps, ${noopPlan.result.unchanged.length} unchanged: ${verify(noopPlan.result.activate.length === 0 && noopPlan.result.deactivate.length === 0 && noopPlan.result.unchanged.length === N)}`);
  console.log(`    change of ${key(changed)}: ${activate.length} activations, ${deactivate.length} deactivations (it and its ${expected.size - 1} transitive dependants): ${verify(sameSet(servicesOf(activate), expected) && sameSet(servicesOf(deactivate), expected))}`);
  console.log(`    runGraph ran ${firstOrder.result.done}/${total} (first) and ${changeOrder.result.activated.done}+${changeOrder.result.deactivated.done} (change), each after what it waits for: ${verify(firstOrder.result.done === total && firstOrder.result.wrong === 0 && !firstOrder.result.failure && changeOrder.result.activated.wrong + changeOrder.result.deactivated.wrong === 0)}`);
  const phases = [sources, models, first, firstPlan, firstOrder].reduce((a, p) => a + p.time, 0);
  console.log(`  whole first-deploy planning (read + check + identities + plan + order): ${phases.toFixed(0)} ms for ${N} services`);
  return { phases };
}

// ------------------------------------------------------ 2. wrapper services over SSH
async function wrappersOverSsh() {
  const { services: N, targets: T, repeats } = SSH;
  const deps = acyclicDependencies(N, { seed: 7, maxDeps: 2, window: 20 });
  const name = (i) => `w${String(i).padStart(3, '0')}`;
  // The changed service: one with a few dependants (the change redeploys them too).
  const changed = nodeWithDependants(deps, Math.floor((N * 3) / 4), { min: 3, max: 12 });
  const expected = new Set([...withDependants(deps, changed)].map(name));
  console.log(`\n2. ${N} wrapper services (bin/wrapper writes/removes a marker file, ~3 ms sleep; 0-2 dependsOn each within the 20 before it, seeded) to ${T} sshd targets on 127.0.0.1`);
  if (COMPARE_STATE) console.log('   file state: records and locks in the coordinator\'s state folder; postgres state: in a private PostgreSQL 127.0.0.1 (fsync off), same parallelism');
  else if (COMPARE_BASE) console.log(`   ours: this checkout; base: the one built in ${COMPARE_BASE}; same parallelism`);
  else console.log(`   ours: activations per target = its core count (${os.availableParallelism()} here), 4 concurrent transfers; Disnix defaults: ${DISNIX.args.join(' ')}`);
  console.log(`   each on fresh state folders (coordinator and targets), runs interleaved (${CONFIGURATIONS.map((c) => c.label).join(', ')}, …) so machine load drifts alike`);
  console.log(`   change: ${name(changed)} gets a new component (v1 -> v2 -> v1 -> …); it and its ${expected.size - 1} dependants (${[...expected].filter((s) => s !== name(changed)).join(', ')}) are redeployed`);

  const dir = path.join(work, 'ssh');
  await mkdir(dir, { recursive: true });
  const { key, publicKey } = await makeClientKey(dir);
  const knownHosts = path.join(dir, 'known_hosts');
  const hosts = [];
  for (let i = 1; i <= T; i++) hosts.push(await startSshd({ work: dir, index: i, publicKey, knownHosts, daemons }));

  for (let i = 0; i < N; i++) await writeComponent(path.join(dir, 'components', name(i)), name(i), 'v1');
  await writeComponent(path.join(dir, 'components', `${name(changed)}-v2`), name(changed), 'v2');
  const servicesModel = (version) => wrapperServicesModel(deps, name, { changed, version });
  const servicesFile = { v1: path.join(dir, 'services-v1.json'), v2: path.join(dir, 'services-v2.json') };
  await writeFile(servicesFile.v1, JSON.stringify(servicesModel('v1'), null, 2));
  await writeFile(servicesFile.v2, JSON.stringify(servicesModel('v2'), null, 2));
  const packages = path.join(dir, 'packages.json');
  await mkdir(path.join(dir, 'pkgs/hello/bin'), { recursive: true });
  await writeFile(path.join(dir, 'pkgs/hello/bin/hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  await writeFile(packages, JSON.stringify(Object.fromEntries(hosts.map((_, i) => [`test${i + 1}`, ['./pkgs/hello']]))));
  const distribution = path.join(dir, 'distribution.json');
  await writeFile(distribution, JSON.stringify(Object.fromEntries(deps.map((_, i) => [name(i), [`test${(i % T) + 1}`]]))));

  // One set of fresh state folders (coordinator and every target) per configuration.
  const setups = [];
  if (COMPARE_STATE) {
    const { startPostgresServer } = await import('./lib/postgres.mjs');
    // Its own folder in /tmp: the postgres user cannot reach into the bench's private work folder.
    const serverDir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-bench-postgres-'));
    const server = await startPostgresServer(serverDir);
    servers.push({ stop: server.stop, dir: serverDir });
    POSTGRES_STATE.state.url = server.url;
    POSTGRES_STATE.env = { PGPASSFILE: server.passFile };
  }
  for (const config of CONFIGURATIONS) {
    const base = path.join(dir, config.folder);
    // The coordinator's config (its state backend) is found from the folder it runs in.
    const coordinatorDir = path.join(base, 'coordinator-config');
    await mkdir(coordinatorDir, { recursive: true });
    if (config.state) await writeFile(path.join(coordinatorDir, 'dysnomia.config.json'), JSON.stringify({ state: config.state }));
    const machines = hosts.map((h, i) => ({ stateDir: path.join(base, `machine-${i + 1}/state`), markerDir: path.join(base, `machine-${i + 1}/markers`) }));
    const infrastructure = path.join(base, 'infrastructure.json');
    await mkdir(path.join(base, 'logs'), { recursive: true });
    await writeFile(infrastructure, JSON.stringify(Object.fromEntries(hosts.map((h, i) => [`test${i + 1}`, {
      properties: { hostname: '127.0.0.1', sshPort: h.port, sshKey: key, sshKnownHosts: knownHosts, stateDir: machines[i].stateDir, nodePath: process.execPath },
      containers: { wrapper: { markerDir: machines[i].markerDir } },
    }]))));
    let runs = 0;
    const deploy = async (label, args) => {
      try {
        const { events, seconds } = await runDysnomia(['deploy', ...args, '--json', ...config.args], path.join(base, 'coordinator'), path.join(base, 'logs', `${++runs}-${label.replaceAll(' ', '-')}.log`), { cwd: coordinatorDir, env: config.env, ...(config.cli ? { cli: config.cli } : {}) });
        return { seconds, ...tally(events) };
      } catch (error) {
        console.error(`${config.label}: ${label} failed (status ${error.code}):\n${error.stderr}`);
        throw new Error(`${config.label}: ${label} failed`);
      }
    };
    setups.push({
      config,
      deploy,
      services: (version) => ['-s', servicesFile[version], '-i', infrastructure, '-d', distribution],
      bootstrapArgs: ['-i', infrastructure, '-P', packages, '--profile', 'bench-bootstrap'],
      markers: () => markers(machines.map((m) => m.markerDir)),
      results: {},
    });
  }
  const row = (setup, label, result, detail, all = [result]) => {
    console.log(`    ${setup.config.label.padEnd(16)} ${label.padEnd(19)} ${result.seconds.toFixed(2).padStart(6)} s   ${detail}`);
    const again = label === 'bootstrap' ? 0 : all.reduce((a, r) => a + r.bootstraps, 0);
    if (again > 0) console.log(`    ${''.padEnd(37)}   note: ${again} target(s) bootstrapped the engine again: packages/engine/dist changed while the bench ran, so these figures include an engine install (see ssh/*/logs with --keep)`);
  };
  const phases = (result) => console.log(`    ${''.padEnd(16)} ${''.padEnd(19)} ${''.padStart(8)}   phases (s): ${phaseLine(result.phases)}`);

  // The engine's own install on each target (and the runtime built here) is a one-off of a new machine, not orchestration:
  // a packages deployment to another profile does it first, so the figures after it are the orchestrator's.
  console.log('\n  engine bootstrap (runtime built here and installed on each target with one package; once per new machine):');
  for (const setup of setups) {
    setup.results.bootstrap = await setup.deploy('bootstrap', setup.bootstrapArgs);
    row(setup, 'bootstrap', setup.results.bootstrap, `ok: ${verify(setup.results.bootstrap.ok)}`);
  }

  console.log('\n  first deploy:');
  for (const setup of setups) {
    const first = (setup.results.first = await setup.deploy('first deploy', setup.services('v1')));
    const found = await setup.markers();
    row(setup, 'first deploy', first, `built ${first.built}, sent ${first.sent} entries, activated ${first.activate}, deactivated ${first.deactivate}; ${found.size} markers on the targets: ${verify(first.ok && first.activate === N && first.deactivate === 0 && first.activated.size === N && found.size === N)}`);
    phases(first);
  }

  if (!COMPARE_STATE && !COMPARE_BASE) noopRsync = await rsyncNoop({ hosts, key, knownHosts, componentsDir: path.join(dir, 'components'), repeats });
  if (!COMPARE_STATE && !COMPARE_BASE) await disnixWay(setups[0], { hosts, key, knownHosts, deps, name, componentsDir: path.join(dir, 'components') });

  console.log(`\n  no-op redeploy (median of ${repeats}):`);
  const noops = new Map(setups.map((s) => [s, []]));
  for (let i = 0; i < repeats; i++) for (const setup of setups) noops.get(setup).push(await setup.deploy('no-op redeploy', setup.services('v1')));
  for (const setup of setups) {
    const all = noops.get(setup);
    const noop = (setup.results.noop = [...all].sort((a, b) => a.seconds - b.seconds)[Math.floor(all.length / 2)]);
    const ok = all.every((n) => n.ok && n.activate === 0 && n.deactivate === 0 && n.lock === 0 && n.sent === 0 && n.unchanged === N && n.profilesChanged === 0);
    row(setup, 'no-op redeploy', noop, `runs ${all.map((n) => n.seconds.toFixed(2)).join(', ')} s; each sent ${all.map((n) => n.sent).join("/")}, activated ${all.map((n) => n.activate).join("/")}, deactivated ${all.map((n) => n.deactivate).join("/")}, locked ${all.map((n) => n.lock).join("/")}, ${noop.unchanged} unchanged: ${verify(ok)}`, all);
  }

  if (!COMPARE_STATE && !COMPARE_BASE) await queryTargets(setups[0], { hosts, key, knownHosts, repeats, services: N });

  console.log(`\n  one-service change (median of ${repeats}, v1 -> v2 -> v1 …):`);
  const changes = new Map(setups.map((s) => [s, []]));
  for (let i = 0; i < repeats; i++) {
    const version = i % 2 === 0 ? 'v2' : 'v1';
    for (const setup of setups) {
      const change = await setup.deploy(`change to ${version}`, setup.services(version));
      const found = await setup.markers();
      change.checked = change.ok && sameSet(change.activated, expected) && sameSet(change.deactivated, expected) && found.size === N && found.get(name(changed)) === `${name(changed)} ${version}`;
      change.marker = found.get(name(changed));
      changes.get(setup).push(change);
    }
  }
  for (const setup of setups) {
    const all = changes.get(setup);
    const change = (setup.results.change = [...all].sort((a, b) => a.seconds - b.seconds)[Math.floor(all.length / 2)]);
    row(setup, 'one-service change', change, `runs ${all.map((c) => c.seconds.toFixed(2)).join(', ')} s; each sent ${all.map((c) => c.sent).join('/')}, deactivated ${all.map((c) => c.deactivate).join('/')}, activated ${all.map((c) => c.activate).join('/')} (expected ${expected.size}), locked/unlocked ${change.lock}/${change.unlock} running services; last marker "${all.at(-1).marker}": ${verify(all.every((c) => c.checked))}`, all);
    phases(change);
  }

  const [ours, disnix] = setups.map((s) => s.results);
  const [left, right] = CONFIGURATIONS.map((c) => c.label);
  console.log(`\n  Side by side (${N} wrapper services, ${T} targets):`);
  console.log(`    ${''.padEnd(20)} ${left.padStart(14)} ${right.padStart(16)}   ${COMPARE_STATE ? `${right} overhead` : `${right} / ${left}`}`);
  for (const [label, field] of [['engine bootstrap', 'bootstrap'], ['first deploy', 'first'], ['no-op redeploy', 'noop'], ['one-service change', 'change']]) {
    const a = ours[field].seconds;
    const b = disnix[field].seconds;
    const comparison = COMPARE_STATE ? `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)} %` : `${(b / a).toFixed(2)}x`;
    console.log(`    ${label.padEnd(20)} ${`${a.toFixed(2)} s`.padStart(14)} ${`${b.toFixed(2)} s`.padStart(16)}   ${comparison}`);
  }
  if (COMPARE_STATE) {
    const deploys = ['first', 'noop', 'change'];
    const total = (results) => deploys.reduce((sum, field) => sum + results[field].seconds, 0);
    console.log(`    ${'first+no-op+change'.padEnd(20)} ${`${total(ours).toFixed(2)} s`.padStart(14)} ${`${total(disnix).toFixed(2)} s`.padStart(16)}   ${(((total(disnix) - total(ours)) / total(ours)) * 100).toFixed(1)} %   (goal: under 5 %)`);
    return;
  }
  for (const field of ['first', 'change']) {
    for (const [phase, a] of Object.entries(ours[field].phases)) {
      const b = disnix[field].phases[phase];
      if (Math.max(a, b) > 2000 && Math.max(a, b) > 4 * Math.min(a, b)) console.log(`    note: ${field} deploy, phase ${phase}: ${(a / 1000).toFixed(2)} s vs ${(b / 1000).toFixed(2)} s; a stall this size is machine load or a hang, not parallelism (rerun with --keep and read ssh/*/logs)`);
    }
  }
  servicesGoals = { N, T, first: ours.first.seconds, noop: ours.noop.seconds, change: ours.change.seconds };
  const window = (r) => r.phases['de/activate'] / 1000;
  console.log(`    ${'activation phase'.padEnd(20)} ${`${window(ours.first).toFixed(2)} s`.padStart(9)} ${`${window(disnix.first).toFixed(2)} s`.padStart(16)}   ${(window(disnix.first) / window(ours.first)).toFixed(2)}x   (first deploy: last transfer to last activation)`);
}

/**
 * The anchor "Disnix's way": one SSH command per operation that runs the
 * component's bin/wrapper directly (as Disnix's dysnomia-client runs a
 * module), one at a time per target (Disnix's default numOfCores 1), targets
 * in parallel, in dependency order (level by level). The components are
 * already on the machines (the targets share this machine's files), so this
 * is activation alone: it is printed against our first deploy's activation
 * phase, and against our whole first deploy.
 */
async function disnixWay(setup, { hosts, key, knownHosts, deps, name, componentsDir }) {
  const markerDir = path.join(work, 'ssh', 'disnix-way-markers');
  const level = [];
  deps.forEach((list, i) => (level[i] = list.length === 0 ? 0 : 1 + Math.max(...list.map((d) => level[d]))));
  const levels = [...new Set(level)].sort((a, b) => a - b);
  const ssh = (host, operation, i) =>
    timed('ssh', ['-i', key, '-p', String(host.port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '127.0.0.1', `markerDir=${markerDir}/t${hosts.indexOf(host) + 1} ${componentsDir}/${name(i)}/bin/wrapper ${operation} wrapper`]);
  const run = async (operation, order) => {
    const started = Date.now();
    for (const l of order) {
      await Promise.all(hosts.map(async (host, t) => {
        for (let i = 0; i < deps.length; i++) if (level[i] === l && i % hosts.length === t) await ssh(host, operation, i);
      }));
    }
    return (Date.now() - started) / 1000;
  };
  const activation = await run('activate', levels);
  const found = await markers(hosts.map((_, t) => path.join(markerDir, `t${t + 1}`)));
  await run('deactivate', [...levels].reverse());
  const ours = setup.results.first;
  const window = ours.phases['de/activate'] / 1000;
  console.log(`\n  Disnix's way (one ssh per operation running bin/wrapper, one at a time per target, targets in parallel, ${levels.length} dependency levels; ${found.size} markers: ${verify(found.size === deps.length)}):`);
  console.log(`    ${'activating all services'.padEnd(36)} ${activation.toFixed(2).padStart(6)} s   against our activation phase ${window.toFixed(2)} s (${(activation / window).toFixed(2)}x ours) and our whole first deploy ${ours.seconds.toFixed(2)} s (${(activation / ours.seconds).toFixed(2)}x)`);
}

/**
 * The anchor of a no-op redeploy: `rsync -a` over ssh of the same
 * components to every target (all at once), once to copy them, then again
 * when nothing changed: the median of `repeats` such no-op runs.
 */
async function rsyncNoop({ hosts, key, knownHosts, componentsDir, repeats }) {
  const ssh = (host) => `ssh -i ${key} -p ${host.port} -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
  const copy = () => Promise.all(hosts.map((host, t) => timed('rsync', ['-a', '--mkpath', '-e', ssh(host), `${componentsDir}/`, `127.0.0.1:${path.join(work, 'ssh', 'rsync-anchor', `t${t + 1}`)}/`])));
  const started = Date.now();
  await copy();
  const first = (Date.now() - started) / 1000;
  const runs = [];
  for (let i = 0; i < repeats; i++) {
    const again = Date.now();
    await copy();
    runs.push((Date.now() - again) / 1000);
  }
  console.log(`\n  rsync -a of the same components to every target at once: first copy ${first.toFixed(2)} s; no-op runs ${runs.map((x) => x.toFixed(2)).join(', ')} s`);
  return median(runs);
}

/** Runs a program; resolves with its stdout and the seconds it took, rejects with stderr on failure. */
function timed(program, args, { env = {} } = {}) {
  const started = Date.now();
  const child = spawn(program, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve({ stdout, seconds: (Date.now() - started) / 1000 }) : reject(new Error(`${program} exited with status ${code}: ${stderr}`)))),
  );
}

/**
 * `dysnomia query` of every target after the first deploy, against the floor
 * of asking those machines anything: OpenSSH reading each target's record of
 * the profile, all targets at once.
 */
async function queryTargets(setup, { hosts, key, knownHosts, repeats, services }) {
  const infrastructure = setup.services('v1')[3];
  const stateDir = path.join(work, 'ssh', setup.config.folder, 'coordinator');
  const ours = [];
  const floor = [];
  let listed = 0;
  for (let i = 0; i < repeats; i++) {
    const query = await timed(process.execPath, [DYSNOMIA, 'query', '-i', infrastructure, '-p', 'default', '--json'], { env: { DYSNOMIA_STATEDIR: stateDir } });
    const report = JSON.parse(query.stdout);
    listed = Object.values(report.targets).reduce((sum, target) => sum + (target.profiles.default?.services.length ?? 0), 0);
    ours.push(query.seconds);
    const started = Date.now();
    await Promise.all(hosts.map((host, n) => {
      const record = path.join(work, 'ssh', setup.config.folder, `machine-${n + 1}/state/activations/default.json`);
      return timed('ssh', ['-i', key, '-p', String(host.port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '127.0.0.1', 'cat', record]);
    }));
    floor.push((Date.now() - started) / 1000);
  }
  const a = median(ours);
  const b = median(floor);
  console.log(`\n  query of ${hosts.length} targets (median of ${repeats}; ${listed} services listed, expected ${services}: ${verify(listed === services)}):`);
  console.log(`    ${'dysnomia query'.padEnd(36)} ${a.toFixed(2).padStart(6)} s   runs ${ours.map((x) => x.toFixed(2)).join(', ')} s`);
  console.log(`    ${'ssh cat of each record, all at once'.padEnd(36)} ${b.toFixed(2).padStart(6)} s   runs ${floor.map((x) => x.toFixed(2)).join(', ')} s   (ours ${(a / b).toFixed(2)}x)`);
}

let noopRsync;
let servicesGoals;
let packagesFigures;

/** The goals of issue 14 this run measured, each with its anchor from this run. */
function printGoals() {
  const goals = new GoalTable();
  if (packagesFigures?.firstCopy) {
    const { firstCopy, bigMb } = packagesFigures;
    goals.add({ job: `50 packages (one of ${bigMb} MB) to 4 targets, first copy`, ours: firstCopy.dysnomia, anchor: { label: 'rsync -a over ssh', seconds: firstCopy.rsync }, goal: { maxRatio: FIRST_COPY_GOAL } });
  }
  if (servicesGoals) {
    const { N, T } = servicesGoals;
    goals.add({ job: `${N} wrapper services to ${T} targets, first deploy`, ours: servicesGoals.first, goal: { underSeconds: 3 } });
    goals.add({ job: 'same, one service and its dependants changed', ours: servicesGoals.change, goal: { underSeconds: 1 } });
    goals.add({ job: 'same, no-op redeploy', ours: servicesGoals.noop, anchor: noopRsync === undefined ? undefined : { label: 'no-op rsync -a', seconds: noopRsync }, goal: { underSeconds: 0.3 } });
  }
  goals.print('Goals (issue 14), from this run');
}

try {
  const started = Date.now();
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`Orchestrator benchmark${QUICK ? ' (--quick)' : ''} on ${os.availableParallelism()} cores, Node ${process.versions.node}; load average ${load()}\n`);
  if (!argv.includes('--skip-plan')) await planAtScale();
  if (!argv.includes('--skip-ssh')) await wrappersOverSsh();
  if (!argv.includes('--skip-packages') && !COMPARE_STATE && !COMPARE_BASE) {
    console.log('\n3. Packages over SSH (bench/deploy-packages.mjs, without its Ansible part)');
    packagesFigures = await measurePackages({ bigMb: QUICK ? 20 : 200, ansible: false, log: (line) => console.log(`  ${line}`) });
  }
  printGoals();
  console.log(`\nTotal ${((Date.now() - started) / 1000).toFixed(0)} s; load average ${load()}; checks: ${mismatches === 0 ? 'all ok' : `${mismatches} MISMATCH`}`);
  process.exitCode = mismatches === 0 ? 0 : 1;
} finally {
  await cleanup();
}
