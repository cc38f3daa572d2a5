import { execFile } from 'node:child_process';
import { access, constants, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildMariadbServer } from '../../examples/mariadb-server/index.mjs';
import type { MariadbContainerProperties } from '../../examples/mariadb-server/index.mjs';
import { dysnomia } from './cli.js';
import { freePort as freeTcpPort } from './ports.js';

/*
 * A private MariaDB server for a test, started the way a user would start
 * one: the examples/mariadb-server component, activated through the CLI as a
 * wrapper component, stopped (deactivated) in t.teardown.
 */

export const MARIADB_INSTALL_HINT = 'install it: apt-get install mariadb-server mariadb-client';

/** Small memory settings: several servers run at once on a small machine. */
export const SMALL_SERVER_OPTIONS = ['--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M', '--max-connections=40', '--skip-name-resolve'];

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface MariadbInstance {
  name: string;
  /** The temporary folder holding everything of this instance. */
  root: string;
  /** The built wrapper component. */
  component: string;
  /** The container file the component ships (type=mysql-database + connection settings). */
  containerFile: string;
  properties: MariadbContainerProperties;
  port: number;
  socket: string;
  dataDir: string;
  pidFile: string;
  adminUser: string;
  adminPassword: string;
  /** The state folder the wrapper component was activated with. */
  wrapperStateDir: string;
  /** The container file the wrapper component was activated in (`type=wrapper`). */
  wrapperContainer: string;
  /** Runs SQL as the admin user (password from a mode-0600 option file); returns the output (tab-separated, no headers). */
  sql(statements: string, database?: string): Promise<string>;
  /** The server's pid, when it runs. */
  serverPid(): Promise<number | undefined>;
  /** Deactivates the wrapper component (stops the server); safe to call twice. */
  stop(): Promise<void>;
  /** Activates it again (after stop). */
  start(): Promise<void>;
}

export interface StartMariadbOptions {
  name?: string;
  adminUser?: string;
  adminPassword?: string;
  serverOptions?: string[];
}

/** Fails (never skips) when the server programs are missing. */
export async function requireMariadb(): Promise<void> {
  for (const program of ['/usr/sbin/mariadbd', '/usr/bin/mariadb-install-db', '/usr/bin/mariadb', '/usr/bin/mariadb-dump', '/usr/bin/mariadb-admin']) {
    try {
      await access(program, constants.X_OK);
    } catch {
      throw new Error(`${program} is missing: ${MARIADB_INSTALL_HINT}`);
    }
  }
}

/** A TCP port nobody listens on right now. */
export { freeTcpPort };

function isAlive(pid: number): Promise<boolean> {
  return readFile(`/proc/${pid}/stat`, 'utf8').then(
    (stat) => !/^\d+ \(.*\) [ZX]/s.test(stat),
    () => false,
  );
}

/** Pids of running (not zombie) mariadbd processes whose command line has `--datadir=DIR`. */
export async function mariadbdPids(dataDir?: string): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const args = cmdline.split('\0');
    if (!args[0]?.endsWith('mariadbd')) continue;
    if (dataDir !== undefined && !args.includes(`--datadir=${dataDir}`)) continue;
    if (await isAlive(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

/** Starts a private MariaDB for the test (the example component, activated with --type wrapper); stopped in t.teardown. */
export async function startMariadb(t: Teardown, options: StartMariadbOptions = {}): Promise<MariadbInstance> {
  await requireMariadb();
  const root = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-mariadb-'));
  const name = options.name ?? 'mysql-test';
  const adminUser = options.adminUser ?? 'admin';
  const adminPassword = options.adminPassword ?? `pw-${Math.random().toString(36).slice(2)}-'"#\\ x`;
  const port = await freeTcpPort();
  const component = path.join(root, 'component');
  const built = await buildMariadbServer(component, {
    name,
    port,
    socket: path.join(root, 'run', 'mysqld.sock'),
    dataDir: path.join(root, 'data'),
    adminUser,
    adminPassword,
    serverOptions: options.serverOptions ?? SMALL_SERVER_OPTIONS,
  });
  const wrapperStateDir = path.join(root, 'wrapper-state');
  const wrapperContainer = path.join(root, 'containers', 'wrapper');
  await mkdir(path.dirname(wrapperContainer), { recursive: true });
  await writeFile(wrapperContainer, 'type=wrapper\n');
  const clientOptions = path.join(root, 'admin.cnf');
  await writeFile(
    clientOptions,
    `[client]\nuser="${adminUser}"\npassword="${adminPassword.replace(/[\\"]/g, (c) => `\\${c}`)}"\nsocket="${built.socket}"\nprotocol=SOCKET\n`,
    { mode: 0o600 },
  );

  const wrapperOperation = async (operation: 'activate' | 'deactivate') => {
    const result = await dysnomia(['--operation', operation, '--type', 'wrapper', '--component', component, '--container', wrapperContainer], {
      env: { DYSNOMIA_STATEDIR: wrapperStateDir },
    });
    if (result.code !== 0) throw new Error(`${operation} of MariaDB instance ${name} failed (exit ${result.code}):\n${result.stderr}`);
  };
  const serverPid = async (): Promise<number | undefined> => {
    const pid = Number((await readFile(built.pidFile, 'utf8').catch(() => '')).trim());
    return pid > 0 && (await isAlive(pid)) ? pid : undefined;
  };
  let stopped = false;
  const stop = async () => {
    stopped = true;
    await wrapperOperation('deactivate');
  };

  t.teardown(async () => {
    if (!stopped) await stop().catch(() => undefined);
    // Whatever the wrapper left behind: nothing of this instance may outlive the test.
    for (const pid of await mariadbdPids(built.dataDir)) process.kill(pid, 'SIGKILL');
    await rm(root, { recursive: true, force: true });
  });

  try {
    await wrapperOperation('activate');
  } catch (error) {
    const log = await readFile(built.logFile, 'utf8').catch(() => '');
    throw new Error(`${(error as Error).message}\n${log.split('\n').slice(-20).join('\n')}`);
  }

  return {
    name,
    root,
    component,
    containerFile: built.containerFile,
    properties: built.properties,
    port,
    socket: built.socket,
    dataDir: built.dataDir,
    pidFile: built.pidFile,
    adminUser,
    adminPassword,
    wrapperStateDir,
    wrapperContainer,
    sql: (statements, database) => mariadbClient(clientOptions, statements, database),
    serverPid,
    stop,
    start: async () => {
      stopped = false;
      await wrapperOperation('activate');
    },
  };
}

/** Runs the mariadb client with an option file, SQL on stdin. */
export function mariadbClient(optionFile: string, statements: string, database?: string): Promise<string> {
  const args = [`--defaults-file=${optionFile}`, '--batch', '--skip-column-names', ...(database === undefined ? [] : [`--database=${database}`])];
  return new Promise((resolve, reject) => {
    const child = execFile('mariadb', args, (error, stdout, stderr) => {
      if (error) reject(new Error(`mariadb ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(statements);
  });
}
