import { randomBytes } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';
import { sshTarget, twoMachines } from './deploy-fixtures.js';
import { requireMariadb } from './mariadb.js';
import { freePorts } from './ports.js';
import { assertTomcatInstalled } from './tomcat.js';

export const STAFFTRACKER_EXAMPLE = path.join(REPO_ROOT, 'examples/stafftracker');

/**
 * The StaffTracker example over two simulated machines (sshd on 127.0.0.1):
 * the servers it needs checked (failing with the setup command), free ports
 * and a fresh password for its MariaDB and Tomcat instances in `env`, the
 * bootstrap infrastructure model, and a client option file for mysql-test.
 */
export async function stafftrackerMachines(t: Parameters<typeof twoMachines>[0], prefix: string) {
  await requireMariadb();
  assertTomcatInstalled();
  await access('/usr/share/java/mariadb-java-client.jar').catch(() => {
    throw new Error('/usr/share/java/mariadb-java-client.jar is missing: apt-get install libmariadb-java');
  });
  const machines = await twoMachines(t, prefix);
  const { dir, env: coordinatorEnv, knownHosts, test1, test2, state1, state2 } = machines;
  const [mysqlProduction, mysqlTest, tomcatProduction, tomcatTest, shutdownProduction, shutdownTest] = (await freePorts(6)) as [number, number, number, number, number, number];
  const password = randomBytes(12).toString('hex');
  const env = {
    ...coordinatorEnv,
    STAFFTRACKER_MYSQL_PRODUCTION_PORT: String(mysqlProduction),
    STAFFTRACKER_MYSQL_TEST_PORT: String(mysqlTest),
    STAFFTRACKER_TOMCAT_PRODUCTION_PORT: String(tomcatProduction),
    STAFFTRACKER_TOMCAT_TEST_PORT: String(tomcatTest),
    STAFFTRACKER_TOMCAT_PRODUCTION_SHUTDOWN_PORT: String(shutdownProduction),
    STAFFTRACKER_TOMCAT_TEST_SHUTDOWN_PORT: String(shutdownTest),
    STAFFTRACKER_MYSQL_PASSWORD: password,
  };
  const bootstrap = path.join(dir, 'infrastructure-bootstrap.json');
  await writeFile(bootstrap, JSON.stringify({ test1: sshTarget(test1, knownHosts, state1), test2: sshTarget(test2, knownHosts, state2) }, null, 2));
  const mysqlTestOptions = path.join(dir, 'mysql-test.cnf');
  await writeFile(mysqlTestOptions, `[client]\nuser=root\npassword=${password}\nsocket=${state1}/stafftracker/mysql-test/mysqld.sock\n`, { mode: 0o600 });
  return { ...machines, coordinatorEnv, env, password, bootstrap, mysqlTestOptions, ports: { mysqlProduction, mysqlTest, tomcatProduction, tomcatTest } };
}
