#!/usr/bin/env node
// State migration (deployState): a ~200 MB MariaDB database moving between
// two MariaDB containers, through `dysnomia deploy` (the service's mapping
// moves from test1:mysql-a to test2:mysql-b, two loopback sshd machines: the
// plugin's snapshot there, retrieved here, sent to test2, restored), side by
// side with the same copy by hand (`mariadb-dump | mariadb` from one server
// into the other, the plugin's dump options), in one run. Both copies are
// checked: same row count and CHECKSUM TABLE as the source.
// Needs the built engine and plugins (npm run build), /usr/sbin/sshd and
// Debian's mariadb-server.
// Each run moves the database to the other container (test1 -> test2, then
// back, …), by hand first, then through deploy; medians of --repeats runs.
// Usage: node bench/migration.mjs [--mb N] [--repeats N] [--keep]
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { client, startMariadb } from './lib/mariadb.mjs';
import { have, makeClientKey, SSHD, startSshd, stopDaemons } from './lib/sshd.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DYSNOMIA = path.join(ROOT, 'packages/engine/bin/dysnomia.js');
const argv = process.argv.slice(2);
const MB = argv.includes('--mb') ? Number(argv[argv.indexOf('--mb') + 1]) : 200;
const REPEATS = argv.includes('--repeats') ? Number(argv[argv.indexOf('--repeats') + 1]) : 3;
/** Rows of ~1 KiB of random text. */
const ROWS = MB * 1024;

for (const [file, setup] of [
  [path.join(ROOT, 'packages/engine/dist/bundle.cjs'), 'npm run build'],
  [path.join(ROOT, 'packages/plugin-mysql-database/dist/index.js'), 'npm run build'],
  [SSHD, 'apt-get install openssh-server'],
  ['/usr/sbin/mariadbd', 'apt-get install mariadb-server mariadb-client'],
]) {
  if (!(await have(file))) {
    console.error(`missing ${file}: run \`${setup}\``);
    process.exit(2);
  }
}

const work = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-bench-migration-'));
const daemons = [];
const servers = [];
const cleanup = async () => {
  stopDaemons(daemons);
  for (const server of servers) await server.stop();
  if (argv.includes('--keep')) console.log(`work folder kept: ${work}`);
  else await rm(work, { recursive: true, force: true });
};
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));

/** `dysnomia ARGS --json` with the coordinator's state folder; resolves with its events and seconds. */
function dysnomia(args) {
  const started = Date.now();
  const child = spawn(process.execPath, [DYSNOMIA, ...args, '--json'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DYSNOMIA_STATEDIR: path.join(work, 'coordinator') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events = [];
  let pending = '';
  let stderr = '';
  // Each event stamped as it arrives: the phases of a migration are timed from them.
  child.stdout.on('data', (chunk) => {
    pending += chunk;
    for (let newline; (newline = pending.indexOf('\n')) >= 0; pending = pending.slice(newline + 1)) {
      events.push({ at: (Date.now() - started) / 1000, ...JSON.parse(pending.slice(0, newline)) });
    }
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      if (code === 0) resolve({ events, seconds: (Date.now() - started) / 1000 });
      else reject(new Error(`dysnomia ${args[0]} exited with status ${code}:\n${stderr}`));
    }),
  );
}

/** Runs `mariadb-dump … | mariadb …` as a shell pipeline would, both ends' failures reported. */
function dumpInto(fromOptions, database, toOptions, intoDatabase) {
  const dump = spawn('mariadb-dump', [`--defaults-file=${fromOptions}`, '--single-transaction', '--quick', '--skip-dump-date', '--routines', '--triggers', '--hex-blob', '--default-character-set=utf8mb4', '--', database], { stdio: ['ignore', 'pipe', 'pipe'] });
  const load = spawn('mariadb', [`--defaults-file=${toOptions}`, `--database=${intoDatabase}`], { stdio: ['pipe', 'ignore', 'pipe'] });
  dump.stdout.pipe(load.stdin);
  const ended = (child, name) => new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${name} failed: ${stderr}`))));
  });
  return Promise.all([ended(dump, 'mariadb-dump'), ended(load, 'mariadb')]);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const check = (label, copy, source) => {
  if (copy.rows !== source.rows || copy.checksum !== source.checksum) throw new Error(`${label}: the copy differs from the source (${JSON.stringify(copy)} vs ${JSON.stringify(source)})`);
};

const summary = async (optionFile, database) => {
  const [rows, checksum] = (await client(optionFile, 'SELECT COUNT(*) FROM payload; CHECKSUM TABLE payload;', database)).trim().split('\n');
  return { rows: Number(rows), checksum: checksum.split('\t')[1] };
};

try {
  console.log(`work folder: ${work}; load average at the start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const { key, publicKey } = await makeClientKey(work);
  const knownHosts = path.join(work, 'known_hosts');
  const hosts = [];
  for (const index of [1, 2]) hosts.push(await startSshd({ work, index, publicKey, knownHosts, daemons }));
  const serverOptions = ['--innodb-buffer-pool-size=256M', '--innodb-log-file-size=256M', '--max-allowed-packet=64M'];
  const mysqlA = await startMariadb({ dir: path.join(work, 'mysql-a'), name: 'mysql-a', dysnomia: DYSNOMIA, serverOptions });
  servers.push(mysqlA);
  const mysqlB = await startMariadb({ dir: path.join(work, 'mysql-b'), name: 'mysql-b', dysnomia: DYSNOMIA, serverOptions });
  servers.push(mysqlB);

  const target = (host, name, container, server) => ({
    properties: { hostname: '127.0.0.1', sshPort: host.port, sshKey: key, sshKnownHosts: knownHosts, stateDir: path.join(work, 'machines', name), nodePath: process.execPath },
    containers: { [container]: server.properties },
  });
  const infrastructure = path.join(work, 'infrastructure.json');
  await writeFile(infrastructure, JSON.stringify({ test1: target(hosts[0], 'test1', 'mysql-a', mysqlA), test2: target(hosts[1], 'test2', 'mysql-b', mysqlB) }));
  await mkdir(path.join(work, 'project/bigdb/mysql-databases'), { recursive: true });
  await writeFile(path.join(work, 'project/bigdb/mysql-databases/schema.sql'), 'CREATE TABLE payload (id INT PRIMARY KEY, body TEXT NOT NULL);\n');
  const services = path.join(work, 'project/services.json');
  await writeFile(services, JSON.stringify({ bigdb: { pkg: './bigdb', type: 'mysql-database', deployState: true } }));
  const distribution = path.join(work, 'project/distribution.json');
  const placeAt = (t, container) => writeFile(distribution, JSON.stringify({ bigdb: { targets: [{ target: t, container }] } }));
  const deploy = () => dysnomia(['deploy', '-s', services, '-i', infrastructure, '-d', distribution]);

  await placeAt('test1', 'mysql-a');
  const first = await deploy();
  console.log(`first deployment (runtime to both targets, bigdb in mysql-a): ${first.seconds.toFixed(1)} s`);
  const filling = Date.now();
  // ~1 KiB of random hex per row, in batches the server takes in one statement.
  for (let from = 1; from <= ROWS; from += 20_000) {
    const to = Math.min(from + 19_999, ROWS);
    await client(mysqlA.optionFile, `INSERT INTO payload SELECT seq, CONCAT(${Array.from({ length: 32 }, () => 'MD5(RAND())').join(', ')}) FROM seq_${from}_to_${to};`, 'bigdb');
  }
  const size = Number((await client(mysqlA.optionFile, 'SELECT SUM(LENGTH(body)) FROM payload;', 'bigdb')).trim());
  const { rows } = await summary(mysqlA.optionFile, 'bigdb');
  console.log(`filled bigdb with ${rows} rows (${(size / 2 ** 20).toFixed(0)} MiB of text) in ${((Date.now() - filling) / 1000).toFixed(1)} s`);

  const places = [
    { target: 'test1', container: 'mysql-a', server: mysqlA },
    { target: 'test2', container: 'mysql-b', server: mysqlB },
  ];
  const samples = { hand: [], ours: [] };
  for (let run = 0; run < REPEATS; run++) {
    // Alternately from test1:mysql-a to test2:mysql-b and back; by hand first, then ours, each time the same copy.
    const from = places[run % 2];
    const to = places[(run + 1) % 2];
    // The state changed since any earlier snapshot, as a database's does: every run transfers it whole.
    await client(from.server.optionFile, `UPDATE payload SET body = REVERSE(body) WHERE id = ${run + 1};`, 'bigdb');
    const source = await summary(from.server.optionFile, 'bigdb');
    await client(to.server.optionFile, 'CREATE DATABASE byhand;');
    const handStarted = Date.now();
    await dumpInto(from.server.optionFile, 'bigdb', to.server.optionFile, 'byhand');
    const handSeconds = (Date.now() - handStarted) / 1000;
    check('by hand', await summary(to.server.optionFile, 'byhand'), source);
    await client(to.server.optionFile, 'DROP DATABASE byhand;');

    await placeAt(to.target, to.container);
    const moved = await deploy();
    check('dysnomia deploy', await summary(to.server.optionFile, 'bigdb'), source);
    const state = (action) => moved.events.find((e) => e.event === 'state' && e.action === action);
    const activated = moved.events.find((e) => e.event === 'step' && e.action === 'activate' && e.status === 'done');
    const phases = {};
    let previous = activated?.at ?? 0;
    for (const action of ['snapshot', 'retrieve', 'send', 'restore']) {
      phases[action] = state(action).at - previous;
      previous = state(action).at;
    }
    phases.rest = moved.seconds - (previous - (activated?.at ?? 0));
    const bytes = (state('retrieve')?.bytes ?? 0) + (state('send')?.bytes ?? 0);
    samples.hand.push(handSeconds);
    samples.ours.push({ seconds: moved.seconds, phases, bytes });
    console.log(`run ${run + 1}: ${from.target}:${from.container} -> ${to.target}:${to.container}: by hand ${handSeconds.toFixed(1)} s, dysnomia deploy ${moved.seconds.toFixed(1)} s ` +
      `(${Object.entries(phases).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; ${(bytes / 2 ** 20).toFixed(0)} MiB of snapshot archives over SSH); load ${os.loadavg()[0].toFixed(2)}`);
  }
  console.log(`\nevery copy has the source's ${rows} rows and CHECKSUM TABLE`);
  const hand = median(samples.hand);
  const ours = median(samples.ours.map((s) => s.seconds));
  console.log(`\n${`median of ${REPEATS} runs`.padEnd(58)}seconds`);
  console.log(`${'mariadb-dump | mariadb, by hand (one machine, no files)'.padEnd(58)}${hand.toFixed(1).padStart(7)}`);
  console.log(`${'dysnomia deploy moving bigdb to the other container'.padEnd(58)}${ours.toFixed(1).padStart(7)}`);
  for (const phase of ['snapshot', 'retrieve', 'send', 'restore', 'rest']) {
    console.log(`  ${(phase === 'rest' ? 'the rest (connect, lock, operations, profiles, record)' : phase).padEnd(56)}${median(samples.ours.map((s) => s.phases[phase])).toFixed(1).padStart(7)}`);
  }
  console.log(`ratio: ${(ours / hand).toFixed(2)}x the hand-made copy`);
  console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await cleanup();
}
