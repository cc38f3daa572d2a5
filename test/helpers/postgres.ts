import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from './cli.js';
import { freePort } from './ports.js';

/*
 * Private PostgreSQL servers for the state backend's tests: initdb and
 * postgres from Debian's postgresql package in a temporary folder, on
 * 127.0.0.1 and a free port, password authentication (scram) for TCP. As
 * root the server runs as the postgres user (PostgreSQL refuses root).
 */

export const POSTGRES_INSTALL_HINT = 'install it: apt-get install postgresql';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface PostgresInstance {
  port: number;
  user: string;
  password: string;
  database: string;
  /** postgres://USER@127.0.0.1:PORT/DATABASE: no password, as a config holds it. */
  url: string;
  /** A .pgpass-format file (mode 0600) holding the password, for PGPASSFILE. */
  passFile: string;
  /** Runs one SQL statement in the instance's database through psql (as the superuser, over the socket); returns its output, unaligned. */
  psql(sql: string): string;
  stop(): Promise<void>;
}

/** The newest /usr/lib/postgresql/N/bin, or a failure naming the setup command. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = path.join(root, version, 'bin');
    if (existsSync(path.join(bin, 'postgres')) && existsSync(path.join(bin, 'initdb'))) return bin;
  }
  throw new Error(`PostgreSQL is not installed (no ${root}/N/bin/postgres): ${POSTGRES_INSTALL_HINT}`);
}

/** The uid and gid to run the server as: the postgres user when we are root. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export async function startPostgres(t: Teardown, options: { password?: string } = {}): Promise<PostgresInstance> {
  const bin = postgresBinDir();
  const identity = serverIdentity();
  const root = await tempDir(t, 'dysnomia-postgres-');
  const dataDir = path.join(root, 'data');
  const socketDir = path.join(root, 'socket');
  await mkdir(socketDir);
  const user = 'dysnomia';
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}`;
  const pwFile = path.join(root, 'initdb-password');
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  if (identity) {
    await chmod(root, 0o755);
    for (const owned of [root, socketDir, pwFile]) await chown(owned, identity.uid, identity.gid);
  }
  const as = identity ? { uid: identity.uid, gid: identity.gid } : {};
  execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--no-sync'], {
    ...as,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
  });
  const port = await freePort();
  const server: ChildProcess = spawn(
    path.join(bin, 'postgres'),
    ['-D', dataDir, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'shared_buffers=16MB', '-c', 'max_connections=40'],
    { ...as, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } },
  );
  let log = '';
  server.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const stop = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    server.kill('SIGINT'); // fast shutdown: clients are disconnected
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  t.teardown(stop);

  const database = 'deployments';
  const psql = (sql: string, db = database) =>
    execFileSync(path.join(bin, 'psql'), ['-h', socketDir, '-p', String(port), '-U', user, '-d', db, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    }).trim();
  // Ready when psql gets an answer; a server that does not start fails with its log.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited with status ${server.exitCode}:\n${log}`);
    try {
      psql('SELECT 1', 'postgres');
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 60 s:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  psql(`CREATE DATABASE ${database}`, 'postgres');
  const passFile = path.join(root, 'pgpass');
  await writeFile(passFile, `127.0.0.1:${port}:${database}:${user}:${password}\n`, { mode: 0o600 });
  return { port, user, password, database, url: `postgres://${user}@127.0.0.1:${port}/${database}`, passFile, psql, stop };
}
