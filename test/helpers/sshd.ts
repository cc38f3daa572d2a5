import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { access, appendFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A client key pair made with ssh-keygen for one test. */
export interface SshClientKey {
  /** Path of the private key (mode 0600). */
  privateKey: string;
  publicKey: string;
}

/** One simulated machine: an OpenSSH sshd on 127.0.0.1 (or another loopback address) that accepts the test's client key for the current user. */
export interface SshdInstance {
  host: string;
  port: number;
  user: string;
  /** The folder holding its config, host key, authorized_keys and log. */
  dir: string;
  pid: number;
  clientKey: SshClientKey;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA…`, as ssh-keyscan would print it. */
  knownHostsLine: string;
  /** The host's public key as OpenSSH prints it (`ssh-ed25519 AAAA…`). */
  hostPublicKey: string;
  /** The pids of the per-connection sshd processes (children of the listener). */
  sessionPids(): Promise<number[]>;
  /** Kills every open connection's sshd process (SIGKILL), which cuts the connections off. */
  killSessions(): Promise<number>;
  /** What sshd logged so far. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export async function requireSshd(): Promise<void> {
  try {
    await access(SSHD);
  } catch {
    throw new Error(`${SSHD} is missing: install OpenSSH's server with \`apt-get install openssh-server\``);
  }
}

export { freePort };

async function tempFolder(t: Teardown, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function makeClientKey(t: Teardown, dir?: string): Promise<SshClientKey> {
  const folder = dir ?? (await tempFolder(t, 'dysnomia-ssh-key-'));
  const privateKey = path.join(folder, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'dysnomia-test', '-f', privateKey]);
  return { privateKey, publicKey: (await readFile(`${privateKey}.pub`, 'utf8')).trim() };
}

export interface StartSshdOptions {
  /** The client key to authorize; one is made when absent. */
  clientKey?: SshClientKey;
  /** A known_hosts file to append this host's key to (created when missing). */
  knownHosts?: string;
  /** No SFTP subsystem (as a server whose admin removed it): the engine must do without. */
  withoutSftp?: boolean;
  /** The address to listen on (default 127.0.0.1; any of 127.0.0.0/8 works on Linux). */
  listenAddress?: string;
  /** sshd's LogLevel (default VERBOSE; DEBUG1 also logs forwarded connections: `server_request_direct_tcpip`). */
  logLevel?: 'VERBOSE' | 'DEBUG1';
  /**
   * Other users than the current one log in with the client key too:
   * authorized_keys and its folder are made readable to them (sshd reads it
   * as the user logging in).
   */
  otherUsers?: boolean;
}

/**
 * Starts `sshd -D -e -f CONFIG` on a free port of 127.0.0.1 with a generated
 * host key and its own PidFile and AuthorizedKeysFile in a temp folder; it is
 * stopped (its process group killed) when the test ends.
 */
export async function startSshd(t: Teardown, options: StartSshdOptions = {}): Promise<SshdInstance> {
  await requireSshd();
  // sshd running as root wants its privilege-separation folder; Debian creates it only when the service starts.
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await tempFolder(t, 'dysnomia-sshd-');
  const clientKey = options.clientKey ?? (await makeClientKey(t, dir));
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'dysnomia-test-host', '-f', hostKey]);
  const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  await writeFile(path.join(dir, 'authorized_keys'), `${clientKey.publicKey}\n`, { mode: options.otherUsers ? 0o644 : 0o600 });
  if (options.otherUsers) await chmod(dir, 0o711);
  const address = options.listenAddress ?? '127.0.0.1';

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'sshd_config');
    await writeFile(
      config,
      [
        `Port ${port}`,
        `ListenAddress ${address}`,
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'UseDNS no',
        'MaxStartups 100',
        'MaxSessions 100',
        `LogLevel ${options.logLevel ?? 'VERBOSE'}`,
        ...(options.withoutSftp ? [] : ['Subsystem sftp internal-sftp']),
        '',
      ].join('\n'),
    );
    const logFile = path.join(dir, 'sshd.log');
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    // Appends to the log stop when the test stops sshd, and stop() waits for those under way: the folder's removal comes after,
    // and an append in the middle of it (sshd's connection processes still print after it exited) makes rm fail with ENOTEMPTY.
    let logging = true;
    const appending = new Set<Promise<void>>();
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!logging) return;
      const append = appendFile(logFile, chunk).catch(() => undefined);
      appending.add(append);
      void append.finally(() => appending.delete(append));
    });
    const stopLogging = async () => {
      logging = false;
      await Promise.all(appending);
    };
    const started = await waitForListening(child, address, port, () => stderr);
    if (started !== true) {
      lastError = started;
      if (/Address already in use/.test(stderr)) continue;
      throw started;
    }
    const pid = child.pid!;
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return stopLogging();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        return stopLogging();
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 2000);
      await exited;
      clearTimeout(timer);
      await stopLogging();
    };
    t.teardown(stop);
    const sessionPids = async () => {
      const { stdout } = await run('pgrep', ['-P', String(pid)]).catch(() => ({ stdout: '' }));
      return stdout.split('\n').filter(Boolean).map(Number);
    };
    const knownHostsLine = `[${address}]:${port} ${hostPublicKey}`;
    if (options.knownHosts) {
      await mkdir(path.dirname(options.knownHosts), { recursive: true });
      await appendFile(options.knownHosts, `${knownHostsLine}\n`, { mode: 0o600 });
    }
    return {
      host: address,
      port,
      user: os.userInfo().username,
      dir,
      pid,
      clientKey,
      knownHostsLine,
      hostPublicKey,
      sessionPids,
      async killSessions() {
        const pids = await sessionPids();
        for (const session of pids) {
          try {
            process.kill(session, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
        return pids.length;
      },
      log: () => readFile(logFile, 'utf8').catch(() => ''),
      stop,
    };
  }
  throw lastError ?? new Error('sshd did not start');
}

/** Resolves true once sshd says it listens (and the port answers), or an error naming sshd's output. */
function waitForListening(child: ChildProcess, address: string, port: number, output: () => string): Promise<true | Error> {
  return new Promise((resolve) => {
    const deadline = Date.now() + 10_000;
    const onExit = (code: number | null) => {
      clearInterval(timer);
      resolve(new Error(`sshd exited (status ${code}) before listening on port ${port}:\n${output()}`));
    };
    child.once('exit', onExit);
    const timer = setInterval(() => {
      if (!output().includes(`Server listening on ${address} port ${port}`)) {
        if (Date.now() > deadline) {
          clearInterval(timer);
          child.off('exit', onExit);
          resolve(new Error(`sshd did not listen on port ${port} within 10 s:\n${output()}`));
        }
        return;
      }
      clearInterval(timer);
      child.off('exit', onExit);
      resolve(true);
    }, 25);
  });
}
