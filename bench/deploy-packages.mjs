#!/usr/bin/env node
// Packages deployment over SSH, side by side with rsync (first copy) and Ansible (no-op redeploy).
// 50 packages (49 small ones and one of 200 MB) to 4 loopback sshd targets.
// Needs the built engine (npm run build), /usr/sbin/sshd, rsync and ansible-playbook.
// Usage: node bench/deploy-packages.mjs [--big-mb N] [--keep] [--skip-ansible] [--profile-noop]
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { have, startSshd, stopDaemons } from './lib/sshd.mjs';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DYSNOMIA = path.join(ROOT, 'packages/engine/bin/dysnomia.js');
const TARGETS = 4;
const SMALL = 49;
const argv = process.argv.slice(2);
const BIG_MB = Number(argv[argv.indexOf('--big-mb') + 1] || 200) || 200;

async function which(program) {
  return run('sh', ['-c', `command -v ${program}`]).then(({ stdout }) => stdout.trim(), () => undefined);
}

for (const [file, setup] of [['/usr/sbin/sshd', 'apt-get install openssh-server'], [path.join(ROOT, 'packages/engine/dist/cli/dysnomia.js'), 'npm run build']]) {
  if (!(await have(file))) {
    console.error(`missing ${file}: run \`${setup}\``);
    process.exit(2);
  }
}
const rsync = await which('rsync');
const ansible = argv.includes('--skip-ansible') ? undefined : await which('ansible-playbook');
if (!rsync) console.error('rsync is missing: apt-get install rsync (the first-copy comparison is skipped)');
if (!ansible && !argv.includes('--skip-ansible')) console.error('ansible-playbook is missing: apt-get install ansible (the no-op comparison is skipped)');

const work = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-bench-deploy-'));
const daemons = [];
const cleanup = async () => {
  stopDaemons(daemons);
  if (!argv.includes('--keep')) await rm(work, { recursive: true, force: true });
};
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));

async function startMachine(index, publicKey, knownHosts) {
  const { port } = await startSshd({ work, index, publicKey, knownHosts, daemons });
  return { port, stateDir: path.join(work, `machine-${index}/state`), rsyncDir: path.join(work, `machine-${index}/rsync`), ansibleDir: path.join(work, `machine-${index}/ansible`) };
}

async function time(label, fn) {
  const started = process.hrtime.bigint();
  const result = await fn();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`  ${label.padEnd(44)} ${seconds.toFixed(2)} s`);
  return { seconds, result };
}

function dysnomia(args, env) {
  return run(process.execPath, [DYSNOMIA, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, maxBuffer: 256 * 1024 * 1024 });
}

try {
  console.log(`Packages: ${SMALL} small + 1 of ${BIG_MB} MB, to ${TARGETS} sshd targets on 127.0.0.1`);
  const key = path.join(work, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const publicKey = (await readFile(`${key}.pub`, 'utf8')).trim();
  const knownHosts = path.join(work, 'known_hosts');
  const hosts = [];
  for (let i = 1; i <= TARGETS; i++) hosts.push(await startMachine(i, publicKey, knownHosts));

  // The packages: a program and 64 KiB of data each; the big one holds one file of BIG_MB.
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
  await run('dd', ['if=/dev/urandom', `of=${path.join(pkgs, 'big/share/big/blob')}`, 'bs=1M', `count=${BIG_MB}`, 'status=none']);

  const infrastructure = path.join(work, 'infrastructure.json');
  await writeFile(infrastructure, JSON.stringify(Object.fromEntries(hosts.map((h, i) => [`test${i + 1}`, {
    properties: { hostname: '127.0.0.1', sshPort: h.port, sshKey: key, sshKnownHosts: knownHosts, stateDir: h.stateDir, nodePath: process.execPath },
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

  console.log('dysnomia:');
  await time('build into the local store (--dry-run, once)', () => dysnomia([...deployArgs, '--dry-run'], env));
  const bootstrap = await time('engine bootstrap (once per machine, 4 targets)', () => dysnomia(bootstrapArgs, env));
  const first = await time('first deploy of the 50 packages', () => dysnomia(deployArgs, env));
  const sent = first.result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.event === 'transferred');
  console.log(`  sent ${sent.reduce((a, e) => a + e.entries, 0)} entries, ${(sent.reduce((a, e) => a + e.bytes, 0) / 2 ** 20).toFixed(0)} MiB in all`);
  const noops = [];
  for (let i = 0; i < 3; i++) noops.push((await time(`no-op redeploy #${i + 1}`, () => dysnomia(deployArgs, env))).seconds);
  const noop = noops.sort((a, b) => a - b)[1];
  if (argv.includes('--profile-noop')) {
    // When each event arrives, to see where a no-op redeploy spends its time.
    const started = Date.now();
    const child = spawn(process.execPath, [DYSNOMIA, ...deployArgs], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let pending = '';
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      let newline;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const event = JSON.parse(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (event.event !== 'built') console.log(`    +${String(Date.now() - started).padStart(5)} ms  ${event.event} ${event.target ?? ''}`);
      }
    });
    await new Promise((resolve) => child.on('close', resolve));
  }
  let rsyncSeconds;
  if (rsync) {
    console.log('rsync -a over ssh (same 4 targets, in parallel):');
    const ssh = `ssh -i ${key} -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
    rsyncSeconds = (await time('first copy', () => Promise.all(hosts.map(async (h) => {
      await mkdir(h.rsyncDir, { recursive: true });
      return run('rsync', ['-a', '-e', `${ssh} -p ${h.port}`, `${pkgs}/`, `root@127.0.0.1:${h.rsyncDir}/`]);
    })))).seconds;
    await time('no-op rsync (for reference)', () => Promise.all(hosts.map((h) => run('rsync', ['-a', '-e', `${ssh} -p ${h.port}`, `${pkgs}/`, `root@127.0.0.1:${h.rsyncDir}/`]))));
  }

  let ansibleSeconds;
  if (ansible) {
    console.log('Ansible (copy + unarchive of one tarball per package, forks=4, pipelining):');
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
    ansibleSeconds = (await time('no-op run', playbook)).seconds;
  }

  console.log('\nSide by side:');
  if (rsyncSeconds !== undefined) {
    console.log(`  first copy:   dysnomia ${first.seconds.toFixed(2)} s vs rsync ${rsyncSeconds.toFixed(2)} s  -> ratio ${(first.seconds / rsyncSeconds).toFixed(2)}x`);
    const withBootstrap = first.seconds + bootstrap.seconds;
    console.log(`  first copy on new machines (engine bootstrap included): dysnomia ${withBootstrap.toFixed(2)} s vs rsync ${rsyncSeconds.toFixed(2)} s  -> ratio ${(withBootstrap / rsyncSeconds).toFixed(2)}x`);
  }
  if (ansibleSeconds !== undefined) console.log(`  no-op deploy: dysnomia ${noop.toFixed(2)} s (median of 3) vs Ansible ${ansibleSeconds.toFixed(2)} s  -> ratio ${(noop / ansibleSeconds).toFixed(3)}x`);
  console.log(`  no-op target under 1 s: ${noop < 1 ? 'met' : 'NOT met'} (${noop.toFixed(2)} s)`);
} finally {
  await cleanup();
}
