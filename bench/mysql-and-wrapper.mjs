// Issue 3 benchmark (not a test): activate and deactivate N mysql-database
// components and N wrapper components through the CLI, against the classic
// ways of doing the same work, in the same run:
//   mysql-database plugin (dysnomia CLI)  vs  a Dysnomia-style shell module run by the
//   same CLI  vs  a plain bash loop calling the mariadb client;
//   wrapper plugin (dysnomia CLI)  vs  a bash loop calling each bin/wrapper directly.
// It builds what it needs, starts its own MariaDB with examples/mariadb-server,
// and removes everything afterwards.
// Run: node bench/mysql-and-wrapper.mjs [--count N]     (default 200)
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildMariadbServer } from '../examples/mariadb-server/index.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { count: { type: 'string', default: '200' } } });
const COUNT = Number(values.count);
if (!Number.isInteger(COUNT) || COUNT < 1) {
  console.error(`mysql-and-wrapper.mjs: --count must be a positive integer, got ${values.count}`);
  process.exit(2);
}

console.error('building engine, wrapper and mysql-database plugins (tsc -b)…');
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', 'packages/engine', 'packages/plugin-wrapper', 'packages/plugin-mysql-database'], {
  cwd: root,
  stdio: 'inherit',
});

const cli = path.join(root, 'packages/engine/bin/dysnomia.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'dysnomia-bench-mysql-'));
const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };

function dysnomia(args, env) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: work, env: { ...baseEnv, ...env }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`dysnomia ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
}
function bash(script, env = {}) {
  const result = spawnSync('bash', ['-c', script], { cwd: work, env: { ...baseEnv, ...env }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bash failed (${result.status}):\n${result.stderr}`);
}
function write(file, text, mode = 0o644) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
  return file;
}
const freePort = () =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
function time(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const rows = [];
function record(scenario, phase, totalMs) {
  rows.push({ scenario, phase, totalMs });
  console.error(`  ${scenario} ${phase}: ${(totalMs / 1000).toFixed(2)} s`);
}

// A Dysnomia-style executable module, written the way Dysnomia's own mysql-database
// module works (it passes --password on the command line; this one uses a private
// option file, as the plugin does, so both pay for the same precaution).
const CLASSIC_MODULE = `#!/bin/bash
set -e
component=$(basename "$2")
marks="$DYSNOMIA_STATEDIR/classic-garbage/$3"
umask 077
cnf=$(mktemp)
trap 'rm -f "$cnf"' EXIT
printf '[client]\\nuser=%s\\npassword="%s"\\nsocket=%s\\n' "$mysqlUsername" "$mysqlPassword" "$mysqlSocket" > "$cnf"
sql() { mariadb --defaults-file="$cnf" --batch --skip-column-names "$@"; }
case "$1" in
  activate)
    if [ -z "$(sql -e "SHOW DATABASES LIKE '$component'")" ]; then
      ( echo "CREATE DATABASE \\\`$component\\\`; USE \\\`$component\\\`;"; cat "$2"/mysql-databases/*.sql ) | sql
    fi
    rm -f "$marks/$component"
    ;;
  deactivate) mkdir -p "$marks"; touch "$marks/$component" ;;
  collect-garbage)
    if [ -e "$marks/$component" ]; then sql -e "DROP DATABASE IF EXISTS \\\`$component\\\`"; rm -f "$marks/$component"; fi
    ;;
esac
`;

let serverComponent;
let wrapperContainer;
let wrapperState;
try {
  // --- a private MariaDB, through the example, as the tests start it
  const port = await freePort();
  serverComponent = path.join(work, 'mariadb-server');
  const server = await buildMariadbServer(serverComponent, {
    name: 'mysql-bench',
    port,
    socket: path.join(work, 'run/mysqld.sock'),
    dataDir: path.join(work, 'data'),
    adminUser: 'bench',
    adminPassword: 'bench-secret',
    serverOptions: ['--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M', '--skip-name-resolve'],
  });
  wrapperContainer = write(path.join(work, 'containers/wrapper'), 'type=wrapper\n');
  wrapperState = path.join(work, 'server-state');
  console.error(`starting MariaDB on ${server.socket} (port ${port})…`);
  dysnomia(['--operation', 'activate', '--type', 'wrapper', '--component', serverComponent, '--container', wrapperContainer], { DYSNOMIA_STATEDIR: wrapperState });

  // --- N mysql-database components: a table and a few rows each
  const components = [];
  for (let i = 0; i < COUNT; i++) {
    const name = `bench_db_${String(i).padStart(3, '0')}`;
    const dir = path.join(work, 'components', name);
    write(path.join(dir, 'mysql-databases/01-schema.sql'), 'CREATE TABLE item (id INT PRIMARY KEY, name VARCHAR(40));\n');
    write(path.join(dir, 'mysql-databases/02-data.sql'), "INSERT INTO item VALUES (1, 'one'), (2, 'two'), (3, 'three');\n");
    components.push(dir);
  }
  const classicModule = write(path.join(work, 'modules/classic-mysql-database'), CLASSIC_MODULE, 0o755);

  console.error(`mysql-database, ${COUNT} components:`);
  const pluginEnv = { DYSNOMIA_STATEDIR: path.join(work, 'state-plugin') };
  for (const operation of ['activate', 'deactivate', 'collect-garbage']) {
    record('mysql-database plugin (dysnomia CLI)', operation, time(() => {
      for (const c of components) dysnomia(['--operation', operation, '--component', c, '--container', server.containerFile], pluginEnv);
    }));
  }
  const classicEnv = { DYSNOMIA_STATEDIR: path.join(work, 'state-classic') };
  for (const operation of ['activate', 'deactivate', 'collect-garbage']) {
    record('classic shell module (dysnomia CLI)', operation, time(() => {
      for (const c of components) dysnomia(['--operation', operation, '--type', classicModule, '--component', c, '--container', server.containerFile], classicEnv);
    }));
  }
  // The lower bound: the same SQL from one bash loop, no engine, one option file for all.
  const cnf = write(path.join(work, 'loop.cnf'), `[client]\nuser=bench\npassword="bench-secret"\nsocket=${server.socket}\n`, 0o600);
  const loopEnv = { CNF: cnf, COMPONENTS: path.join(work, 'components') };
  record('plain bash loop (mariadb client)', 'activate', time(() =>
    bash(`for d in "$COMPONENTS"/*; do c=$(basename "$d"); ( echo "CREATE DATABASE IF NOT EXISTS \\\`$c\\\`; USE \\\`$c\\\`;"; cat "$d"/mysql-databases/*.sql ) | mariadb --defaults-file="$CNF"; done`, loopEnv)));
  record('plain bash loop (mariadb client)', 'collect-garbage', time(() =>
    bash(`for d in "$COMPONENTS"/*; do mariadb --defaults-file="$CNF" -e "DROP DATABASE \\\`$(basename "$d")\\\`"; done`, loopEnv)));

  // --- N wrapper components with a trivial bin/wrapper
  const wrappers = [];
  const out = path.join(work, 'wrapper-out');
  mkdirSync(out);
  for (let i = 0; i < COUNT; i++) {
    const dir = path.join(work, 'wrappers', `app${String(i).padStart(3, '0')}`);
    write(path.join(dir, 'bin/wrapper'), `#!/bin/sh\ncase "$1" in\n  activate) touch ${JSON.stringify(path.join(out, `app${i}`))} ;;\n  deactivate) rm -f ${JSON.stringify(path.join(out, `app${i}`))} ;;\nesac\n`, 0o755);
    wrappers.push(dir);
  }
  console.error(`wrapper, ${COUNT} components:`);
  const wrapperEnv = { DYSNOMIA_STATEDIR: path.join(work, 'state-wrapper') };
  for (const operation of ['activate', 'deactivate']) {
    record('wrapper plugin (dysnomia CLI)', operation, time(() => {
      for (const c of wrappers) dysnomia(['--operation', operation, '--type', 'wrapper', '--component', c, '--container', wrapperContainer], wrapperEnv);
    }));
  }
  for (const operation of ['activate', 'deactivate']) {
    record('plain bash loop (bin/wrapper)', operation, time(() => bash(`for d in "$WRAPPERS"/*; do "$d/bin/wrapper" ${operation} wrapper; done`, { WRAPPERS: path.join(work, 'wrappers') })));
  }

  console.log(`\n# ${COUNT} components per scenario, one after another (${os.cpus().length} CPUs, Node ${process.versions.node})`);
  console.log(`| scenario | operation | total | per component |`);
  console.log(`|---|---|---:|---:|`);
  for (const row of rows) console.log(`| ${row.scenario} | ${row.phase} | ${(row.totalMs / 1000).toFixed(2)} s | ${(row.totalMs / COUNT).toFixed(1)} ms |`);
} finally {
  if (serverComponent) {
    try {
      dysnomia(['--operation', 'deactivate', '--type', 'wrapper', '--component', serverComponent, '--container', wrapperContainer], { DYSNOMIA_STATEDIR: wrapperState });
    } catch (error) {
      console.error(`could not stop the benchmark's MariaDB: ${error.message}`);
    }
  }
  rmSync(work, { recursive: true, force: true });
}
