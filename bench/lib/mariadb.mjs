// Private MariaDB servers for the benchmarks, started as the tests start them:
// the examples/mariadb-server component, activated with `dysnomia --type
// wrapper` (its own port, socket and data folder under `dir`).
import { execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildMariadbServer } from '../../examples/mariadb-server/index.mjs';
import { freePort } from './sshd.mjs';

const run = promisify(execFile);

/**
 * Starts one instance named `name` in `dir` with `serverOptions`; returns
 * { name, properties (the container's, without type), optionFile (the admin's
 * client options, mode 0600), sql(statements, database), stop() }.
 */
export async function startMariadb({ dir, name, dysnomia, serverOptions = [] }) {
  await mkdir(dir, { recursive: true });
  const adminPassword = `pw-${Math.random().toString(36).slice(2)}`;
  const component = path.join(dir, 'component');
  const built = await buildMariadbServer(component, {
    name,
    port: await freePort(),
    socket: path.join(dir, 'run', 'mysqld.sock'),
    dataDir: path.join(dir, 'data'),
    adminUser: 'admin',
    adminPassword,
    serverOptions: ['--skip-name-resolve', '--max-connections=40', ...serverOptions],
  });
  const container = path.join(dir, 'containers', 'wrapper');
  await mkdir(path.dirname(container), { recursive: true });
  await writeFile(container, 'type=wrapper\n');
  const optionFile = path.join(dir, 'admin.cnf');
  await writeFile(optionFile, `[client]\nuser="admin"\npassword="${adminPassword}"\nsocket="${built.socket}"\nprotocol=SOCKET\n`, { mode: 0o600 });
  const wrapper = (operation) =>
    run(process.execPath, [dysnomia, '--operation', operation, '--type', 'wrapper', '--component', component, '--container', container], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DYSNOMIA_STATEDIR: path.join(dir, 'wrapper-state') },
    });
  await wrapper('activate');
  const { type: _type, ...properties } = built.properties;
  return {
    name,
    properties,
    optionFile,
    sql: (statements, database) => client(optionFile, statements, database),
    stop: () => wrapper('deactivate').catch(() => undefined),
  };
}

/** The mariadb client with an option file, SQL on stdin; resolves with its output (no column names). */
export function client(optionFile, statements, database) {
  const args = [`--defaults-file=${optionFile}`, '--batch', '--skip-column-names', ...(database ? [`--database=${database}`] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn('mariadb', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`mariadb failed: ${stderr}`))));
    child.stdin.end(statements);
  });
}
