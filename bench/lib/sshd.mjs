// Loopback sshd "machines" for the benchmarks: one OpenSSH sshd per target on
// 127.0.0.1 with its own host key, config and pid file under the bench's work
// folder, all accepting one client key; their host keys go to one known_hosts.
import { execFile, spawn } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';

export async function have(file) {
  return access(file).then(() => true, () => false);
}

/** A free TCP port of 127.0.0.1 (listen on 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** An ed25519 client key pair in `dir`: { key (private key path), publicKey }. */
export async function makeClientKey(dir) {
  const key = path.join(dir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  return { key, publicKey: (await readFile(`${key}.pub`, 'utf8')).trim() };
}

/**
 * Starts `sshd -D -e` for machine `index` in `work/sshd-INDEX` and appends its
 * host key to `knownHosts`. The child is pushed onto `daemons` (stop them with
 * stopDaemons). Returns { port, dir }.
 */
export async function startSshd({ work, index, publicKey, knownHosts, daemons }) {
  const dir = path.join(work, `sshd-${index}`);
  await mkdir(dir, { recursive: true });
  // sshd running as root wants its privilege-separation folder; Debian creates it only when the service starts.
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true });
  const hostKey = path.join(dir, 'host_key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  await writeFile(path.join(dir, 'authorized_keys'), `${publicKey}\n`);
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  await writeFile(config, [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `PidFile ${dir}/sshd.pid`, `AuthorizedKeysFile ${dir}/authorized_keys`,
    'StrictModes no', 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'UseDNS no',
    'MaxStartups 100', 'MaxSessions 100', 'Subsystem sftp internal-sftp', ''].join('\n'));
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  daemons.push(child);
  await new Promise((resolve, reject) => {
    let output = '';
    child.stderr.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Server listening')) resolve();
    });
    child.once('exit', () => reject(new Error(`sshd failed:\n${output}`)));
  });
  const hostPublic = (await readFile(`${hostKey}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
  await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostPublic}\n`, { flag: 'a' });
  return { port, dir };
}

/** Starts `count` machines (startSshd, indexes 1..count) one after another; returns their { port, dir }. */
export async function startSshds(count, { work, publicKey, knownHosts, daemons }) {
  const hosts = [];
  for (let index = 1; index <= count; index++) hosts.push(await startSshd({ work, index, publicKey, knownHosts, daemons }));
  return hosts;
}

/**
 * Kills each started sshd's process group (the listener and its sessions).
 * Resolves, once they have exited or after 5 s, with how many are still running.
 */
export async function stopDaemons(daemons) {
  const exited = daemons.map((child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve(true) : new Promise((resolve) => child.once('exit', () => resolve(true)))));
  for (const child of daemons) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve(false), 5000)));
  const stopped = await Promise.all(exited.map((exit) => Promise.race([exit, timeout])));
  clearTimeout(timer);
  return stopped.filter((ok) => !ok).length;
}
