// The containers layer of the StaffTracker example: two MariaDB and two Tomcat
// instances whose ports, sockets and folders come from environment variables
// (with the article's defaults), so two of a kind run on one machine.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildMariadbServer } from '../mariadb-server/index.mjs';
import { buildTomcatServer } from '../tomcat-server/index.mjs';

/** Default ports, as in the article (Tomcat's shutdown ports as Tomcat's own 8005, one up for the second). */
export const CONTAINER_DEFAULTS = {
  'mysql-production': { kind: 'mysql', port: 3306 },
  'mysql-test': { kind: 'mysql', port: 3307 },
  'tomcat-production': { kind: 'tomcat', port: 8080, shutdownPort: 8005 },
  'tomcat-test': { kind: 'tomcat', port: 8081, shutdownPort: 8006 },
};

export const DEFAULT_STATE_DIR = '/var/state/dysnomia';

/** STAFFTRACKER_MYSQL_PRODUCTION_PORT and so on. */
export const envName = (service, setting) => `STAFFTRACKER_${service.toUpperCase().replaceAll('-', '_')}_${setting}`;

function portFrom(env, name, fallback, { allowDisabled = false } = {}) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !((port >= 1 && port <= 65535) || (allowDisabled && port === -1))) {
    throw new TypeError(`${name}=${raw}: not a TCP port number (1-65535${allowDisabled ? ', or -1 to disable it' : ''})`);
  }
  return port;
}

function absoluteFrom(env, name, fallback) {
  const value = env[name] === undefined || env[name] === '' ? fallback : env[name];
  if (!path.isAbsolute(value)) throw new TypeError(`${name}=${value}: must be an absolute path`);
  return path.normalize(value);
}

/**
 * The folder an instance keeps its data in: $STAFFTRACKER_DATA_DIR/<service>,
 * by default <the target's stateDir>/stafftracker/<service>.
 */
export function instanceDir(service, target, env = process.env) {
  const stateDir = target?.properties?.stateDir ?? DEFAULT_STATE_DIR;
  if (typeof stateDir !== 'string' || !path.isAbsolute(stateDir)) {
    throw new TypeError(`target ${target?.name ?? '?'}: stateDir ${JSON.stringify(stateDir)} is not an absolute path; set STAFFTRACKER_DATA_DIR`);
  }
  return path.join(absoluteFrom(env, 'STAFFTRACKER_DATA_DIR', path.join(stateDir, 'stafftracker')), service);
}

/** The login every MariaDB instance gets (STAFFTRACKER_MYSQL_USERNAME, STAFFTRACKER_MYSQL_PASSWORD; default root/secret as the article). */
export function mysqlLogin(env = process.env) {
  const user = env.STAFFTRACKER_MYSQL_USERNAME || 'root';
  const password = env.STAFFTRACKER_MYSQL_PASSWORD ?? 'secret';
  if (password === '') throw new TypeError('STAFFTRACKER_MYSQL_PASSWORD is empty: the MariaDB instances need a password');
  return { user, password };
}

/**
 * Parameters of examples/mariadb-server for a mysql-* service on `target`.
 * clientHost (STAFFTRACKER_MYSQL_CLIENT_HOST): a host (or MariaDB pattern such
 * as 10.0.0.%) the web applications connect from when they run on another
 * machine; the instance then listens on STAFFTRACKER_MYSQL_BIND_ADDRESS (set
 * it to 0.0.0.0 or the machine's address).
 */
export function mysqlServerParams(service, target, env = process.env) {
  const defaults = CONTAINER_DEFAULTS[service];
  if (defaults?.kind !== 'mysql') throw new TypeError(`${service} is not a MariaDB service of the example`);
  const dir = instanceDir(service, target, env);
  const { user, password } = mysqlLogin(env);
  const clientHost = env.STAFFTRACKER_MYSQL_CLIENT_HOST || undefined;
  return {
    server: {
      name: service,
      port: portFrom(env, envName(service, 'PORT'), defaults.port),
      socket: absoluteFrom(env, envName(service, 'SOCKET'), path.join(dir, 'mysqld.sock')),
      dataDir: path.join(dir, 'data'),
      pidFile: path.join(dir, 'mariadbd.pid'),
      logFile: path.join(dir, 'mariadbd.err'),
      bindAddress: env.STAFFTRACKER_MYSQL_BIND_ADDRESS || '127.0.0.1',
      adminUser: user,
      adminPassword: password,
    },
    ...(clientHost === undefined ? {} : { clientHost }),
  };
}

/** Parameters of examples/tomcat-server for a tomcat-* service on `target`. */
export function tomcatServerParams(service, target, env = process.env) {
  const defaults = CONTAINER_DEFAULTS[service];
  if (defaults?.kind !== 'tomcat') throw new TypeError(`${service} is not a Tomcat service of the example`);
  return {
    name: service,
    httpPort: portFrom(env, envName(service, 'PORT'), defaults.port),
    shutdownPort: portFrom(env, envName(service, 'SHUTDOWN_PORT'), defaults.shutdownPort, { allowDisabled: true }),
    catalinaBase: instanceDir(service, target, env),
  };
}

/** A MariaDB string literal (init.sql sets sql_mode='' first, so backslash escapes hold). */
function sqlString(value) {
  return `'${value.replace(/[\\'\0\n\r\x1a]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '\0': '\\0', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z' })[c])}'`;
}

/**
 * The admin login from another machine, allowed to read the example's
 * databases only (the web applications need no more).
 */
export function remoteReaderSql(user, password, host, databases) {
  const account = `${sqlString(user)}@${sqlString(host)}`;
  const grants = databases.map((db) => `GRANT SELECT ON \`${db.replaceAll('`', '``')}\`.* TO ${account};`);
  return [`SET SESSION sql_mode='';`, `CREATE USER IF NOT EXISTS ${account};`, `ALTER USER ${account} IDENTIFIED BY ${sqlString(password)};`, ...grants, ''].join('\n');
}

/** Writes a MariaDB instance component (examples/mariadb-server, plus the remote reader when clientHost is set). */
export async function buildMysqlContainer(out, { server, clientHost }, databases = ['rooms', 'staff', 'zipcodes']) {
  const built = await buildMariadbServer(out, server);
  if (clientHost !== undefined) {
    // The wrapper feeds this file (mode 0600, it holds the password) to the server on every activation.
    const initSql = path.join(out, 'share/mariadb-server/init.sql');
    await writeFile(initSql, `${await readFile(initSql, 'utf8')}${remoteReaderSql(server.adminUser, server.adminPassword, clientHost, databases)}`);
    await chmod(initSql, 0o600);
  }
  return built;
}

/** Writes a Tomcat instance component (examples/tomcat-server). */
export function buildTomcatContainer(out, params) {
  return buildTomcatServer(out, params);
}
