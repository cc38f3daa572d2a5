/** Parameters of one MariaDB server instance; port, socket and data folder keep instances apart. */
export interface MariadbServerParams {
  /** Instance name: the container's name (etc/dysnomia/containers/<name>). */
  name: string;
  /** TCP port (default 3306). */
  port?: number;
  /** Unix socket (default /run/mysqld-<name>/mysqld.sock). */
  socket?: string;
  /** Data folder, initialised when empty (default /var/lib/mysql-<name>). */
  dataDir?: string;
  /** Default <dataDir>/mariadbd.pid. */
  pidFile?: string;
  /** Default <dataDir>/mariadbd.err. */
  logFile?: string;
  /** The instance's own temporary folder (default <dataDir>.tmp): instances never share /tmp. */
  tmpDir?: string;
  /** Default 127.0.0.1. */
  bindAddress?: string;
  /** The user the container file logs in as (default root). */
  adminUser?: string;
  adminPassword: string;
  /** Extra mariadbd options, also given to mariadb-install-db (e.g. --innodb-buffer-pool-size=16M). */
  serverOptions?: string[];
  mariadbd?: string;
  installDb?: string;
  client?: string;
  admin?: string;
  /** Seconds to wait for the server to answer, and to stop. Default 60. */
  startTimeout?: number;
  stopTimeout?: number;
}

export interface MariadbContainerProperties {
  type: 'mysql-database';
  mysqlUsername: string;
  mysqlPassword: string;
  mysqlSocket: string;
  mysqlPort: string;
}

export interface BuiltMariadbServer {
  outDir: string;
  name: string;
  wrapper: string;
  containerFile: string;
  properties: MariadbContainerProperties;
  socket: string;
  port: number;
  dataDir: string;
  pidFile: string;
  logFile: string;
}

export function buildMariadbServer(outDir: string, params: MariadbServerParams): Promise<BuiltMariadbServer>;
export function componentFiles(params: MariadbServerParams): Array<{ path: string; mode: number; content: string }>;
export function containerProperties(params: MariadbServerParams): MariadbContainerProperties;
export function adminUserSql(user: string, password: string): string;
