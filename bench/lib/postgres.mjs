// Private PostgreSQL servers for the state backend's tests and benchmarks:
// initdb and postgres from Debian's postgresql package in a folder of the
// caller's, on 127.0.0.1 and a free port, password authentication (scram) over
// TCP. As root the server runs as the postgres user (PostgreSQL refuses root).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from './sshd.mjs';

export const POSTGRES_INSTALL_HINT = 'install it: apt-get install postgresql';

/** The newest /usr/lib/postgresql/N/bin, or a failure naming the setup command. */
export function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = path.join(root, version, 'bin');
    if (existsSync(path.join(bin, 'postgres')) && existsSync(path.join(bin, 'initdb'))) return bin;
  }
  throw new Error(`PostgreSQL is not installed (no ${root}/N/bin/postgres): ${POSTGRES_INSTALL_HINT}`);
}

/** The uid and gid to run the server as: the postgres user when we are root. */
function serverIdentity() {
  if (process.getuid?.() !== 0) return {};
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * Starts a server whose files all live in `dir` (an empty folder; as root,
 * one the postgres user can reach, e.g. a fresh folder in /tmp). Returns
 * its settings, a psql runner and stop(). The password is random unless given;
 * `passFile` holds it in .pgpass form (mode 0600) for PGPASSFILE.
 */
export async function startPostgresServer(dir, options = {}) {
  const bin = postgresBinDir();
  const identity = serverIdentity();
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'socket');
  await mkdir(socketDir, { recursive: true });
  const user = 'dysnomia';
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}`;
  const pwFile = path.join(dir, 'initdb-password');
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  if (identity.uid !== undefined) {
    await chmod(dir, 0o755);
    for (const owned of [dir, socketDir, pwFile]) await chown(owned, identity.uid, identity.gid);
  }
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
  try {
    execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--no-sync'], {
      ...identity,
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    });
  } catch (error) {
    const reason = error.stderr?.toString().trim() || error.message;
    throw new Error(`initdb failed in ${dir}${identity.uid === undefined ? '' : ' (as the postgres user, who must be able to reach that folder)'}: ${reason}`);
  }
  const port = await freePort();
  const server = spawn(
    path.join(bin, 'postgres'),
    ['-D', dataDir, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'shared_buffers=16MB', '-c', 'max_connections=40'],
    { ...identity, stdio: ['ignore', 'ignore', 'pipe'], env },
  );
  let log = '';
  server.stderr.on('data', (chunk) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const stop = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    server.kill('SIGINT'); // fast shutdown: clients are disconnected
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const database = 'deployments';
  const psql = (sql, db = database) =>
    execFileSync(path.join(bin, 'psql'), ['-h', socketDir, '-p', String(port), '-U', user, '-d', db, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    }).trim();
  // Ready when psql gets an answer; a server that does not start fails with its log.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited with status ${server.exitCode}:\n${log}`);
    try {
      psql('SELECT 1', 'postgres');
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`postgres did not accept connections within 60 s:\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  psql(`CREATE DATABASE ${database}`, 'postgres');
  const passFile = path.join(dir, 'pgpass');
  await writeFile(passFile, `127.0.0.1:${port}:${database}:${user}:${password}\n`, { mode: 0o600 });
  return { port, user, password, database, url: `postgres://${user}@127.0.0.1:${port}/${database}`, passFile, psql, stop };
}
