#!/usr/bin/env node
// Writes a MariaDB server wrapper component: node examples/mariadb-server/build.mjs --out DIR --name NAME [options]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildMariadbServer } from './index.mjs';

const USAGE = `Usage: node examples/mariadb-server/build.mjs --out DIR --name NAME [OPTION]...

Writes a MariaDB server instance as a Dysnomia wrapper component into DIR:
bin/wrapper and etc/dysnomia/containers/NAME (type=mysql-database).

  --out DIR                  Folder to write the component into (required)
  --name NAME                Instance and container name (required)
  --port N                   TCP port (default 3306)
  --socket PATH              Unix socket (default /run/mysqld-NAME/mysqld.sock)
  --data-dir PATH            Data folder (default /var/lib/mysql-NAME)
  --bind-address ADDRESS     Default 127.0.0.1
  --admin-user USER          Default root
  --admin-password-file FILE The admin password (first line); "-" reads standard
                             input. Never pass a password as an argument.
  --server-option OPTION     An extra mariadbd option; repeat for more
  -h, --help                 Show this help
`;

function fail(message) {
  process.stderr.write(`build.mjs: ${message}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      out: { type: 'string' },
      name: { type: 'string' },
      port: { type: 'string' },
      socket: { type: 'string' },
      'data-dir': { type: 'string' },
      'bind-address': { type: 'string' },
      'admin-user': { type: 'string' },
      'admin-password-file': { type: 'string' },
      'server-option': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (error) {
  fail(`${error.message}\n${USAGE}`);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (!values.out) fail('--out DIR is required');
if (!values.name) fail('--name NAME is required');
if (!values['admin-password-file']) fail('--admin-password-file FILE is required ("-" reads standard input)');
if (values.port !== undefined && !/^\d+$/.test(values.port)) fail(`--port ${values.port}: not a port number`);

let password;
try {
  const file = values['admin-password-file'];
  password = readFileSync(file === '-' ? 0 : file, 'utf8').split('\n')[0];
} catch (error) {
  fail(`--admin-password-file: ${error.message}`);
}

const params = {
  name: values.name,
  adminPassword: password,
  ...(values.port !== undefined && { port: Number(values.port) }),
  ...(values.socket !== undefined && { socket: path.resolve(values.socket) }),
  ...(values['data-dir'] !== undefined && { dataDir: path.resolve(values['data-dir']) }),
  ...(values['bind-address'] !== undefined && { bindAddress: values['bind-address'] }),
  ...(values['admin-user'] !== undefined && { adminUser: values['admin-user'] }),
  ...(values['server-option'] !== undefined && { serverOptions: values['server-option'] }),
};

try {
  const built = await buildMariadbServer(path.resolve(values.out), params);
  process.stdout.write(`${built.outDir}\n`);
} catch (error) {
  fail(error.message);
}
