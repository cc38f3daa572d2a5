import { access, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { unzipSync } from 'fflate';
import { isBuildFunctionComponent, loadDistribution, loadServices, parseInfrastructure, resolvePkg } from '@dysnomia/engine/deployment';
import type { BuildFunctionComponent, Infrastructure } from '@dysnomia/engine/deployment';
import {
  CONTAINER_DEFAULTS,
  DATABASES,
  MARIADB_DRIVER_JAR,
  buildDatabase,
  buildMysqlContainer,
  buildStaffTracker,
  buildTomcatContainer,
  jdbcHost,
} from '../examples/stafftracker/index.mjs';
import type { MysqlContainerParams } from '../examples/stafftracker/index.mjs';
import type { TomcatServerParams } from '../examples/tomcat-server/index.mjs';
import { REPO_ROOT, dysnomia, tempDir } from './helpers/cli.js';
import { startMariadb } from './helpers/mariadb.js';
import { httpGet, startTomcat, waitForHttp } from './helpers/tomcat.js';

/*
 * examples/stafftracker at component level: its databases and web
 * applications activated with the CLI into a private MariaDB and a private
 * Tomcat, the page answering from the database; and its two layers' models
 * evaluated as the orchestrator evaluates them.
 */

const EXAMPLE = path.join(REPO_ROOT, 'examples/stafftracker');

try {
  await access(MARIADB_DRIVER_JAR);
} catch {
  throw new Error(`${MARIADB_DRIVER_JAR} is missing: install it: apt-get install libmariadb-java`);
}

/** The text of each <li> of a page, HTML entities decoded. */
function listItems(html: string): string[] {
  const decode = (text: string) =>
    text.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[entity]!);
  return [...html.matchAll(/<li>(.*?)<\/li>/g)].map((match) => decode(match[1]!));
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '');
const modeOf = async (file: string) => (await stat(file)).mode & 0o777;

/** A two-target infrastructure as the orchestrator parses it, from a plain object. */
function infrastructure(value: Record<string, unknown>): Infrastructure {
  return parseInfrastructure({ file: path.join(EXAMPLE, 'infrastructure-test.json'), value, lineOf: () => undefined });
}

async function servicesModel(servicesFile: string, distributionFile: string, infra: Infrastructure) {
  const distribution = await loadDistribution(path.join(EXAMPLE, distributionFile), infra);
  return loadServices(path.join(EXAMPLE, servicesFile), infra, distribution);
}

function asComponent(value: unknown): BuildFunctionComponent {
  if (!isBuildFunctionComponent(value)) throw new Error(`expected a component(...), got ${JSON.stringify(value)}`);
  return value;
}

t.test('the StaffTracker page lists the staff table, live, from a MariaDB the databases were activated in', async (t) => {
  const [db, tomcat] = await Promise.all([startMariadb(t, { name: 'mysql-test' }), startTomcat(t, { name: 'tomcat-production' })]);
  const dir = await tempDir(t, 'dysnomia-stafftracker-');
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'state') };
  const activate = (type: string, component: string, container: string) =>
    dysnomia(['--operation', 'activate', '--type', type, '--component', component, '--container', container], { env });

  for (const name of DATABASES) {
    const { component } = await buildDatabase(path.join(dir, 'components', name), name);
    const result = await activate('mysql-database', component, db.containerFile);
    t.equal(result.code, 0, `activate database ${name}: ${result.stderr}`);
  }
  t.same(lines(await db.sql("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('rooms', 'staff', 'zipcodes') ORDER BY 1;")), [
    'rooms\troom',
    'staff\tstaff',
    'zipcodes\tzipcode',
  ]);
  const names = lines(await db.sql('SELECT name FROM staff ORDER BY id;', 'staff'));
  t.equal(names.length, 5, 'five people in the staff table');

  const staffTracker = await buildStaffTracker(path.join(dir, 'components', 'StaffTracker'), {
    host: jdbcHost('localhost'),
    port: db.port,
    database: 'staff',
    user: db.adminUser,
    password: db.adminPassword,
  });
  t.equal(await modeOf(staffTracker.war), 0o600, 'the WAR holds the password: mode 0600');
  const webXml = new TextDecoder().decode(unzipSync(new Uint8Array(await readFile(staffTracker.war)))['WEB-INF/web.xml']);
  t.match(webXml, `<param-value>${db.port}</param-value>`, 'the port is baked into web.xml');

  const deployed = await activate('tomcat-webapplication', staffTracker.component, tomcat.containerFile);
  t.equal(deployed.code, 0, deployed.stderr);
  t.equal(await modeOf(path.join(tomcat.catalinaBase, 'webapps/StaffTracker.war')), 0o600, 'deployed 0600 too');

  const url = tomcat.url('/StaffTracker/');
  const page = await waitForHttp(url, (answer) => answer.status === 200 && answer.body.includes('<li>'), { timeoutMs: 60_000, what: 'the staff list' });
  t.same(listItems(page.body), names, 'one <li> per row of the staff table, in order');
  t.match(page.body, `5 rows from 127.0.0.1:${db.port}/staff`);
  t.notMatch(page.body, db.adminPassword, 'the password is not on the page');

  // The JSP queries on every request: a changed row shows at once (and is escaped).
  await db.sql("UPDATE staff SET name = 'Margaret Hamilton & <Co>' WHERE id = 2;", 'staff');
  const changedNames = lines(await db.sql('SELECT name FROM staff ORDER BY id;', 'staff'));
  t.notSame(changedNames, names, 'the row changed');
  const changed = await httpGet(url);
  t.equal(changed.status, 200);
  t.same(listItems(changed.body), changedNames, 'the page shows the changed row');
  t.match(changed.body, '<li>Margaret Hamilton &amp; &lt;Co&gt;</li>', 'names are HTML-escaped');
  t.notMatch(changed.body, 'Grace Hopper');

  // A database the page cannot read is an error page (500), not an empty list.
  await db.sql('RENAME TABLE staff TO staff_moved;', 'staff');
  const broken = await httpGet(url);
  t.equal(broken.status, 500);
  t.match(broken.body, /class="error">Cannot read 127\.0\.0\.1:\d+\/staff: .*staff/);
  t.notMatch(broken.body, '<li>');
  await db.sql('RENAME TABLE staff_moved TO staff;', 'staff');

  // The services model's own pkg function, given this MariaDB as test1's container: ZipcodeService reads zipcodes.
  const infra = infrastructure({
    test1: { properties: { hostname: 'localhost' }, containers: { 'mysql-production': db.properties, 'mysql-test': db.properties } },
    test2: { properties: { hostname: 'localhost' }, containers: {} },
  });
  const model = await servicesModel('services.mjs', 'distribution.mjs', infra);
  const zipcodeService = asComponent(await resolvePkg(model, 'ZipcodeService', infra));
  const zipcodeDir = path.join(dir, 'components', 'ZipcodeService');
  await mkdir(zipcodeDir);
  await zipcodeService.build(zipcodeDir, zipcodeService.inputs);
  const zipDeployed = await activate('tomcat-webapplication', zipcodeDir, tomcat.containerFile);
  t.equal(zipDeployed.code, 0, zipDeployed.stderr);
  const zipcodes = await waitForHttp(tomcat.url('/ZipcodeService/'), (answer) => answer.status === 200 && answer.body.includes('<li>'), {
    timeoutMs: 60_000,
    what: 'the zipcode list',
  });
  t.same(listItems(zipcodes.body), lines(await db.sql("SELECT CONCAT(zipcode, ' ', street, ', ', city) FROM zipcode ORDER BY zipcode;", 'zipcodes')));
  t.equal(listItems(zipcodes.body).length, 3);
});

t.test('the services layer: verbose distribution into named containers, web applications built from their database', async (t) => {
  const login = { mysqlUsername: 'root', mysqlPassword: 's3cret', type: 'mysql-database' };
  const infra = infrastructure({
    test1: {
      properties: { hostname: 'db.example.org' },
      containers: { 'mysql-production': { ...login, mysqlPort: '3306' }, 'mysql-test': { ...login, mysqlPort: '3307' } },
    },
    test2: { properties: { hostname: 'web.example.org' }, containers: { 'tomcat-production': { tomcatPort: '8080' }, 'tomcat-test': { tomcatPort: '8081' } } },
  });
  const model = await servicesModel('services.mjs', 'distribution.mjs', infra);
  const mappings = Object.fromEntries(Object.entries(model.services).map(([key, service]) => [key, [service.type, service.targets]]));
  t.same(mappings, {
    rooms: ['mysql-database', [{ target: 'test1', container: 'mysql-production' }]],
    zipcodes: ['mysql-database', [{ target: 'test1', container: 'mysql-production' }]],
    staff: ['mysql-database', [{ target: 'test1', container: 'mysql-test' }]],
    RoomService: ['tomcat-webapplication', [{ target: 'test2', container: 'tomcat-production' }]],
    StaffTracker: ['tomcat-webapplication', [{ target: 'test2', container: 'tomcat-production' }]],
    ZipcodeService: ['tomcat-webapplication', [{ target: 'test2', container: 'tomcat-test' }]],
  });
  t.same(Object.keys(model.services.StaffTracker!.dependsOn), ['staff']);
  t.ok(model.activationOrder.indexOf('staff') < model.activationOrder.indexOf('StaffTracker'), 'staff before StaffTracker');

  const staffTracker = asComponent(await resolvePkg(model, 'StaffTracker', infra));
  t.same((staffTracker.inputs as { connection: unknown }).connection, { host: 'db.example.org', port: 3307, database: 'staff', user: 'root', password: 's3cret' });
  const rooms = asComponent(await resolvePkg(model, 'RoomService', infra));
  t.same((rooms.inputs as { connection: { port: number; database: string } }).connection.port, 3306, 'RoomService reads mysql-production');

  // Built twice from the model: the same bytes; web.xml carries the settings; the WAR is private.
  const dir = await tempDir(t);
  for (const copy of ['one', 'two']) {
    await mkdir(path.join(dir, copy));
    await staffTracker.build(path.join(dir, copy), staffTracker.inputs);
  }
  const war = path.join(dir, 'one/webapps/StaffTracker.war');
  t.same(await readFile(war), await readFile(path.join(dir, 'two/webapps/StaffTracker.war')), 'deterministic WAR');
  t.equal(await modeOf(war), 0o600);
  const entries = unzipSync(new Uint8Array(await readFile(war)));
  t.same(Object.keys(entries).sort(), ['WEB-INF/lib/mariadb-java-client.jar', 'WEB-INF/web.xml', 'index.jsp']);
  t.same(entries['WEB-INF/lib/mariadb-java-client.jar'], new Uint8Array(await readFile(MARIADB_DRIVER_JAR)), 'the driver, as Debian ships it');
  const webXml = new TextDecoder().decode(entries['WEB-INF/web.xml']);
  const settings = { 'jdbc.host': 'db.example.org', 'jdbc.port': '3307', 'jdbc.database': 'staff', 'jdbc.user': 'root', 'jdbc.password': 's3cret' };
  for (const [name, value] of Object.entries(settings)) {
    t.match(webXml, `<param-name>${name}</param-name>\n    <param-value>${value}</param-value>`, name);
  }

  // Without the captured container properties, the pkg function says what to do.
  const bare = infrastructure({ test1: { properties: { hostname: 'db.example.org' } }, test2: { properties: { hostname: 'web.example.org' } } });
  const bareModel = await servicesModel('services.mjs', 'distribution.mjs', bare);
  await t.rejects(resolvePkg(bareModel, 'StaffTracker', bare), /container mysql-test on test1 has no mysqlPort: capture the infrastructure .*capture-infra --show-secrets/);

  // The driver missing: the build names the package to install.
  await t.rejects(
    buildStaffTracker(path.join(dir, 'no-driver'), { host: '127.0.0.1', port: 3306, database: 'staff', user: 'root', password: 'x' }, { driverJar: path.join(dir, 'none.jar') }),
    /mariadb JDBC driver .*none\.jar is missing: install it: apt-get install libmariadb-java/i,
  );
  t.equal(jdbcHost('::1'), '127.0.0.1');
  t.equal(jdbcHost('fd00::5'), '[fd00::5]');
});

t.test('the containers layer: four wrapper services, two of each kind per machine, on distinct ports and folders', async (t) => {
  const infra = infrastructure({
    test1: { properties: { hostname: 'localhost', stateDir: '/srv/one' } },
    test2: { properties: { hostname: 'localhost', stateDir: '/srv/two' } },
  });
  const saved = Object.entries(process.env).filter(([key]) => key.startsWith('STAFFTRACKER_'));
  t.teardown(() => {
    for (const key of Object.keys(process.env)) if (key.startsWith('STAFFTRACKER_')) delete process.env[key];
    Object.assign(process.env, Object.fromEntries(saved));
  });
  for (const key of Object.keys(process.env)) if (key.startsWith('STAFFTRACKER_')) delete process.env[key];

  const model = await servicesModel('services-containers.mjs', 'distribution-containers.mjs', infra);
  t.same(Object.keys(model.services).sort(), ['mysql-production', 'mysql-test', 'tomcat-production', 'tomcat-test']);
  const inputs = (key: string) => asComponent(model.services[key]!.pkg).inputs as { params: unknown };
  const mysql = (key: string) => inputs(key).params as MysqlContainerParams;
  const tomcat = (key: string) => inputs(key).params as TomcatServerParams & { shutdownPort: number };
  for (const [key, service] of Object.entries(model.services)) {
    t.equal(service.type, 'wrapper', `${key} is a wrapper`);
    t.same(service.targets, [{ target: key.startsWith('mysql') ? 'test1' : 'test2', container: 'wrapper' }]);
  }
  t.same(
    [mysql('mysql-production').server.port, mysql('mysql-test').server.port, tomcat('tomcat-production').httpPort, tomcat('tomcat-test').httpPort],
    [3306, 3307, 8080, 8081],
    "the article's ports by default",
  );
  t.same([tomcat('tomcat-production').shutdownPort, tomcat('tomcat-test').shutdownPort], [CONTAINER_DEFAULTS['tomcat-production'].shutdownPort, 8006]);
  t.equal(mysql('mysql-test').server.dataDir, '/srv/one/stafftracker/mysql-test/data', "under the target's stateDir");
  t.equal(mysql('mysql-test').server.socket, '/srv/one/stafftracker/mysql-test/mysqld.sock');
  t.not(mysql('mysql-production').server.socket, mysql('mysql-test').server.socket);
  t.equal(tomcat('tomcat-test').catalinaBase, '/srv/two/stafftracker/tomcat-test');
  t.equal(mysql('mysql-production').server.adminPassword, 'secret', 'default password');

  Object.assign(process.env, {
    STAFFTRACKER_MYSQL_TEST_PORT: '13307',
    STAFFTRACKER_TOMCAT_PRODUCTION_PORT: '18080',
    STAFFTRACKER_DATA_DIR: '/data/st',
    STAFFTRACKER_MYSQL_PASSWORD: "pa'ss",
    STAFFTRACKER_MYSQL_CLIENT_HOST: '10.0.0.%',
  });
  const changed = await servicesModel('services-containers.mjs', 'distribution-containers.mjs', infra);
  const changedParams = (key: string) => (asComponent(changed.services[key]!.pkg).inputs as { params: MysqlContainerParams & TomcatServerParams }).params;
  t.equal(changedParams('mysql-test').server.port, 13307);
  t.equal(changedParams('tomcat-production').httpPort, 18080);
  t.equal(changedParams('mysql-production').server.dataDir, '/data/st/mysql-production/data', 'STAFFTRACKER_DATA_DIR');
  t.notSame(asComponent(changed.services['mysql-test']!.pkg).inputs, inputs('mysql-test'), 'other settings, other inputs (another component)');

  // What the components hold: the wrapper and the container file of their own name, secrets private.
  const dir = await tempDir(t);
  for (const [key, service] of Object.entries(changed.services)) {
    const pkg = asComponent(service.pkg);
    const out = path.join(dir, key);
    await mkdir(out);
    await pkg.build(out, pkg.inputs);
    t.equal(await modeOf(path.join(out, 'bin/wrapper')), 0o755, `${key}: bin/wrapper`);
    const container = await readFile(path.join(out, 'etc/dysnomia/containers', key), 'utf8');
    t.match(container, key.startsWith('mysql') ? /type='?mysql-database/ : /type=tomcat-webapplication/, `${key}: its container file`);
  }
  t.match(await readFile(path.join(dir, 'mysql-test/etc/dysnomia/containers/mysql-test'), 'utf8'), /mysqlPort='?13307/);
  t.equal(await modeOf(path.join(dir, 'mysql-test/etc/dysnomia/containers/mysql-test')), 0o600);
  const initSql = path.join(dir, 'mysql-test/share/mariadb-server/init.sql');
  t.equal(await modeOf(initSql), 0o600);
  t.match(await readFile(initSql, 'utf8'), "CREATE USER IF NOT EXISTS 'root'@'10.0.0.%';\nALTER USER 'root'@'10.0.0.%' IDENTIFIED BY 'pa\\'ss';\nGRANT SELECT ON `rooms`.*");
  t.match(await readFile(path.join(dir, 'tomcat-production/conf/server.xml'), 'utf8'), 'port="18080"');

  process.env.STAFFTRACKER_MYSQL_TEST_PORT = 'eighty';
  await t.rejects(servicesModel('services-containers.mjs', 'distribution-containers.mjs', infra), /STAFFTRACKER_MYSQL_TEST_PORT=eighty: not a TCP port number/);
});

t.test('the builders write what the real servers need, deterministically', async (t) => {
  const dir = await tempDir(t);
  const { sqlFile } = await buildDatabase(path.join(dir, 'staff'), 'staff');
  t.equal(path.relative(dir, sqlFile), 'staff/mysql-databases/01-staff.sql');
  t.match(await readFile(sqlFile, 'utf8'), /CREATE TABLE staff/);
  await t.rejects(buildDatabase(path.join(dir, 'x'), '../etc'), /unknown StaffTracker database "\.\.\/etc"/);
  const params: MysqlContainerParams = { server: { name: 'mysql-test', port: 3307, socket: '/s/mysqld.sock', dataDir: '/s/data', adminUser: 'root', adminPassword: 'pw' } };
  await buildMysqlContainer(path.join(dir, 'm1'), params);
  await buildMysqlContainer(path.join(dir, 'm2'), params);
  t.same(await readFile(path.join(dir, 'm1/bin/wrapper')), await readFile(path.join(dir, 'm2/bin/wrapper')));
  t.notMatch(await readFile(path.join(dir, 'm1/share/mariadb-server/init.sql'), 'utf8'), /'root'@'%'|GRANT SELECT/, 'no remote login unless asked for');
  const built = await buildTomcatContainer(path.join(dir, 't1'), { name: 'tomcat-test', httpPort: 8081, catalinaBase: '/s/tomcat-test' });
  t.equal(built.containerName, 'tomcat-test');
});

t.test('dysnomia deploy --dry-run takes both layers: what would be activated where', async (t) => {
  const dir = await tempDir(t);
  const target = (name: string, containers: Record<string, unknown>) => ({ properties: { hostname: 'localhost', stateDir: path.join(dir, name) }, containers });
  const login = { mysqlUsername: 'root', mysqlPassword: 'secret' };
  const captured = {
    test1: target('test1', { 'mysql-production': { ...login, mysqlPort: '3306' }, 'mysql-test': { ...login, mysqlPort: '3307' } }),
    test2: target('test2', { 'tomcat-production': { catalinaBaseDir: path.join(dir, 'tp') }, 'tomcat-test': { catalinaBaseDir: path.join(dir, 'tt') } }),
  };
  const infra = path.join(dir, 'infrastructure.json');
  await writeFile(infra, JSON.stringify(captured));
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'coordinator') };
  const deploy = (layer: string, profile: string) =>
    dysnomia(['deploy', '-s', path.join(EXAMPLE, `services${layer}.mjs`), '-i', infra, '-d', path.join(EXAMPLE, `distribution${layer}.mjs`), '--profile', profile, '--dry-run'], { env });

  const containers = await deploy('-containers', 'containers');
  t.equal(containers.code, 0, containers.stderr);
  const activations = (output: string) => lines(output).filter((line) => line.includes('would activate')).sort();
  t.same(activations(containers.stdout), [
    'test1: would activate mysql-production in wrapper',
    'test1: would activate mysql-test in wrapper',
    'test2: would activate tomcat-production in wrapper',
    'test2: would activate tomcat-test in wrapper',
  ]);
  const services = await deploy('', 'services');
  t.equal(services.code, 0, services.stderr);
  t.same(activations(services.stdout), [
    'test1: would activate rooms in mysql-production',
    'test1: would activate staff in mysql-test',
    'test1: would activate zipcodes in mysql-production',
    'test2: would activate RoomService in tomcat-production',
    'test2: would activate StaffTracker in tomcat-production',
    'test2: would activate ZipcodeService in tomcat-test',
  ]);
  t.notOk(await access(path.join(dir, 'test1')).then(() => true, () => false), 'a dry run leaves the targets alone');
});
