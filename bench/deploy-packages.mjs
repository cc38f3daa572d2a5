#!/usr/bin/env node
// Packages deployment over SSH, side by side with rsync (first copy) and Ansible (no-op redeploy).
// 50 packages (49 small ones and one of 200 MB) to 4 loopback sshd targets.
// Needs the built engine (npm run build), /usr/sbin/sshd, rsync and ansible-playbook.
// Usage: node bench/deploy-packages.mjs [--big-mb N] [--repeats N] [--keep] [--skip-ansible] [--profile-noop] [--timeline] [--cpu-prof DIR]
//   --timeline    when each event of the first copy arrives
//   --repeats N   the first copy N times, ours and rsync's interleaved (targets emptied in between); medians
//   --cpu-prof    CPU profiles of the coordinator and of every target's engine during the first copy, into DIR
// measurePackages(options) runs the same from another bench (bench/orchestrator.mjs) and returns the figures.
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { have, startSshd, stopDaemons } from './lib/sshd.mjs';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DYSNOMIA = path.join(ROOT, 'packages/engine/bin/dysnomia.js');
const TARGETS = 4;
const SMALL = 49;
/** The goal of issue 14: the first copy takes at most this many times rsync's. */
export const FIRST_COPY_GOAL = 1.0;

async function which(program) {
  return run('sh', ['-c', `command -v ${program}`]).then(({ stdout }) => stdout.trim(), () => undefined);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * CPU seconds (user + system) spent so far by this process's waited-for
 * children (here) and by the sshd daemons' finished sessions (the targets):
 * on a loaded machine the wall clock depends on the neighbours, this much less.
 */
async function cpuSeconds(daemons) {
  // utime, stime, cutime, cstime are fields 14 to 17 of /proc/PID/stat; the split starts at field 3.
  const ticks = async (pid, fields) => {
    const all = (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.split(' ') ?? [];
    return fields.reduce((sum, i) => sum + Number(all[i - 3] ?? 0), 0);
  };
  let remote = 0;
  for (const child of daemons) remote += await ticks(child.pid, [14, 15, 16, 17]);
  return { here: (await ticks('self', [16, 17])) / 100, targets: remote / 100 };
}

/**
 * Runs the packages benchmark and returns its figures (seconds):
 * { bigMb, firstCopy: { dysnomia, rsync, ratio, goal, met, runs: [{dysnomia, rsync}], cpu: {dysnomia, rsync} },
 *   bootstrap, noop, ansible }.
 * `log` receives the report lines (default console.log).
 */
export async function measurePackages(options = {}) {
  const bigMb = options.bigMb ?? 200;
  const repeats = Math.max(1, options.repeats ?? 1);
  const log = options.log ?? console.log;
  for (const [file, setup] of [['/usr/sbin/sshd', 'apt-get install openssh-server'], [path.join(ROOT, 'packages/engine/dist/bundle.cjs'), 'npm run build']]) {
    if (!(await have(file))) throw new Error(`missing ${file}: run \`${setup}\``);
  }
  const rsync = await which('rsync');
  const ansible = options.ansible === false ? undefined : await which('ansible-playbook');
  if (!rsync) log('rsync is missing: apt-get install rsync (the first-copy comparison is skipped)');
  if (!ansible && options.ansible !== false) log('ansible-playbook is missing: apt-get install ansible (the no-op comparison is skipped)');

  const work = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-bench-deploy-'));
  const daemons = [];
  const cleanup = async () => {
    stopDaemons(daemons);
    if (!options.keep) await rm(work, { recursive: true, force: true });
  };
  const onInterrupt = () => cleanup().then(() => process.exit(130));
  process.on('SIGINT', onInterrupt);

  async function time(label, fn) {
    const cpuBefore = await cpuSeconds(daemons);
    const started = process.hrtime.bigint();
    const result = await fn();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpuAfter = await cpuSeconds(daemons);
    const here = cpuAfter.here - cpuBefore.here;
    const targets = cpuAfter.targets - cpuBefore.targets;
    const cpu = here + targets;
    log(`  ${label.padEnd(44)} ${seconds.toFixed(2)} s  (CPU ${cpu.toFixed(2)} s: ${here.toFixed(2)} here, ${targets.toFixed(2)} on the targets)`);
    return { seconds, cpu, result };
  }

  function dysnomia(args, env, timeline = false) {
    const node = [...(options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.join(options.cpuProf, 'coordinator')}`] : []), DYSNOMIA, ...args];
    const childEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
    if (!timeline) return run(process.execPath, node, { env: childEnv, maxBuffer: 256 * 1024 * 1024 });
    return eventTimeline(node, childEnv, log);
  }

  try {
    log(`Packages: ${SMALL} small + 1 of ${bigMb} MB, to ${TARGETS} sshd targets on 127.0.0.1`);
    const key = path.join(work, 'id_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const publicKey = (await readFile(`${key}.pub`, 'utf8')).trim();
    const knownHosts = path.join(work, 'known_hosts');
    const hosts = [];
    for (let i = 1; i <= TARGETS; i++) {
      const { port } = await startSshd({ work, index: i, publicKey, knownHosts, daemons });
      hosts.push({ port, stateDir: path.join(work, `machine-${i}/state`), rsyncDir: path.join(work, `machine-${i}/rsync`), ansibleDir: path.join(work, `machine-${i}/ansible`) });
    }

    // The packages: a program and 64 KiB of data each; the big one holds one file of bigMb.
    const pkgs = path.join(work, 'pkgs');
    const names = [];
    for (let i = 1; i <= SMALL; i++) {
      const name = `p${String(i).padStart(2, '0')}`;
      names.push(name);
      await mkdir(path.join(pkgs, name, 'bin'), { recursive: true });
      await mkdir(path.join(pkgs, name, 'share', name), { recursive: true });
      await writeFile(path.join(pkgs, name, 'bin', name), `#!/bin/sh\necho ${name}\n`);
      await chmod(path.join(pkgs, name, 'bin', name), 0o755);
      await writeFile(path.join(pkgs, name, 'share', name, 'data'), Buffer.alloc(64 * 1024, i));
    }
    names.push('big');
    await mkdir(path.join(pkgs, 'big/share/big'), { recursive: true });
    await mkdir(path.join(pkgs, 'big/bin'), { recursive: true });
    await writeFile(path.join(pkgs, 'big/bin/big'), '#!/bin/sh\necho big\n');
    await chmod(path.join(pkgs, 'big/bin/big'), 0o755);
    await run('dd', ['if=/dev/urandom', `of=${path.join(pkgs, 'big/share/big/blob')}`, 'bs=1M', `count=${bigMb}`, 'status=none']);

    // With --cpu-prof the targets' engine runs through a node that writes a profile per process.
    let nodePath = process.execPath;
    if (options.cpuProf) {
      nodePath = path.join(work, 'node-cpu-prof');
      await mkdir(path.join(options.cpuProf, 'targets'), { recursive: true });
      await writeFile(nodePath, `#!/bin/sh\nexec ${process.execPath} --cpu-prof --cpu-prof-dir=${path.join(options.cpuProf, 'targets')} "$@"\n`);
      await chmod(nodePath, 0o755);
    }
    const infrastructure = path.join(work, 'infrastructure.json');
    await writeFile(infrastructure, JSON.stringify(Object.fromEntries(hosts.map((h, i) => [`test${i + 1}`, {
      properties: { hostname: '127.0.0.1', sshPort: h.port, sshKey: key, sshKnownHosts: knownHosts, stateDir: h.stateDir, nodePath },
    }]))));
    const packages = path.join(work, 'packages.json');
    await writeFile(packages, JSON.stringify(Object.fromEntries(hosts.map((_, i) => [`test${i + 1}`, names.map((n) => `./pkgs/${n}`)]))));
    const env = { DYSNOMIA_STATEDIR: path.join(work, 'coordinator') };
    const deployArgs = ['deploy', '-i', infrastructure, '-P', packages, '--json', '--max-concurrent-transfers', String(TARGETS)];

    // The engine goes to each target once per machine: a deploy of one tiny package to another profile,
    // so the first copy below compares the packages' transfer alone with rsync's.
    const bootstrapModel = path.join(work, 'packages-bootstrap.json');
    await writeFile(bootstrapModel, JSON.stringify(Object.fromEntries(hosts.map((_, i) => [`test${i + 1}`, [`./pkgs/${names[0]}`]]))));
    const bootstrapArgs = ['deploy', '-i', infrastructure, '-P', bootstrapModel, '--profile', 'bootstrap', '--json', '--max-concurrent-transfers', String(TARGETS)];

    log('dysnomia:');
    await time('build into the local store (--dry-run, once)', () => dysnomia([...deployArgs, '--dry-run'], env));
    const bootstrap = await time('engine bootstrap (once per machine, 4 targets)', () => dysnomia(bootstrapArgs, env));

    const ssh = `ssh -i ${key} -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
    const rsyncCopy = () => Promise.all(hosts.map(async (h) => {
      await mkdir(h.rsyncDir, { recursive: true });
      return run('rsync', ['-a', '-e', `${ssh} -p ${h.port}`, `${pkgs}/`, `root@127.0.0.1:${h.rsyncDir}/`]);
    }));
    const runs = [];
    let first;
    for (let r = 1; r <= repeats; r++) {
      const label = repeats > 1 ? ` #${r}` : '';
      // Alternated, so neither always runs right after the other's page-cache and disk work.
      const ours = async () => (first = await time(`dysnomia: first deploy of the 50 packages${label}`, () => dysnomia(deployArgs, env, options.timeline)));
      const theirs = async () => (rsync ? time(`rsync -a over ssh, first copy${label}`, rsyncCopy) : undefined);
      let a;
      let b;
      if (r % 2 === 1) {
        a = await ours();
        b = await theirs();
      } else {
        b = await theirs();
        a = await ours();
      }
      runs.push({ dysnomia: a.seconds, rsync: b?.seconds, cpu: { dysnomia: a.cpu, rsync: b?.cpu } });
      if (r < repeats) await emptyTargets(hosts, a.result.stdout);
    }
    const sent = first.result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.event === 'transferred');
    log(`  sent ${sent.reduce((a, e) => a + e.entries, 0)} entries, ${(sent.reduce((a, e) => a + e.bytes, 0) / 2 ** 20).toFixed(0)} MiB in all`);

    const noops = [];
    for (let i = 0; i < 3; i++) noops.push((await time(`no-op redeploy #${i + 1}`, () => dysnomia(deployArgs, env))).seconds);
    const noop = median(noops);
    if (options.profileNoop) await profileNoop(deployArgs, env, log);
    if (rsync) await time('no-op rsync (for reference)', () => Promise.all(hosts.map((h) => run('rsync', ['-a', '-e', `${ssh} -p ${h.port}`, `${pkgs}/`, `root@127.0.0.1:${h.rsyncDir}/`]))));

    let ansibleSeconds;
    if (ansible) ansibleSeconds = await runAnsible({ ansible, work, hosts, names, pkgs, key, knownHosts, time, log });

    const firstCopy = {
      dysnomia: median(runs.map((r) => r.dysnomia)),
      rsync: rsync ? median(runs.map((r) => r.rsync)) : undefined,
      cpu: { dysnomia: median(runs.map((r) => r.cpu.dysnomia)), rsync: rsync ? median(runs.map((r) => r.cpu.rsync)) : undefined },
      goal: FIRST_COPY_GOAL,
      runs,
    };
    log('\nSide by side:');
    if (firstCopy.rsync !== undefined) {
      firstCopy.ratio = firstCopy.dysnomia / firstCopy.rsync;
      firstCopy.met = firstCopy.ratio <= FIRST_COPY_GOAL;
      const of = repeats > 1 ? ` (medians of ${repeats}, interleaved)` : '';
      log(`  first copy${of}: dysnomia ${firstCopy.dysnomia.toFixed(2)} s vs rsync ${firstCopy.rsync.toFixed(2)} s (the anchor)  -> ratio ${firstCopy.ratio.toFixed(2)}x`);
      log(`  first copy goal at most ${FIRST_COPY_GOAL.toFixed(1)}x rsync: ${firstCopy.met ? 'met' : 'NOT met'}`);
      log(`  first copy CPU (coordinator, targets, sshd): dysnomia ${firstCopy.cpu.dysnomia.toFixed(2)} s vs rsync ${firstCopy.cpu.rsync.toFixed(2)} s  -> ratio ${(firstCopy.cpu.dysnomia / firstCopy.cpu.rsync).toFixed(2)}x`);
      const withBootstrap = firstCopy.dysnomia + bootstrap.seconds;
      log(`  first copy on new machines (engine bootstrap included): dysnomia ${withBootstrap.toFixed(2)} s vs rsync ${firstCopy.rsync.toFixed(2)} s  -> ratio ${(withBootstrap / firstCopy.rsync).toFixed(2)}x`);
    }
    if (ansibleSeconds !== undefined) log(`  no-op deploy: dysnomia ${noop.toFixed(2)} s (median of 3) vs Ansible ${ansibleSeconds.toFixed(2)} s  -> ratio ${(noop / ansibleSeconds).toFixed(3)}x`);
    log(`  no-op target under 1 s: ${noop < 1 ? 'met' : 'NOT met'} (${noop.toFixed(2)} s)`);
    return { bigMb, firstCopy, bootstrap: bootstrap.seconds, noop, ansible: ansibleSeconds };
  } finally {
    process.off('SIGINT', onInterrupt);
    await cleanup();
  }
}

/** Back to before the first copy: each target loses the profile and the entries that deploy sent; rsync's copies go. */
async function emptyTargets(hosts, deployOutput) {
  const events = deployOutput.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  for (const [i, h] of hosts.entries()) {
    const plan = events.find((e) => e.event === 'plan' && e.target === `test${i + 1}`);
    const store = path.join(h.stateDir, 'store');
    for (const entry of plan?.missing ?? []) {
      await run('chmod', ['-R', 'u+w', path.join(store, entry)]);
      await rm(path.join(store, entry), { recursive: true, force: true });
      await rm(path.join(store, '.meta', `${entry}.json`), { force: true });
    }
    const profiles = path.join(h.stateDir, 'profiles');
    for (const name of await readdir(profiles)) if (name === 'default' || /^default-\d+-link$/.test(name)) await rm(path.join(profiles, name), { force: true });
    await rm(path.join(h.stateDir, 'activations', 'default.json'), { force: true });
    await rm(h.rsyncDir, { recursive: true, force: true });
  }
}

/** When each event of a no-op redeploy arrives, to see where it spends its time. */
async function profileNoop(deployArgs, env, log) {
  await eventTimeline([DYSNOMIA, ...deployArgs], { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, log);
}

/** Runs node with `args` and says when each JSON event arrives (but `built` and `progress`); resolves with its stdout. */
async function eventTimeline(args, env, log) {
  const started = Date.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let pending = '';
  let stdout = '';
  child.stdout.on('data', (chunk) => {
    pending += chunk;
    stdout += chunk;
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const event = JSON.parse(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      if (event.event !== 'built' && event.event !== 'progress') log(`    +${String(Date.now() - started).padStart(5)} ms  ${event.event} ${event.target ?? ''}`);
    }
  });
  await new Promise((resolve) => child.on('close', resolve));
  return { stdout };
}

async function runAnsible({ ansible, work, hosts, names, pkgs, key, knownHosts, time, log }) {
  log('Ansible (copy + unarchive of one tarball per package, forks=4, pipelining):');
  const tarballs = path.join(work, 'tarballs');
  await mkdir(tarballs, { recursive: true });
  await Promise.all(names.map((n) => run('tar', ['-czf', path.join(tarballs, `${n}.tar.gz`), '-C', pkgs, n])));
  const inventory = hosts.map((h, i) => `test${i + 1} ansible_host=127.0.0.1 ansible_port=${h.port} ansible_user=root ansible_ssh_private_key_file=${key} dest=${h.ansibleDir}`).join('\n');
  await writeFile(path.join(work, 'inventory.ini'), `[targets]\n${inventory}\n[targets:vars]\nansible_ssh_common_args='-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes'\nansible_python_interpreter=/usr/bin/python3\n`);
  await writeFile(path.join(work, 'ansible.cfg'), '[defaults]\nforks = 4\nstdout_callback = minimal\nretry_files_enabled = False\n[ssh_connection]\npipelining = True\n');
  const loop = JSON.stringify(names);
  await writeFile(path.join(work, 'playbook.yml'), `- hosts: targets
  gather_facts: false
  tasks:
    - file: { path: "{{ dest }}/archives", state: directory }
    - file: { path: "{{ dest }}/pkgs", state: directory }
    - copy: { src: "${tarballs}/{{ item }}.tar.gz", dest: "{{ dest }}/archives/{{ item }}.tar.gz" }
      loop: ${loop}
    - unarchive: { src: "{{ dest }}/archives/{{ item }}.tar.gz", dest: "{{ dest }}/pkgs", remote_src: true, creates: "{{ dest }}/pkgs/{{ item }}" }
      loop: ${loop}
`);
  const playbook = () => run(ansible, ['-i', 'inventory.ini', 'playbook.yml'], { cwd: work, env: { ...process.env, ANSIBLE_CONFIG: path.join(work, 'ansible.cfg') }, maxBuffer: 256 * 1024 * 1024 });
  await time('first run (for reference)', playbook);
  return (await time('no-op run', playbook)).seconds;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const argv = process.argv.slice(2);
  const value = (flag) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  try {
    await measurePackages({
      bigMb: Number(value('--big-mb') || 200) || 200,
      repeats: Number(value('--repeats') || 1) || 1,
      keep: argv.includes('--keep'),
      ansible: !argv.includes('--skip-ansible'),
      profileNoop: argv.includes('--profile-noop'),
      timeline: argv.includes('--timeline'),
      ...(value('--cpu-prof') ? { cpuProf: path.resolve(value('--cpu-prof')) } : {}),
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  }
}
