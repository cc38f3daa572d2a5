import { execFile } from 'node:child_process';
import { access, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { failureText, parseEvents, writeProgram } from './helpers/deploy-fixtures.js';
import { startSshd } from './helpers/sshd.js';
import { sshSettingsOf } from '../packages/deploy/src/deploy/target-session.js';
import type { InfrastructureTarget } from '../packages/deploy/src/models/infrastructure.js';
import { SshConnection } from '../packages/deploy/src/remote/ssh-connection.js';

// Reaching machines as users do: a login that is not root becoming root with sudo, and a machine
// reached only through a jump host named in an ssh config (Host alias, HostName, Port, User,
// IdentityFile, ProxyJump). Both against real sshd processes; the sudo part against a real user
// and a real sudoers entry on this machine.
t.setTimeout(600_000);
const run = promisify(execFile);

/** sudo must be there (.ci/run installs it): a missing one fails this file, it is never skipped. */
async function requireSudo(): Promise<void> {
  try {
    await access('/usr/bin/sudo');
  } catch {
    throw new Error('/usr/bin/sudo is missing: install it with `apt-get install sudo` (.ci/run does)');
  }
  if (process.getuid?.() !== 0) throw new Error('this test creates a user and a sudoers entry: run it as root (CI does)');
}
await requireSudo();

const dir = await tempDir(t, 'dysnomia-sudo-jump-');
const env = { DYSNOMIA_STATEDIR: path.join(dir, 'coordinator') };
const knownHosts = path.join(dir, 'known_hosts');

// A login that is not root, with a home and a shell; the key sshd accepts for it is the test's client key.
const user = `dysdeploy${process.pid}`.slice(0, 31);
await run('useradd', ['--create-home', '--shell', '/bin/sh', '--password', '*', user]);
t.teardown(() => run('userdel', ['--remove', user]).catch(() => undefined));
const sudoers = `/etc/sudoers.d/${user}`;
t.teardown(() => rm(sudoers, { force: true }));
const uid = Number((await run('id', ['-u', user])).stdout.trim());

const project = path.join(dir, 'project');
/** A wrapper service whose activate refuses to run unless it is root, and records who it ran as in `$marks/NAME`. */
async function rootOnlyService(name: string): Promise<string> {
  const folder = path.join(project, name);
  await writeProgram(
    path.join(folder, 'bin/wrapper'),
    `#!/bin/sh
set -e
case "$1" in
  activate)
    [ "$(id -u)" = 0 ] || { echo "${name} must be activated as root, not as $(id -un)" >&2; exit 3; }
    echo "uid=$(id -u)" > "$marks/${name}" ;;
  deactivate) rm -f "$marks/${name}" ;;
esac
`,
  );
  return folder;
}
const services = path.join(project, 'services.mjs');
await mkdir(project, { recursive: true });
await writeFile(services, `export default () => ({ guarded: { pkg: ${JSON.stringify(await rootOnlyService('guarded'))}, type: 'wrapper' } });\n`);

/** Each part of this file has its profile (and so its own deployment record on the coordinator). */
const deploy = (infrastructure: string, distribution: string, profile: string) =>
  dysnomia(['deploy', '-s', services, '-i', infrastructure, '-d', distribution, '--profile', profile, '--json'], { env });
const steps = (stdout: string) =>
  parseEvents(stdout)
    .filter((e) => e.event === 'step' && e.status === 'done' && e.action !== 'lock' && e.action !== 'unlock')
    .map((e) => `${e.action} ${e.service}@${e.target}`);

t.test('a login that is not root, with sudo: true, deploys a service that must run as root', async (t) => {
  const machine = await startSshd(t, { knownHosts, otherUsers: true });
  // The machine's state and the service's folder are root's alone (0700 under the test's folder): the login cannot even look in.
  const state = path.join(dir, 'sudoer/state');
  const marks = path.join(dir, 'sudoer/marks');
  await mkdir(marks, { recursive: true, mode: 0o700 });
  const infrastructure = path.join(dir, 'sudo-infrastructure.json');
  const writeInfrastructure = (sudo: boolean) =>
    writeFile(
      infrastructure,
      JSON.stringify({
        sudoer: {
          properties: { hostname: machine.host, sshPort: machine.port, sshUser: user, sshKey: machine.clientKey.privateKey, sshKnownHosts: knownHosts, stateDir: state, nodePath: process.execPath, sudo },
          containers: { wrapper: { marks } },
        },
      }),
    );
  const distribution = path.join(dir, 'sudo-distribution.json');
  await writeFile(distribution, JSON.stringify({ guarded: ['sudoer'] }));

  t.test('without sudo the login cannot write the state folder: the deployment fails and nothing is there', async (t) => {
    await writeInfrastructure(false);
    const result = await deploy(infrastructure, distribution, 'sudo');
    t.equal(result.code, 1, failureText(result));
    t.match(result.stderr, /target "sudoer".*(EACCES|permission denied)/i);
    t.notOk(await stat(state).catch(() => undefined), 'no state folder was made');
  });

  t.test('with sudo: true but no passwordless sudo for the login: a clear refusal, no password asked, nothing changed', async (t) => {
    await writeInfrastructure(true);
    const result = await deploy(infrastructure, distribution, 'sudo');
    t.equal(result.code, 1, failureText(result));
    t.match(result.stderr, new RegExp(`target "sudoer": sudo asks for ${user}'s password there; dysnomia runs sudo -n and never sends a password`));
    t.match(result.stderr, /NOPASSWD/);
    t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
    t.notOk(await stat(state).catch(() => undefined), 'no state folder was made');
    t.same(await readdir(marks), []);
  });

  t.test('with passwordless sudo: deployed as root, state owned by root, a redeploy is a no-op', async (t) => {
    await writeFile(sudoers, `${user} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
    await run('visudo', ['-c', '-f', sudoers]);
    const result = await deploy(infrastructure, distribution, 'sudo');
    t.equal(result.code, 0, failureText(result));
    t.same(steps(result.stdout), ['activate guarded@sudoer']);
    t.equal(await readFile(path.join(marks, 'guarded'), 'utf8'), 'uid=0\n', 'the wrapper ran as root');
    for (const made of [state, path.join(state, 'store'), path.join(state, 'profiles')]) {
      t.equal((await stat(made)).uid, 0, `${made} belongs to root`);
    }
    t.same((await readdir(path.join(state, 'profiles'))).sort(), ['sudo', 'sudo-1-link'], "the profile switched in root's state folder");
    t.match(await machine.log(), new RegExp(`Accepted publickey for ${user} from 127\\.0\\.0\\.1`));
    t.notMatch(await machine.log(), /Accepted publickey for root/, 'never logged in as root');
    t.equal((await stat(path.join(marks, 'guarded'))).uid, 0);
    t.not(uid, 0);

    const again = await deploy(infrastructure, distribution, 'sudo');
    t.equal(again.code, 0, failureText(again));
    t.same(steps(again.stdout), [], 'nothing to do the second time (the probe ran through sudo too)');
  });

  t.test('undeploy from the record alone (no models): the recorded sudo setting reaches the machine as root again', async (t) => {
    const result = await dysnomia(['deploy', '--profile', 'sudo', '--undeploy', '--json'], { env });
    t.equal(result.code, 0, failureText(result));
    t.same(steps(result.stdout), ['deactivate guarded@sudoer']);
    t.same(await readdir(marks), [], 'the root-only mark is gone');
  });
});

t.test('a machine reached only through a jump host named in an ssh config', async (t) => {
  // The jump host logs at DEBUG1, which names each forwarded connection (server_request_direct_tcpip).
  const jump = await startSshd(t, { knownHosts, logLevel: 'DEBUG1' });
  const hidden = await startSshd(t, { knownHosts, clientKey: jump.clientKey, listenAddress: '127.0.0.2' });
  const state = path.join(dir, 'hidden/state');
  const marks = path.join(dir, 'hidden/marks');
  await mkdir(marks, { recursive: true });
  const sshConfig = path.join(dir, 'ssh_config');
  await writeFile(
    sshConfig,
    [
      'Host gateway',
      `  HostName ${jump.host}`,
      `  Port ${jump.port}`,
      '',
      'Host behind-*',
      '  ProxyJump gateway',
      `  HostName 127.0.0.2`,
      `  Port ${hidden.port}`,
      '',
      'Host *',
      `  User ${jump.user}`,
      `  IdentityFile ${jump.clientKey.privateKey}`,
      `  UserKnownHostsFile ${knownHosts}`,
      '',
    ].join('\n'),
  );
  // Only the alias is in the infrastructure: the address, port, user, key and route come from the ssh config.
  const infrastructure = path.join(dir, 'jump-infrastructure.json');
  await writeFile(
    infrastructure,
    JSON.stringify({ hidden: { properties: { hostname: 'behind-gateway', sshConfig, stateDir: state, nodePath: process.execPath }, containers: { wrapper: { marks } } } }),
  );
  const distribution = path.join(dir, 'jump-distribution.json');
  await writeFile(distribution, JSON.stringify({ guarded: ['hidden'] }));

  t.test('deployed through the jump host: both host keys checked, the forwarded connection in the jump host log', async (t) => {
    const result = await deploy(infrastructure, distribution, 'jump');
    t.equal(result.code, 0, failureText(result));
    t.same(steps(result.stdout), ['activate guarded@hidden']);
    t.equal(await readFile(path.join(marks, 'guarded'), 'utf8'), 'uid=0\n');
    const connecting = parseEvents(result.stdout).find((e) => e.event === 'connecting' && e.target === 'hidden');
    t.equal(connecting?.where, `${jump.user}@127.0.0.2:${hidden.port} via ${jump.user}@${jump.host}:${jump.port}`);
    t.match(await jump.log(), new RegExp(`server_request_direct_tcpip: originator 127\\.0\\.0\\.1 port 0, target 127\\.0\\.0\\.2 port ${hidden.port}`), 'the jump host opened the connection to the hidden machine');
    t.match(await hidden.log(), /Accepted publickey for/, 'and the hidden machine accepted the login over it');
  });

  /** The same target with a known_hosts file holding only these lines: the ssh config's UserKnownHostsFile is overridden by sshKnownHosts. */
  const withKnownHosts = async (name: string, lines: string[]) => {
    const file = path.join(dir, `known_hosts_${name}`);
    await writeFile(file, lines.map((line) => `${line}\n`).join(''));
    const infra = path.join(dir, `${name}-infrastructure.json`);
    await writeFile(
      infra,
      JSON.stringify({ hidden: { properties: { hostname: 'behind-gateway', sshConfig, sshKnownHosts: file, stateDir: state, nodePath: process.execPath }, containers: { wrapper: { marks } } } }),
    );
    return infra;
  };

  t.test('a jump host whose key is not known is refused, naming it', async (t) => {
    const result = await deploy(await withKnownHosts('hidden-only', [hidden.knownHostsLine]), distribution, 'jump');
    t.equal(result.code, 1, failureText(result));
    t.match(result.stderr, new RegExp(`target "hidden": jump host "gateway": the host key of 127\\.0\\.0\\.1:${jump.port} is not known`));
    t.equal(await readFile(path.join(marks, 'guarded'), 'utf8'), 'uid=0\n', 'the deployment is as it was');
  });

  t.test('a jump host whose key changed is refused loudly, naming it', async (t) => {
    const result = await deploy(await withKnownHosts('changed-jump', [`[127.0.0.1]:${jump.port} ${hidden.hostPublicKey}`, hidden.knownHostsLine]), distribution, 'jump');
    t.equal(result.code, 1, failureText(result));
    t.match(result.stderr, /WARNING: THE HOST KEY OF JUMP HOST "gateway" \(TO TARGET "hidden"\) HAS CHANGED/);
    t.equal(await readFile(path.join(marks, 'guarded'), 'utf8'), 'uid=0\n', 'the deployment is as it was');
  });

  t.test('a machine behind a known jump host whose own key is not known is refused too', async (t) => {
    const result = await deploy(await withKnownHosts('jump-only', [jump.knownHostsLine]), distribution, 'jump');
    t.equal(result.code, 1, failureText(result));
    t.match(result.stderr, new RegExp(`dysnomia: error: target "hidden": the host key of 127\\.0\\.0\\.2:${hidden.port} is not known`));
    t.notMatch(result.stderr, /jump host/, 'the machine itself is named, not the jump host');
  });

  t.test('with the jump host down the machine cannot be reached, though its own sshd still runs', async (t) => {
    await jump.stop();
    const logins = async () => (await hidden.log()).split('\n').filter((line) => line.includes('Accepted publickey')).length;
    const before = await logins();
    const result = await deploy(infrastructure, distribution, 'jump');
    t.equal(result.code, 1, failureText(result));
    t.match(result.stderr, new RegExp(`target "hidden": jump host "gateway": cannot connect to 127\\.0\\.0\\.1:${jump.port}`));
    t.equal(await logins(), before, 'no login reached the hidden machine');
  });

  t.test('a mistake in the ssh config is bad input: exit 2, its file and line, nothing connected', async (t) => {
    const broken = path.join(dir, 'broken_ssh_config');
    await writeFile(broken, 'Host behind-*\n  Port twenty-two\n');
    const bad = path.join(dir, 'broken-infrastructure.json');
    await writeFile(bad, JSON.stringify({ hidden: { properties: { hostname: 'behind-gateway', sshConfig: broken, stateDir: state, nodePath: process.execPath } } }));
    const result = await deploy(bad, distribution, 'jump');
    t.equal(result.code, 2, failureText(result));
    t.match(result.stderr, `${broken}:2: Port must be a port number, not "twenty-two"`);
    t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });
});

t.test('a chain of two jump hosts (ProxyJump user@host:port,alias): each hop forwards to the next, each host key checked', async (t) => {
  const first = await startSshd(t, { knownHosts, logLevel: 'DEBUG1' });
  const second = await startSshd(t, { knownHosts, clientKey: first.clientKey, logLevel: 'DEBUG1', listenAddress: '127.0.0.3' });
  const far = await startSshd(t, { knownHosts, clientKey: first.clientKey, listenAddress: '127.0.0.4' });
  const sshConfig = path.join(dir, 'ssh_config_chain');
  await writeFile(
    sshConfig,
    [
      'Host far',
      '  HostName 127.0.0.4',
      `  Port ${far.port}`,
      `  ProxyJump ${first.user}@127.0.0.1:${first.port},second-hop`,
      'Host second-hop',
      '  HostName 127.0.0.3',
      `  Port ${second.port}`,
      'Host *',
      `  IdentityFile ${first.clientKey.privateKey}`,
      `  UserKnownHostsFile ${knownHosts}`,
      '',
    ].join('\n'),
  );
  const target: InfrastructureTarget = { name: 'far', hostname: 'far', properties: { hostname: 'far', sshConfig }, containers: {}, targetProperty: 'hostname', clientInterface: 'ssh' };
  const settings = sshSettingsOf(target, { acceptNewHostKeys: false });
  t.match(settings, {
    target: 'far',
    host: '127.0.0.4',
    port: far.port,
    knownHostsFile: knownHosts,
    jump: { host: '127.0.0.3', port: second.port, jumpHost: 'second-hop', jump: { host: '127.0.0.1', port: first.port, username: first.user, jumpHost: '127.0.0.1' } },
  });
  t.notOk('jumpHost' in settings, 'the machine itself is no jump host');
  const connection = await SshConnection.open(settings);
  t.teardown(() => connection.close());
  t.equal((await connection.exec('echo "$SSH_CONNECTION"')).stdout.trim().split(' ').slice(2).join(' '), `127.0.0.4 ${far.port}`, 'the command ran on the far machine');
  t.match(await first.log(), new RegExp(`server_request_direct_tcpip: originator 127\\.0\\.0\\.1 port 0, target 127\\.0\\.0\\.3 port ${second.port}`), 'the first hop forwarded to the second');
  t.match(await second.log(), new RegExp(`server_request_direct_tcpip: originator 127\\.0\\.0\\.1 port 0, target 127\\.0\\.0\\.4 port ${far.port}`), 'the second hop forwarded to the far machine');
  connection.close();
});
