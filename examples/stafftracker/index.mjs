// The StaffTracker example's builders (see README.md): the containers layer
// (MariaDB and Tomcat instances), the databases and the web applications.
export { SQL_DIR, DATABASES, TABLES, databaseSqlFile, buildDatabase } from './databases.mjs';
export {
  WEB_DIR,
  MARIADB_DRIVER_JAR,
  DRIVER_INSTALL_HINT,
  WEBAPPS,
  jdbcHost,
  connectionParams,
  connectionOf,
  webXml,
  readDriver,
  listWar,
  buildListWebapp,
  buildWebapp,
  buildStaffTracker,
  buildRoomService,
  buildZipcodeService,
} from './webapps.mjs';
export {
  CONTAINER_DEFAULTS,
  DEFAULT_STATE_DIR,
  envName,
  instanceDir,
  mysqlLogin,
  mysqlServerParams,
  tomcatServerParams,
  remoteReaderSql,
  buildMysqlContainer,
  buildTomcatContainer,
} from './containers.mjs';
export { SOURCES, sourcesDigest } from './sources.mjs';
