import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { SshConnection } from '../packages/deploy/src/remote/ssh-connection.js';
import type { SshSettings } from '../packages/deploy/src/remote/ssh-connection.js';
import { tempDir } from './helpers/cli.js';
import { waitFor } from './helpers/fixtures.js';
import { freePort } from './helpers/ports.js';
import { startSshd } from './helpers/sshd.js';
import type { SshdInstance } from './helpers/sshd.js';

const execFileAsync = promisify(execFile);

function settings(host: SshdInstance, knownHostsFile: string, extra: Partial<SshSettings> = {}): SshSettings {
  return {
    target: 'test1',
    host: host.host,
    port: host.port,
    username: host.user,
    privateKeyPath: host.clientKey.privateKey,
    agent: '',
    knownHostsFile,
    acceptNewHostKeys: false,
    ...extra,
  };
}

t.test('a known host: commands run over one connection, stdin is piped', async (t) => {
  const dir = await tempDir(t);
  const knownHosts = path.join(dir, 'known_hosts');
  const host = await startSshd(t, { knownHosts });
  const connection = await SshConnection.open(settings(host, knownHosts));
  t.teardown(() => connection.close());
  const first = await connection.exec('echo "$((6 * 7))"; echo oops >&2; exit 3');
  t.same(first, { code: 3, stdout: '42\n', stderr: 'oops\n' });
  const second = await connection.exec('cat | tr a-z A-Z', 'piped in');
  t.equal(second.stdout, 'PIPED IN');
  t.equal((await host.sessionPids()).length, 1, 'both commands used the one connection');
});

t.test('an unknown host key is refused with how to accept it; --accept-new-host-keys records it', async (t) => {
  const dir = await tempDir(t);
  const knownHosts = path.join(dir, 'known_hosts');
  const host = await startSshd(t);
  const refused = SshConnection.open(settings(host, knownHosts));
  await t.rejects(refused, { message: /target "test1": the host key of 127\.0\.0\.1:\d+ is not known: it offers the ssh-ed25519 key SHA256:/ });
  await t.rejects(refused, { message: /--accept-new-host-keys/ });
  await t.rejects(refused, { message: new RegExp(`ssh-keyscan -p ${host.port} 127.0.0.1 >> ${knownHosts}`) });

  const accepted = await SshConnection.open(settings(host, knownHosts, { acceptNewHostKeys: true }));
  accepted.close();
  t.equal(await readFile(knownHosts, 'utf8'), `${host.knownHostsLine}\n`, 'recorded as OpenSSH records it');
  const again = await SshConnection.open(settings(host, knownHosts));
  t.equal((await again.exec('echo ok')).stdout, 'ok\n', 'known from now on');
  again.close();
});

t.test('a changed host key is refused loudly, even with --accept-new-host-keys', async (t) => {
  const dir = await tempDir(t);
  const knownHosts = path.join(dir, 'known_hosts');
  const host = await startSshd(t);
  const impostor = await startSshd(t, { clientKey: host.clientKey });
  // known_hosts says host's port has the impostor's key: the key offered there "changed".
  await writeFile(knownHosts, `# mine\n[127.0.0.1]:${host.port} ${impostor.hostPublicKey}\n`);
  const before = await readFile(knownHosts, 'utf8');
  for (const acceptNewHostKeys of [false, true]) {
    const attempt = SshConnection.open(settings(host, knownHosts, { acceptNewHostKeys }));
    await t.rejects(attempt, { message: /WARNING: THE HOST KEY OF TARGET "test1" HAS CHANGED/ });
    await t.rejects(attempt, { message: /man-in-the-middle/ });
    await t.rejects(attempt, { message: new RegExp(`recorded for it is in ${knownHosts}:2`) });
  }
  t.equal(await readFile(knownHosts, 'utf8'), before, 'known_hosts untouched');
});

t.test('a refused key and a cut connection give clear errors', async (t) => {
  const dir = await tempDir(t);
  const knownHosts = path.join(dir, 'known_hosts');
  const host = await startSshd(t, { knownHosts });
  const stranger = await startSshd(t);
  await t.rejects(SshConnection.open(settings(host, knownHosts, { privateKeyPath: stranger.clientKey.privateKey })), {
    message: /target "test1": cannot connect to 127\.0\.0\.1:\d+: authentication as \w+ failed/,
    code: 'ERR_DYSNOMIA_INPUT',
  });
  // Nothing listening there: a target that cannot be reached, told apart from bad settings by its code.
  const closedPort = await freePort();
  await t.rejects(SshConnection.open(settings({ ...host, port: closedPort }, knownHosts)), {
    message: new RegExp(`target "test1": cannot connect to 127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED`),
    code: 'ERR_DYSNOMIA_UNREACHABLE',
    exitCode: 1,
  });
  // The refused connection's sshd process may still be going away (slowly on a loaded machine): only ours is to be cut.
  await sessionsBecome(host, 0);
  const connection = await SshConnection.open(settings(host, knownHosts));
  // $0 of the remote shell names this command, so the test can see it running before it cuts the connection.
  const marker = `dysnomia-cut-test-${process.pid}-${Date.now()}`;
  const long = connection.exec(`sh -c 'sleep 30' ${marker}`);
  await waitFor(async () => (await processesMatching(marker)) > 0, 'the long command to run on the target', 10_000);
  await sessionsBecome(host, 1);
  t.equal(await host.killSessions(), 1);
  await t.rejects(long, { message: /target "test1": the connection was cut off/, code: 'ERR_DYSNOMIA_UNREACHABLE' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(connection.isOpen, false);
  await t.rejects(connection.exec('true'), { message: /target "test1": connection lost/, code: 'ERR_DYSNOMIA_UNREACHABLE' });
});

t.test('a new host key that cannot be recorded fails the connection and ends it', async (t) => {
  const dir = await tempDir(t);
  // A file where known_hosts' folder should be: the append fails, for root too.
  await writeFile(path.join(dir, 'not-a-folder'), 'a file\n');
  const knownHosts = path.join(dir, 'not-a-folder', 'known_hosts');
  const host = await startSshd(t);
  const attempt = SshConnection.open(settings(host, knownHosts, { acceptNewHostKeys: true }));
  await t.rejects(attempt, { message: new RegExp(`^target "test1": cannot record the new host key of 127\\.0\\.0\\.1:${host.port} in ${knownHosts}: `) });
  // The client was ended: sshd's per-connection process goes away instead of staying for the life of ours.
  const deadline = Date.now() + 5000;
  let sessions = await host.sessionPids();
  while (sessions.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    sessions = await host.sessionPids();
  }
  t.same(sessions, [], 'no connection left open');
});

/** Waits (at most 10 s) until sshd has `count` connection processes. */
function sessionsBecome(host: { sessionPids(): Promise<number[]> }, count: number): Promise<void> {
  return waitFor(async () => (await host.sessionPids()).length === count, `${count} sshd connection process(es)`, 10_000);
}

async function processesMatching(pattern: string): Promise<number> {
  const { stdout } = await execFileAsync('pgrep', ['-f', pattern]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean).length;
}
