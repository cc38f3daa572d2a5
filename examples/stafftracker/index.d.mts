import type { BuiltMariadbServer, MariadbServerParams } from '../mariadb-server/index.mjs';
import type { BuiltTomcatServer, TomcatServerParams } from '../tomcat-server/index.mjs';

// --- databases (mysql-database components) ---

export type DatabaseName = 'rooms' | 'staff' | 'zipcodes';
export const SQL_DIR: string;
export const DATABASES: DatabaseName[];
/** The table each database holds. */
export const TABLES: Record<DatabaseName, string>;
export function databaseSqlFile(name: string): string;
/** Writes mysql-databases/01-<name>.sql into out. */
export function buildDatabase(out: string, name: string): Promise<{ component: string; database: string; sqlFile: string }>;

// --- web applications (tomcat-webapplication components) ---

/** Where a web application's JDBC connection goes; baked into WEB-INF/web.xml. */
export interface Connection {
  host: string;
  /** A number, or a numeric string as container properties hold it. */
  port: number | string;
  database: string;
  user: string;
  password: string;
}

export interface WebappOptions {
  /** MariaDB Connector/J (default MARIADB_DRIVER_JAR). */
  driverJar?: string;
}

export interface BuiltWebapp {
  component: string;
  /** webapps/<Name>.war inside the component (mode 0600: it holds the password). */
  war: string;
  contextPath: string;
}

export type WebappName = 'StaffTracker' | 'RoomService' | 'ZipcodeService';

export const WEB_DIR: string;
export const MARIADB_DRIVER_JAR: string;
export const DRIVER_INSTALL_HINT: string;
export const WEBAPPS: Record<WebappName, { title: string; database: DatabaseName; query: string }>;
/** 127.0.0.1 for localhost-like names, [addr] for IPv6 addresses, else the name. */
export function jdbcHost(hostname: string): string;
export function connectionParams(connection: Connection): Connection & { port: number };
/** The connection from a pkg function's inter-dependency on a mysql-database service. */
export function connectionOf(dependency: {
  name: string;
  target: { name?: string; hostname?: string; selectedContainer?: string; properties?: Record<string, unknown>; container?: Record<string, unknown> };
}): Connection & { port: number };
export function webXml(params: { title: string; query: string; connection: Connection }): string;
export function readDriver(driverJar?: string): Promise<Uint8Array>;
export function listWar(params: { title: string; query: string; connection: Connection; driverJar?: string }): Promise<Uint8Array>;
export function buildListWebapp(out: string, params: { warName: string; title: string; query: string; connection: Connection; driverJar?: string }): Promise<BuiltWebapp>;
export function buildWebapp(out: string, warName: string, connection: Connection, options?: WebappOptions): Promise<BuiltWebapp>;
export function buildStaffTracker(out: string, connection: Connection, options?: WebappOptions): Promise<BuiltWebapp>;
export function buildRoomService(out: string, connection: Connection, options?: WebappOptions): Promise<BuiltWebapp>;
export function buildZipcodeService(out: string, connection: Connection, options?: WebappOptions): Promise<BuiltWebapp>;

// --- containers layer (wrapper components) ---

export type ContainerServiceName = 'mysql-production' | 'mysql-test' | 'tomcat-production' | 'tomcat-test';
/** A target as a services model function sees it (only what the builders read). */
export interface TargetLike {
  name?: string;
  properties?: Record<string, unknown>;
}
export interface MysqlContainerParams {
  server: MariadbServerParams & { port: number; socket: string; dataDir: string; adminUser: string };
  /** A host (or pattern) the web applications connect from, when on another machine. */
  clientHost?: string;
}
export type Env = Record<string, string | undefined>;

export const CONTAINER_DEFAULTS: Record<ContainerServiceName, { kind: 'mysql' | 'tomcat'; port: number; shutdownPort?: number }>;
export const DEFAULT_STATE_DIR: string;
export function envName(service: string, setting: string): string;
export function instanceDir(service: string, target: TargetLike | undefined, env?: Env): string;
export function mysqlLogin(env?: Env): { user: string; password: string };
export function mysqlServerParams(service: string, target: TargetLike | undefined, env?: Env): MysqlContainerParams;
export function tomcatServerParams(service: string, target: TargetLike | undefined, env?: Env): TomcatServerParams & { shutdownPort: number };
export function remoteReaderSql(user: string, password: string, host: string, databases: string[]): string;
export function buildMysqlContainer(out: string, params: MysqlContainerParams, databases?: string[]): Promise<BuiltMariadbServer>;
export function buildTomcatContainer(out: string, params: TomcatServerParams): Promise<BuiltTomcatServer>;

// --- source digests (inputs of the build-function components) ---

export const SOURCES: Record<'mysql' | 'tomcat' | 'database' | 'webapp', string[]>;
export function sourcesDigest(kind: 'mysql' | 'tomcat' | 'database' | 'webapp'): string;
