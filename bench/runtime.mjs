#!/usr/bin/env node
// The runtime a target runs (the engine, the first-party plugins and a third-party
// plugin, with their dependencies), side by side with rsync:
//  - installing it on 4 new sshd targets (a `deploy -P` of one tiny package: connect,
//    probe, bootstrap, switch) against `rsync -a` over ssh of the same runtime files;
//  - upgrading the third-party plugin (a new version, same engine) on those 4 targets.
// Everything is offline: npm's cache is a new empty folder and its registry an address
// where nothing listens. Needs the built engine (npm run build), /usr/sbin/sshd, rsync.
// Usage: node bench/runtime.mjs [--targets N] [--rounds N] [--timeline] [--cpu] [--keep]
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, have, startSshd, stopDaemons } from './lib/sshd.mjs';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DYSNOMIA = path.join(ROOT, 'packages/engine/bin/dysnomia.js');
const argv = process.argv.slice(2);
const TARGETS = argv.includes('--targets') ? Number(argv[argv.indexOf('--targets') + 1]) : 4;

for (const [file, setup] of [['/usr/sbin/sshd', 'apt-get install openssh-server'], ['/usr/bin/rsync', 'apt-get install rsync'], [path.join(ROOT, 'packages/engine/dist/bundle.cjs'), 'npm run build']]) {
  if (!(await have(file))) {
    console.error(`missing ${file}: run \`${setup}\``);
    process.exit(2);
  }
}

const work = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-bench-runtime-'));
const daemons = [];
const cleanup = async () => {
  stopDaemons(daemons);
  if (!argv.includes('--keep')) await rm(work, { recursive: true, force: true });
};
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));

const offline = { npm_config_registry: `http://127.0.0.1:${await freePort()}/`, npm_config_fetch_retries: '0', npm_config_update_notifier: 'false' };
const npm = (args, cwd) => run('npm', args, { cwd, env: { PATH: process.env.PATH, HOME: work, ...offline, npm_config_cache: path.join(work, 'npm-cache-packing') } });

async function time(label, fn) {
  const started = process.hrtime.bigint();
  const result = await fn();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`  ${label.padEnd(58)} ${seconds.toFixed(2)} s`);
  return { seconds, result };
}


/** A plugin with one dependency, packed and installed into the project from its tarball, offline. */
async function installPlugin(project, version) {
  const source = path.join(work, `plugin-${version}`);
  await mkdir(source, { recursive: true });
  await writeFile(path.join(source, 'package.json'), JSON.stringify({ name: 'dysnomia-plugin-greeting', version, type: 'module', main: 'index.js', dependencies: { 'greeting-words': '^1.0.0' }, peerDependencies: { '@dysnomia/engine': '^1.0.0' } }));
  await writeFile(path.join(source, 'index.js'), `import { definePlugin } from '@dysnomia/engine';\nimport { salutation } from 'greeting-words';\nexport default definePlugin({ type: 'greeting', engine: '^1.0.0', async activate(ctx) { ctx.log.info(salutation + ' ${version}'); }, async deactivate() {} });\n`);
  const { stdout } = await npm(['pack', source, '--pack-destination', work, '--json'], work);
  await npm(['install', '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', path.join(work, JSON.parse(stdout)[0].filename)], project);
}

try {
  console.log(`The runtime (engine, first-party plugins, a third-party plugin, their dependencies) to ${TARGETS} sshd targets on 127.0.0.1`);
  const key = path.join(work, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const publicKey = (await readFile(`${key}.pub`, 'utf8')).trim();
  const knownHosts = path.join(work, 'known_hosts');
  const hosts = [];
  for (let i = 1; i <= TARGETS; i++) {
    const { port } = await startSshd({ work, index: i, publicKey, knownHosts, daemons });
    hosts.push({ port, stateDir: path.join(work, `machine-${i}/state`), rsyncDir: path.join(work, `machine-${i}/rsync`) });
  }

  const project = path.join(work, 'project');
  await mkdir(path.join(project, 'hello'), { recursive: true });
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'bench-project', private: true }));
  await writeFile(path.join(project, 'hello/message'), 'world\n');
  const words = path.join(work, 'words');
  await mkdir(words);
  await writeFile(path.join(words, 'package.json'), JSON.stringify({ name: 'greeting-words', version: '1.0.0', type: 'module', main: 'index.js' }));
  await writeFile(path.join(words, 'index.js'), "export const salutation = 'Hello';\n");
  const { stdout: packedWords } = await npm(['pack', words, '--pack-destination', work, '--json'], work);
  await npm(['install', '--offline', '--no-audit', '--no-fund', path.join(work, JSON.parse(packedWords)[0].filename)], project);
  await installPlugin(project, '1.0.0');

  // With --cpu each target's node runs under /usr/bin/time, appending to work/target-cpu.log.
  const targetNode = path.join(work, 'target-node');
  await writeFile(targetNode, `#!/bin/sh\nexec /usr/bin/time -a -o ${work}/target-cpu.log -f '%U %S %e' ${process.execPath} "$@"\n`, { mode: 0o755 });
  const infrastructure = path.join(project, 'infrastructure.json');
  await writeFile(infrastructure, JSON.stringify(Object.fromEntries(hosts.map((h, i) => [`test${i + 1}`, {
    properties: { hostname: '127.0.0.1', sshPort: h.port, sshKey: key, sshKnownHosts: knownHosts, stateDir: h.stateDir, nodePath: argv.includes('--cpu') ? targetNode : process.execPath },
  }]))));
  const services = path.join(project, 'services.json');
  const distribution = path.join(project, 'distribution.json');
  await writeFile(services, JSON.stringify({ hello: { pkg: './hello', type: 'greeting' } }));
  await writeFile(distribution, JSON.stringify({ hello: hosts.map((_, i) => `test${i + 1}`) }));
  const env = { DYSNOMIA_STATEDIR: path.join(work, 'coordinator'), ...offline, npm_config_cache: path.join(work, 'npm-cache-deploys') };
  const dysnomia = (args) => run(process.execPath, [DYSNOMIA, ...args], { cwd: project, env: { PATH: process.env.PATH, HOME: work, ...env }, maxBuffer: 64 * 1024 * 1024 });
  /** The command with each --json event stamped with the milliseconds since it started: where the time goes. */
  const timed = (args) =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const command = argv.includes('--cpu') ? ['/usr/bin/time', ['-f', '  (coordinator CPU: %U s user, %S s system, %e s wall)', process.execPath, DYSNOMIA, ...args]] : [process.execPath, [DYSNOMIA, ...args]];
      const child = spawn(command[0], command[1], { cwd: project, env: { PATH: process.env.PATH, HOME: work, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
      const stamped = [];
      let pending = '';
      child.stdout.on('data', (chunk) => {
        pending += chunk;
        for (let newline; (newline = pending.indexOf('\n')) >= 0; pending = pending.slice(newline + 1)) stamped.push({ ms: Date.now() - started, ...JSON.parse(pending.slice(0, newline)) });
      });
      child.on('close', (code) => (code === 0 ? resolve(stamped) : reject(new Error(`dysnomia ${args.join(' ')} exited with ${code}`))));
    });
  /** From the first connection to the last target with its runtime: the runtime's installation, as the deploy lived it. */
  const installPhase = (stamped) => {
    const from = stamped.find((e) => e.event === 'connecting')?.ms ?? 0;
    const to = Math.max(...stamped.filter((e) => e.event === 'connected').map((e) => e.ms));
    return (to - from) / 1000;
  };
  const deployArgs = ['deploy', '-s', services, '-i', infrastructure, '-d', distribution, '--json', '--max-concurrent-transfers', String(TARGETS)];

  console.log('dysnomia:');
  // The coordinator's own store gets the package entries and composes the runtime once; then the targets.
  await time('package entries and runtime in the local store (--dry-run)', () => dysnomia([...deployArgs, '--dry-run']));
  const first = await time(`first deploy: runtime installed on ${TARGETS} new targets + 1 service`, () => timed(deployArgs));
  const firstEvents = first.result;
  const firstInstall = installPhase(firstEvents);
  if (argv.includes('--cpu')) {
    const lines = (await readFile(path.join(work, 'target-cpu.log'), 'utf8')).trim().split('\n').map((l) => l.split(' ').map(Number));
    console.log(`  (targets' node processes: ${lines.length}, CPU ${lines.reduce((a, l) => a + l[0] + l[1], 0).toFixed(2)} s in all; each: ${lines.map((l) => `${(l[0] + l[1]).toFixed(2)}/${l[2].toFixed(2)}`).join(' ')} s CPU/wall)`);
  }
  console.log(`  of which connecting and installing the runtime on all ${TARGETS} (first "connecting" to last "connected"): ${firstInstall.toFixed(2)} s`);
  if (argv.includes('--timeline')) for (const e of firstEvents) if (e.event !== 'built') console.log(`    +${String(e.ms).padStart(5)} ms ${e.event} ${e.target ?? ''} ${e.phase ?? ''}`);
  const installed = firstEvents.filter((e) => e.event === 'bootstrap' && e.phase === 'done');
  const runtimeBytes = installed.reduce((sum, e) => sum + e.bytes, 0);
  console.log(`  ${installed.length} targets, ${installed[0]?.packages} package entries each, ${(runtimeBytes / 2 ** 20).toFixed(1)} MiB sent in all`);

  const runtimeEntry = JSON.parse(await readFile(path.join(hosts[0].stateDir, 'deployments/dysnomia-runtime.json'), 'utf8')).storePaths[0];
  const runtimeDir = path.join(env.DYSNOMIA_STATEDIR, 'store', runtimeEntry);
  console.log(`rsync -a over ssh of the same runtime files (the composed runtime folder), ${TARGETS} targets in parallel:`);
  const ssh = `ssh -i ${key} -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
  const rsync = await time('first copy', () => Promise.all(hosts.map(async (h) => {
    await mkdir(h.rsyncDir, { recursive: true });
    return run('rsync', ['-a', '-e', `${ssh} -p ${h.port}`, `${runtimeDir}/`, `root@127.0.0.1:${h.rsyncDir}/`]);
  })));
  const files = (await run('find', [runtimeDir, '-type', 'f'])).stdout.split('\n').filter(Boolean).length;
  console.log(`  (${files} files)`);

  console.log('dysnomia, the plugin upgraded (1.0.0 -> 1.1.0), same engine:');
  await installPlugin(project, '1.1.0');
  await dysnomia([...deployArgs, '--dry-run']);
  const upgrade = await time(`deploy after the upgrade (runtime recomposed on ${TARGETS} targets)`, () => timed(deployArgs));
  const upgraded = upgrade.result.filter((e) => e.event === 'bootstrap' && e.phase === 'done');
  if (argv.includes('--timeline')) for (const e of upgrade.result) console.log(`    +${String(e.ms).padStart(5)} ms ${e.event} ${e.target ?? ''} ${e.phase ?? ''}`);
  console.log(`  sent per target: ${upgraded.map((e) => `${e.packages} package (${e.bytes} B)`).join(', ')}`);
  const noop = await time('no-op redeploy (for reference)', () => dysnomia(deployArgs));
  const stores = await Promise.all(hosts.map(async (h) => (await readdir(path.join(h.stateDir, 'store'))).filter((n) => n.includes('dysnomia-runtime')).length));
  console.log(`  runtimes kept on each target: ${stores.join(', ')} (the previous one stays until store --gc)`);

  // Side by side, interleaved, on fresh state folders each round: the machine's load changes the figures a lot between runs.
  const ROUNDS = argv.includes('--rounds') ? Number(argv[argv.indexOf('--rounds') + 1]) : 3;
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const rounds = { install: [], rsync: [], upgrade: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const roundInfrastructure = path.join(project, `infrastructure-${round}.json`);
    await writeFile(roundInfrastructure, JSON.stringify(Object.fromEntries(hosts.map((h, i) => [`test${i + 1}`, {
      properties: { hostname: '127.0.0.1', sshPort: h.port, sshKey: key, sshKnownHosts: knownHosts, stateDir: `${h.stateDir}-${round}`, nodePath: process.execPath },
    }]))));
    const args = ['deploy', '-s', services, '-i', roundInfrastructure, '-d', distribution, '--json', '--max-concurrent-transfers', String(TARGETS), '--profile', `round${round}`];
    rounds.install.push(installPhase(await timed(args)));
    const started = process.hrtime.bigint();
    await Promise.all(hosts.map(async (h) => {
      await mkdir(`${h.rsyncDir}-${round}`, { recursive: true });
      return run('rsync', ['-a', '-e', `${ssh} -p ${h.port}`, `${runtimeDir}/`, `root@127.0.0.1:${h.rsyncDir}-${round}/`]);
    }));
    rounds.rsync.push(Number(process.hrtime.bigint() - started) / 1e9);
    // The whole command: the new plugin's entry and the runtime made here too, then on every target.
    await installPlugin(project, `2.${round}.0`);
    const upgradeStarted = process.hrtime.bigint();
    await timed(args);
    rounds.upgrade.push(Number(process.hrtime.bigint() - upgradeStarted) / 1e9);
  }
  const fmt = (values) => values.map((v) => v.toFixed(2)).join(', ');
  console.log(`\nSide by side (${ROUNDS} rounds, fresh state folders each, interleaved; medians):`);
  console.log(`  runtime on ${TARGETS} new targets: dysnomia ${median(rounds.install).toFixed(2)} s [${fmt(rounds.install)}] vs rsync -a of the same files ${median(rounds.rsync).toFixed(2)} s [${fmt(rounds.rsync)}] -> ${(median(rounds.install) / median(rounds.rsync)).toFixed(2)}x (goal: at most 1.5x)`);
  console.log(`  plugin upgrade on ${TARGETS} targets, the whole deploy command: ${median(rounds.upgrade).toFixed(2)} s [${fmt(rounds.upgrade)}] (goal: under 1 s); no-op ${noop.seconds.toFixed(2)} s`);
  console.log(`  the first run above, one service activated on each target too: ${first.seconds.toFixed(2)} s`);
  console.log('  earlier: npm pack + npm install of the engine and plugins, one 6.6 MB entry per target: 4 targets in 11.1-15 s (issue "Plugins travel")');
} finally {
  await cleanup();
}
