// The StaffTracker web applications as tomcat-webapplication components:
// webapps/<Name>.war holding web/index.jsp, the MariaDB JDBC driver
// (WEB-INF/lib) and a WEB-INF/web.xml with the query and the connection
// settings. The WAR holds the database password, so it is mode 0600 (the store
// keeps it private, the plugin deploys it 0600). Made with fflate (no JDK
// needed). Pure: the same parameters and driver give the same bytes.
import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';

export const WEB_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'web');

/** MariaDB Connector/J as Debian's libmariadb-java installs it. */
export const MARIADB_DRIVER_JAR = '/usr/share/java/mariadb-java-client.jar';
export const DRIVER_INSTALL_HINT = 'install it: apt-get install libmariadb-java';

/** Each web application: its page title, the database it reads and its query (first column listed). */
export const WEBAPPS = {
  StaffTracker: { title: 'StaffTracker', database: 'staff', query: 'SELECT name FROM staff ORDER BY id' },
  RoomService: { title: 'Rooms', database: 'rooms', query: "SELECT CONCAT(room, ' (', zipcode, ')') FROM room ORDER BY room" },
  ZipcodeService: { title: 'Zipcodes', database: 'zipcodes', query: "SELECT CONCAT(zipcode, ' ', street, ', ', city) FROM zipcode ORDER BY zipcode" },
};

// A local-time date, so the DOS times in the zip are the same in every time zone.
const ENTRY_TIME = new Date(2000, 0, 1, 0, 0, 0);
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9._-]*)$/;
const DATABASE = /^[A-Za-z0-9_]{1,64}$/;
const WAR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The host a web application connects to for a target's hostname: 127.0.0.1
 * for localhost-like names (MariaDB's "localhost" means its socket, and the
 * example servers listen on 127.0.0.1 by default), brackets for IPv6.
 */
export function jdbcHost(hostname) {
  if (typeof hostname !== 'string' || hostname === '') throw new TypeError(`jdbcHost: expected a host name, got ${JSON.stringify(hostname)}`);
  if (hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname)) return '127.0.0.1';
  return hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
}

/** Checks a connection { host, port, database, user, password }; the port may be a string, as container properties are. */
export function connectionParams(connection) {
  const { host, port, database, user, password } = connection ?? {};
  if (typeof host !== 'string' || !HOST.test(host)) throw new TypeError(`connection.host must be a host name or address, got ${JSON.stringify(host)}`);
  const portNumber = Number(port);
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535 || String(port).trim() === '') {
    throw new TypeError(`connection.port must be a TCP port number, got ${JSON.stringify(port)}`);
  }
  if (typeof database !== 'string' || !DATABASE.test(database)) throw new TypeError(`connection.database must be 1-64 letters, digits or "_", got ${JSON.stringify(database)}`);
  if (typeof user !== 'string' || user === '') throw new TypeError('connection.user must be a non-empty string');
  if (typeof password !== 'string') throw new TypeError('connection.password must be a string');
  return { host, port: portNumber, database, user, password };
}

const xmlText = (value) => String(value).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

function contextParam(name, value) {
  return `  <context-param>\n    <param-name>${name}</param-name>\n    <param-value>${xmlText(value)}</param-value>\n  </context-param>\n`;
}

/** WEB-INF/web.xml: the page's title and query, and the JDBC settings, as context parameters. */
export function webXml({ title, query, connection }) {
  const c = connectionParams(connection);
  return `<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="https://jakarta.ee/xml/ns/jakartaee https://jakarta.ee/xml/ns/jakartaee/web-app_6_0.xsd"
         version="6.0">
  <display-name>${xmlText(title)}</display-name>
${contextParam('list.title', title)}${contextParam('list.query', query)}${contextParam('jdbc.host', c.host)}${contextParam('jdbc.port', c.port)}${contextParam('jdbc.database', c.database)}${contextParam('jdbc.user', c.user)}${contextParam('jdbc.password', c.password)}  <welcome-file-list>
    <welcome-file>index.jsp</welcome-file>
  </welcome-file-list>
</web-app>
`;
}

/** The driver's bytes; a missing driver names the Debian package to install. */
export async function readDriver(driverJar = MARIADB_DRIVER_JAR) {
  try {
    await access(driverJar);
  } catch {
    throw new Error(`the MariaDB JDBC driver ${driverJar} is missing: ${DRIVER_INSTALL_HINT}`);
  }
  return new Uint8Array(await readFile(driverJar));
}

/** The WAR's bytes: index.jsp, WEB-INF/web.xml and WEB-INF/lib/mariadb-java-client.jar, sorted, fixed times. */
export async function listWar({ title, query, connection, driverJar }) {
  if (typeof title !== 'string' || typeof query !== 'string') throw new TypeError('title and query must be strings');
  const entries = {
    'WEB-INF/lib/mariadb-java-client.jar': [await readDriver(driverJar), { mtime: ENTRY_TIME, level: 0 }],
    'WEB-INF/web.xml': [new TextEncoder().encode(webXml({ title, query, connection })), { mtime: ENTRY_TIME }],
    'index.jsp': [new Uint8Array(await readFile(path.join(WEB_DIR, 'index.jsp'))), { mtime: ENTRY_TIME }],
  };
  const sorted = Object.fromEntries(Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : 1)));
  return zipSync(sorted, { level: 6 });
}

/** Writes a web application listing `query`'s rows into out: webapps/<warName>.war, mode 0600. */
export async function buildListWebapp(out, { warName, title, query, connection, driverJar }) {
  if (typeof warName !== 'string' || !WAR_NAME.test(warName)) throw new TypeError(`warName must be letters, digits, ".", "_" or "-", got ${JSON.stringify(warName)}`);
  const bytes = await listWar({ title, query, connection, driverJar });
  const war = path.join(out, 'webapps', `${warName}.war`);
  await mkdir(path.dirname(war), { recursive: true });
  await writeFile(war, bytes, { mode: 0o600 });
  await chmod(war, 0o600); // writeFile's mode applies only to new files
  return { component: out, war, contextPath: `/${warName}` };
}

/** Writes one of WEBAPPS (StaffTracker, RoomService, ZipcodeService) connected to `connection`. */
export function buildWebapp(out, warName, connection, { driverJar } = {}) {
  const app = WEBAPPS[warName];
  if (app === undefined) throw new TypeError(`unknown StaffTracker web application ${JSON.stringify(warName)} (${Object.keys(WEBAPPS).join(', ')})`);
  return buildListWebapp(out, { warName, title: app.title, query: app.query, connection, driverJar });
}

export const buildStaffTracker = (out, connection, options) => buildWebapp(out, 'StaffTracker', connection, options);
export const buildRoomService = (out, connection, options) => buildWebapp(out, 'RoomService', connection, options);
export const buildZipcodeService = (out, connection, options) => buildWebapp(out, 'ZipcodeService', connection, options);

/**
 * The connection a web application gets from an inter-dependency of a pkg
 * function (a mysql-database service): the target's hostname, the container's
 * port and login, the service's name as the database.
 */
export function connectionOf(dependency) {
  const { target } = dependency;
  const container = target.container ?? {};
  for (const key of ['mysqlPort', 'mysqlUsername', 'mysqlPassword']) {
    if (container[key] === undefined) {
      throw new TypeError(
        `container ${target.selectedContainer} on ${target.name} has no ${key}: capture the infrastructure after deploying the containers (dysnomia capture-infra --show-secrets)`,
      );
    }
  }
  return connectionParams({
    host: jdbcHost(String(target.properties?.hostname ?? target.hostname)),
    port: container.mysqlPort,
    database: dependency.name,
    user: String(container.mysqlUsername),
    password: String(container.mysqlPassword),
  });
}
