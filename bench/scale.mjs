#!/usr/bin/env node
// The orchestrator at scale: wrapper services (10 per target) on 25, 50 and
// 100 loopback sshd targets (each its own port, host key and state folder),
// through the CLI: first deploy, no-op redeploy, and a one-service change (it
// and its dependants), with the coordinator's peak memory (VmHWM of the
// dysnomia process) and open files, and how each grows with the targets.
// The engine's own install on each new target is done first by a packages
// deployment and shown apart. Each size runs on fresh state folders; the
// --json events and the marker files on the targets check what each run did.
// Needs the built engine and plugins (npm run build), /usr/sbin/sshd and Linux
// (/proc). Usage:
//   node bench/scale.mjs [--quick] [--targets 25,50,100] [--services-per-target 10] [--repeats 1]
//                        [--max-concurrent-transfers N] [--keep] [--cpu-prof]
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acyclicDependencies, nodeWithDependants, withDependants } from './lib/seeded-graph.mjs';
import { topFunctions } from './lib/cpu-profile.mjs';
import { GoalTable } from './lib/goals.mjs';
import { cleanupOnSignals } from './lib/signals.mjs';
import { have, makeClientKey, SSHD, startSshds, stopDaemons } from './lib/sshd.mjs';
import { markers, phaseLine, runDysnomia, sameSet, stopRuns, tally, wrapperServicesModel, writeComponent } from './lib/wrapper-deploy.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const KEEP = argv.includes('--keep') || argv.includes('--cpu-prof');
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const count = (name, text) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`${name} wants whole numbers from 1 up, not "${text}"`);
    process.exit(2);
  }
  return value;
};
const SIZES = option('--targets', QUICK ? '10' : '25,50,100').split(',').map((t) => count('--targets', t)).sort((a, b) => a - b);
const PER_TARGET = count('--services-per-target', option('--services-per-target', '10'));
const REPEATS = count('--repeats', option('--repeats', '1'));
// Handed to every deploy: how many targets it works on at once (default: deploy's own, 4).
const TARGETS_AT_ONCE = argv.includes('--max-concurrent-transfers') ? count('--max-concurrent-transfers', option('--max-concurrent-transfers')) : undefined;
const DEPLOY_OPTIONS = TARGETS_AT_ONCE === undefined ? [] : ['--max-concurrent-transfers', String(TARGETS_AT_ONCE)];
// A CPU profile of the coordinator in each run of each size, in t*/profiles (kept: implies --keep).
const CPU_PROFILES = argv.includes('--cpu-prof');

for (const [file, setup] of [[path.join(ROOT, 'packages/engine/dist/bundle.cjs'), 'npm run build'], [path.join(ROOT, 'packages/plugin-wrapper/dist/index.js'), 'npm run build'], [SSHD, 'apt-get install openssh-server']]) {
  if (!(await have(file))) {
    console.error(`missing ${file}: run \`${setup}\``);
    process.exit(2);
  }
}

const work = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-bench-scale-'));
const daemons = [];
const cleanup = cleanupOnSignals(async () => {
  stopRuns();
  const left = await stopDaemons(daemons);
  console.log(`stopped ${daemons.length - left} of ${daemons.length} sshd${left > 0 ? `; ${left} still running after SIGKILL to their process groups` : ''}`);
  const strays = await processesUnder(work);
  if (strays.length > 0) console.log(`processes still running from the work folder: ${strays.join(', ')}`);
  if (KEEP) console.log(`work folder kept: ${work} (logs of each run: t*/logs${CPU_PROFILES ? '; the coordinator\'s CPU profiles: t*/profiles' : ''})`);
  else await rm(work, { recursive: true, force: true });
});

const MiB = 2 ** 20;
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const mib = (bytes) => (bytes === undefined ? '?' : `${(bytes / MiB).toFixed(0)} MiB`);
const seconds = (s) => `${s.toFixed(2)} s`;
const median = (runs) => [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
let mismatches = 0;
const verify = (ok) => {
  if (!ok) mismatches++;
  return ok ? 'ok' : 'MISMATCH';
};

/** Pids (with their command) of processes whose command line names `folder`: agents or sshd sessions left behind. */
async function processesUnder(folder) {
  const found = [];
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (command.includes(folder)) found.push(`${pid} ${command.split('\0').join(' ').slice(0, 120)}`);
  }
  return found;
}

/** The soft limit of open files this process (and so the coordinator it starts) has. */
async function openFilesLimit() {
  const limits = await readFile('/proc/self/limits', 'utf8').catch(() => '');
  return /^Max open files\s+(\S+)/m.exec(limits)?.[1] ?? '?';
}

/** Per target index, the marker files found there: name → content. */
const markersPerTarget = (machines) => Promise.all(machines.map((m) => markers([m.markerDir])));

/**
 * The markers say each service runs once, on the target it is distributed
 * to, at the version wanted (`versions`: name → version, default v1).
 */
function markersRight(found, { N, T, name, versions = new Map() }) {
  let right = 0;
  found.forEach((onTarget, t) => {
    for (const [service, content] of onTarget) {
      const i = Number(service.slice(1));
      if (i % T === t && content === `${service} ${versions.get(service) ?? 'v1'}`) right++;
    }
  });
  return right === N && found.reduce((sum, onTarget) => sum + onTarget.size, 0) === N;
}

async function runSize(T, hosts, { key, knownHosts }) {
  const N = T * PER_TARGET;
  const deps = acyclicDependencies(N, { seed: 7, maxDeps: 2, window: 20 });
  const name = (i) => `w${String(i).padStart(5, '0')}`;
  const changed = nodeWithDependants(deps, Math.floor((N * 3) / 4), { min: 3, max: 12 });
  const expected = new Set([...withDependants(deps, changed)].map(name));
  const edges = deps.reduce((sum, list) => sum + list.length, 0);
  console.log(`\n${T} targets, ${N} services (${edges} dependsOn edges); change: ${name(changed)} and its ${expected.size - 1} dependants; load average ${load()}`);

  const dir = path.join(work, `t${T}`);
  await mkdir(path.join(dir, 'logs'), { recursive: true });
  // Components are shared by the sizes (same names, same scripts); the services models sit beside them.
  const servicesFile = (version) => path.join(work, `services-${T}-${version}.json`);
  for (const version of ['v1', 'v2']) await writeFile(servicesFile(version), JSON.stringify(wrapperServicesModel(deps, name, { changed, version })));
  for (let i = 0; i < N; i++) if (!(await have(path.join(work, 'components', name(i))))) await writeComponent(path.join(work, 'components', name(i)), name(i), 'v1');
  await writeComponent(path.join(work, 'components', `${name(changed)}-v2`), name(changed), 'v2');

  const target = (t) => `t${String(t + 1).padStart(3, '0')}`;
  const machines = hosts.slice(0, T).map((_, t) => ({ stateDir: path.join(dir, `machine-${t + 1}/state`), markerDir: path.join(dir, `machine-${t + 1}/markers`) }));
  const infrastructure = path.join(dir, 'infrastructure.json');
  await writeFile(infrastructure, JSON.stringify(Object.fromEntries(machines.map((machine, t) => [target(t), {
    properties: { hostname: '127.0.0.1', sshPort: hosts[t].port, sshKey: key, sshKnownHosts: knownHosts, stateDir: machine.stateDir, nodePath: process.execPath },
    containers: { wrapper: { markerDir: machine.markerDir } },
  }]))));
  const distribution = path.join(dir, 'distribution.json');
  await writeFile(distribution, JSON.stringify(Object.fromEntries(deps.map((_, i) => [name(i), [target(i % T)]]))));
  const packages = path.join(dir, 'packages.json');
  await writeFile(packages, JSON.stringify(Object.fromEntries(machines.map((_, t) => [target(t), ['../pkgs/hello']]))));

  let runs = 0;
  const deploy = async (label, args) => {
    try {
      const file = `${++runs}-${label.replaceAll(' ', '-')}`;
      const nodeArgs = CPU_PROFILES ? ['--cpu-prof', '--cpu-prof-dir', path.join(dir, 'profiles'), '--cpu-prof-name', `${file}.cpuprofile`] : [];
      const run = await runDysnomia(['deploy', ...args, ...DEPLOY_OPTIONS, '--json'], path.join(dir, 'coordinator'), path.join(dir, 'logs', `${file}.log`), { cwd: dir, watch: true, nodeArgs });
      return { ...run, ...tally(run.events), ...(CPU_PROFILES ? { profile: path.join(dir, 'profiles', `${file}.cpuprofile`) } : {}) };
    } catch (error) {
      console.error(`${T} targets: ${label} failed (status ${error.code}):\n${error.stderr}`);
      const failed = (error.events ?? []).filter((e) => e.event === 'failed');
      if (failed.length > 0) console.error(`failed events (${failed.length}), first: ${JSON.stringify(failed[0])}`);
      throw new Error(`${T} targets: ${label} failed`);
    }
  };
  const services = (version) => ['-s', servicesFile(version), '-i', infrastructure, '-d', distribution];
  const row = async (label, run, detail) => {
    console.log(`  ${label.padEnd(20)} ${seconds(run.seconds).padStart(9)}   peak RSS ${mib(run.peakRss).padStart(8)}, ${String(run.peakFds ?? '?').padStart(4)} open files   ${detail}`);
    console.log(`  ${''.padEnd(20)} ${''.padStart(9)}   phases (s): ${phaseLine(run.phases)}`);
    if (run.profile) {
      const { totalMs, top } = await topFunctions(run.profile, 6);
      console.log(`  ${''.padEnd(20)} ${''.padStart(9)}   coordinator CPU profile, ${(totalMs / 1000).toFixed(2)} s sampled, most self time: ${top.map((f) => `${f.name}${f.where ? ` (${f.where})` : ''} ${(f.share * 100).toFixed(0)} %`).join(', ')}`);
    }
  };

  const bootstrap = await deploy('bootstrap', ['-i', infrastructure, '-P', packages, '--profile', 'bench-bootstrap']);
  await row('engine bootstrap', bootstrap, `${bootstrap.connected} connected, ${bootstrap.bootstraps} runtimes installed: ${verify(bootstrap.ok && bootstrap.connected === T && bootstrap.bootstraps === T)}`);

  const first = await deploy('first deploy', services('v1'));
  const firstMarkers = await markersPerTarget(machines);
  await row('first deploy', first, `built ${first.built}, sent ${first.sent} entries, activated ${first.activate}, deactivated ${first.deactivate}, ${first.bootstraps} bootstraps; ${firstMarkers.reduce((s, m) => s + m.size, 0)} markers, each on its target: ${verify(first.ok && first.activate === N && first.deactivate === 0 && first.activated.size === N && first.bootstraps === 0 && markersRight(firstMarkers, { N, T, name }))}`);

  const noops = [];
  for (let i = 0; i < REPEATS; i++) noops.push(await deploy('no-op redeploy', services('v1')));
  const noop = median(noops);
  const noopOk = noops.every((n) => n.ok && n.connected === T && n.activate === 0 && n.deactivate === 0 && n.lock === 0 && n.sent === 0 && n.unchanged === N && n.profilesChanged === 0 && n.bootstraps === 0);
  await row('no-op redeploy', noop, `${REPEATS > 1 ? `runs ${noops.map((n) => n.seconds.toFixed(2)).join(', ')} s; ` : ''}${noop.connected} targets asked, sent ${noop.sent}, activated ${noop.activate}, deactivated ${noop.deactivate}, locked ${noop.lock}, ${noop.unchanged} unchanged: ${verify(noopOk)}`);

  const changes = [];
  for (let i = 0; i < REPEATS; i++) {
    const version = i % 2 === 0 ? 'v2' : 'v1';
    const change = await deploy(`change to ${version}`, services(version));
    change.markersOk = markersRight(await markersPerTarget(machines), { N, T, name, versions: new Map([[name(changed), version]]) });
    change.checked = change.ok && sameSet(change.activated, expected) && sameSet(change.deactivated, expected) && change.bootstraps === 0 && change.markersOk;
    changes.push(change);
  }
  const change = median(changes);
  await row('one-service change', change, `${REPEATS > 1 ? `runs ${changes.map((c) => c.seconds.toFixed(2)).join(', ')} s; ` : ''}sent ${change.sent}, deactivated ${change.deactivate}, activated ${change.activate} (expected ${expected.size} each), locked/unlocked ${change.lock}/${change.unlock}; markers at the new version: ${verify(changes.every((c) => c.checked))}`);

  return { T, N, bootstrap, first, noop, change, peakRss: Math.max(...[first, ...noops, ...changes].map((r) => r.peakRss ?? 0)), load: os.loadavg()[0] };
}

function printTable(results) {
  const [base] = results;
  console.log(`\nHow it grows (${PER_TARGET} services per target; growth: time against the ${base.T}-target row, beside the targets' own ratio):`);
  const header = ['targets', 'services', 'first', 'no-op', 'change', 'peak RSS', 'first/target', 'no-op/target', 'growth first', 'no-op', 'change', 'targets ×'];
  const widths = [7, 8, 9, 8, 8, 9, 12, 12, 12, 6, 6, 9];
  const line = (cells) => `  ${cells.map((c, i) => String(c).padStart(widths[i])).join('  ')}`;
  console.log(line(header));
  for (const r of results) {
    const growth = (field) => `${(r[field].seconds / base[field].seconds).toFixed(2)}x`;
    console.log(line([r.T, r.N, seconds(r.first.seconds), seconds(r.noop.seconds), seconds(r.change.seconds), mib(r.peakRss), `${((r.first.seconds / r.T) * 1000).toFixed(0)} ms`, `${((r.noop.seconds / r.T) * 1000).toFixed(0)} ms`, growth('first'), growth('noop'), growth('change'), `${(r.T / base.T).toFixed(2)}x`]));
  }
  console.log(`  engine bootstrap (once per new machine, not in the figures above): ${results.map((r) => `${r.T} targets ${seconds(r.bootstrap.seconds)}`).join(', ')}`);
  // Each target brings the same work, so a deployment should take at most the targets' ratio longer than the smallest size.
  const goals = new GoalTable();
  for (const r of results.slice(1)) {
    for (const [job, field] of [['first deploy', 'first'], ['no-op redeploy', 'noop'], ['one-service change', 'change']]) {
      goals.add({ job: `${job}, ${r.T} targets`, ours: r[field].seconds, anchor: { label: `${base.T} targets`, seconds: base[field].seconds }, goal: { maxRatio: r.T / base.T } });
    }
  }
  goals.print('Goals (time grows no faster than the targets)');
}

try {
  const started = Date.now();
  const largest = SIZES.at(-1);
  console.log(`Scale benchmark${QUICK ? ' (--quick)' : ''}: ${SIZES.join(', ')} sshd targets on 127.0.0.1, ${PER_TARGET} wrapper services each (bin/wrapper writes/removes a marker, ~3 ms sleep; 0-2 dependsOn each within the 20 before it, seeded; service i on target i mod T)`);
  console.log(`${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}, open files limit ${await openFilesLimit()}; deploy ${TARGETS_AT_ONCE === undefined ? 'with its defaults (4 targets worked on at once' : `--max-concurrent-transfers ${TARGETS_AT_ONCE} (${TARGETS_AT_ONCE} targets worked on at once`}, activations per target = its core count); load average ${load()}`);
  const dir = path.join(work, 'ssh');
  await mkdir(path.join(work, 'pkgs/hello/bin'), { recursive: true });
  await writeFile(path.join(work, 'pkgs/hello/bin/hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  await mkdir(dir, { recursive: true });
  const { key, publicKey } = await makeClientKey(dir);
  const knownHosts = path.join(dir, 'known_hosts');
  const sshdStarted = Date.now();
  const hosts = await startSshds(largest, { work: dir, publicKey, knownHosts, daemons });
  console.log(`started ${hosts.length} sshd in ${((Date.now() - sshdStarted) / 1000).toFixed(1)} s`);

  const results = [];
  for (const T of SIZES) results.push(await runSize(T, hosts, { key, knownHosts }));
  printTable(results);
  console.log(`\nTotal ${((Date.now() - started) / 1000).toFixed(0)} s; load average ${load()}; checks: ${mismatches === 0 ? 'all ok' : `${mismatches} MISMATCH`}`);
  process.exitCode = mismatches === 0 ? 0 : 1;
} catch (error) {
  console.error(error.message);
  process.exitCode = 1;
} finally {
  await cleanup();
}
