import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { shellQuote } from '@dysnomia/engine';
import { wrapperScript } from './wrapper.sh.mjs';

/**
 * Builds a MariaDB server as a Dysnomia wrapper component, the way the
 * multi-container article writes its MySQL container: every resource that
 * could clash between instances (port, socket, data folder) is a parameter.
 *
 * Writes into outDir:
 *   bin/wrapper                          activate: start the instance; deactivate: stop it
 *   share/mariadb-server/init.sql        creates the admin user (mode 0600: it holds the password)
 *   etc/dysnomia/containers/<name>       type=mysql-database + connection settings (mode 0600)
 *
 * Pure: the same parameters write the same files (nothing depends on the
 * time, the machine or the caller's environment).
 */
export async function buildMariadbServer(outDir, params) {
  const p = normalise(params);
  const files = componentFiles(p);
  for (const file of files) {
    const target = path.join(outDir, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content, { mode: file.mode });
    await chmod(target, file.mode); // writeFile's mode applies only to new files
  }
  return {
    outDir,
    name: p.name,
    wrapper: path.join(outDir, 'bin/wrapper'),
    containerFile: path.join(outDir, 'etc/dysnomia/containers', p.name),
    properties: containerProperties(p),
    socket: p.socket,
    port: p.port,
    dataDir: p.dataDir,
    pidFile: p.pidFile,
    logFile: p.logFile,
  };
}

/** The files of the component, relative to its folder, with their modes. */
export function componentFiles(params) {
  const p = normalise(params);
  return [
    { path: 'bin/wrapper', mode: 0o755, content: wrapperScript(wrapperSettings(p)) },
    { path: 'share/mariadb-server/init.sql', mode: 0o600, content: adminUserSql(p.adminUser, p.adminPassword) },
    { path: `etc/dysnomia/containers/${p.name}`, mode: 0o600, content: containerFile(p) },
  ];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function normalise(params) {
  if (params === null || typeof params !== 'object') throw new TypeError('buildMariadbServer: params must be an object');
  const { name, adminPassword } = params;
  if (typeof name !== 'string' || !NAME.test(name)) throw new TypeError(`buildMariadbServer: name must match ${NAME}, got ${JSON.stringify(name)}`);
  if (typeof adminPassword !== 'string' || adminPassword === '') throw new TypeError('buildMariadbServer: adminPassword is required');
  const port = Number(params.port ?? 3306);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`buildMariadbServer: port must be 1-65535, got ${JSON.stringify(params.port)}`);
  const dataDir = absolute('dataDir', params.dataDir ?? `/var/lib/mysql-${name}`);
  const p = {
    name,
    port,
    socket: absolute('socket', params.socket ?? `/run/mysqld-${name}/mysqld.sock`),
    dataDir,
    pidFile: absolute('pidFile', params.pidFile ?? path.join(dataDir, 'mariadbd.pid')),
    logFile: absolute('logFile', params.logFile ?? path.join(dataDir, 'mariadbd.err')),
    // Its own temporary folder: instances sharing /tmp collided in mariadb-install-db under load ("Could not remove temporary table").
    tmpDir: absolute('tmpDir', params.tmpDir ?? `${dataDir}.tmp`),
    bindAddress: params.bindAddress ?? '127.0.0.1',
    adminUser: params.adminUser ?? 'root',
    adminPassword,
    serverOptions: [...(params.serverOptions ?? [])].map(String),
    mariadbd: params.mariadbd ?? '/usr/sbin/mariadbd',
    installDb: params.installDb ?? 'mariadb-install-db',
    client: params.client ?? 'mariadb',
    admin: params.admin ?? 'mariadb-admin',
    startTimeout: Number(params.startTimeout ?? 60),
    stopTimeout: Number(params.stopTimeout ?? 60),
  };
  if (typeof p.adminUser !== 'string' || p.adminUser === '' || p.adminUser.length > 80) throw new TypeError('buildMariadbServer: adminUser must be 1-80 characters');
  if (Buffer.byteLength(p.socket) > 107) throw new TypeError(`buildMariadbServer: socket path is longer than a Unix socket allows (107 bytes): ${p.socket}`);
  return p;
}

function absolute(key, value) {
  if (typeof value !== 'string' || !path.isAbsolute(value)) throw new TypeError(`buildMariadbServer: ${key} must be an absolute path, got ${JSON.stringify(value)}`);
  return path.normalize(value);
}

function wrapperSettings(p) {
  return {
    name: p.name,
    port: p.port,
    socket: p.socket,
    bind_address: p.bindAddress,
    data_dir: p.dataDir,
    pid_file: p.pidFile,
    log_file: p.logFile,
    tmp_dir: p.tmpDir,
    server_options: p.serverOptions,
    mariadbd: p.mariadbd,
    install_db: p.installDb,
    mariadb: p.client,
    mariadb_admin: p.admin,
    start_timeout: p.startTimeout,
    stop_timeout: p.stopTimeout,
  };
}

/** The properties the container file gives the mysql-database type. */
export function containerProperties(params) {
  const p = params.socket && params.dataDir ? params : normalise(params);
  return {
    type: 'mysql-database',
    mysqlUsername: p.adminUser,
    mysqlPassword: p.adminPassword,
    mysqlSocket: p.socket,
    mysqlPort: String(p.port),
  };
}

function containerFile(p) {
  const lines = Object.entries(containerProperties(p)).map(([key, value]) => `${key}=${shellQuote(value)}`);
  return `# MariaDB instance ${p.name}: deploy mysql-database components into it (examples/mariadb-server)\n${lines.join('\n')}\n`;
}

/** A string literal for MariaDB (init.sql sets sql_mode='' first, so backslash escapes hold). */
function sqlString(value) {
  return `'${value.replace(/[\\'\0\n\r\x1a]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '\0': '\\0', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z' })[c])}'`;
}

/**
 * The admin user, for socket and TCP logins. root keeps its unix_socket login
 * besides the password, so the wrapper (run by the system's root) can still log in.
 */
export function adminUserSql(user, password) {
  const lines = ["SET SESSION sql_mode='';"];
  for (const host of ['localhost', '127.0.0.1', '::1']) {
    const account = `${sqlString(user)}@${sqlString(host)}`;
    const auth =
      user === 'root' && host === 'localhost'
        ? `IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(${sqlString(password)})`
        : `IDENTIFIED BY ${sqlString(password)}`;
    lines.push(`CREATE USER IF NOT EXISTS ${account};`, `ALTER USER ${account} ${auth};`, `GRANT ALL PRIVILEGES ON *.* TO ${account} WITH GRANT OPTION;`);
  }
  return `${lines.join('\n')}\n`;
}
