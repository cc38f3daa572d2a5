#!/usr/bin/env node
// What a target's agent spends per service: the real `dysnomia agent` process
// (this checkout's, and with --compare DIR another built checkout's, sessions
// interleaved so machine load drifts alike), fed on its stdin as a coordinator
// feeds it for the one-service change of bench/orchestrator.mjs on one target:
// a service-locks lock of N wrapper services (the first request that needs the
// engine), K deactivations and K activations one at a time with the target's
// record, and a service-locks unlock of the others. The state folder has two
// profiles, as the orchestrator bench's targets do (profiles are searched for
// modules and containers).
// CPU comes from /proc/PID/stat of the live agent (its own, and its finished
// children's: the bin/wrapper processes), read before it exits: unlike wall
// time, a busy machine barely changes it. Linux only (/proc).
// Usage: node bench/agent-requests.mjs [--services N] [--changed K] [--sessions S] [--parallel P] [--compare DIR]
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { wrapperScript } from './lib/wrapper-deploy.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const N = Number(option('--services', '50'));
const K = Number(option('--changed', '8'));
const SESSIONS = Number(option('--sessions', '7'));
const PARALLEL = Number(option('--parallel', String(os.availableParallelism())));
const compare = option('--compare', undefined);
const roots = [{ label: 'ours', root: ROOT }, ...(compare ? [{ label: 'base', root: path.resolve(compare) }] : [])];
const HZ = 100; // USER_HZ: /proc's clock ticks per second on Linux

for (const { root } of roots) {
  for (const file of ['packages/engine/dist/agent/agent.js', 'packages/plugin-wrapper/dist/index.js']) {
    try {
      await readFile(path.join(root, file));
    } catch {
      console.error(`missing ${path.join(root, file)}: run \`npm run build\` there`);
      process.exit(2);
    }
  }
}

const work = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-bench-agent-'));
process.on('SIGINT', () => rm(work, { recursive: true, force: true }).then(() => process.exit(130)));
const markerDir = path.join(work, 'markers');
const name = (i) => `w${String(i).padStart(3, '0')}`;
const entryOf = (i) => `${String(i % 10).repeat(32)}-${name(i)}`;
const services = Array.from({ length: N }, (_, i) => ({ key: String(i), type: 'wrapper', entry: entryOf(i), container: 'wrapper', properties: { markerDir } }));
const mapping = (s) => ({ id: `${s.entry}-id`, service: name(Number(s.key)), target: 'test1', container: 'wrapper', type: 'wrapper', entry: s.entry, properties: s.properties, after: [] });

async function stateFolder(label) {
  const stateDir = path.join(work, label, 'state');
  for (let i = 0; i < N; i++) {
    const program = path.join(stateDir, 'store', entryOf(i), 'bin/wrapper');
    await mkdir(path.dirname(program), { recursive: true });
    await writeFile(program, wrapperScript(name(i), 'v1'));
    await chmod(program, 0o755);
  }
  await mkdir(path.join(stateDir, 'profiles'), { recursive: true });
  for (const profile of ['default', 'bench-bootstrap']) {
    const generation = path.join(stateDir, 'store', `${'p'.repeat(32)}-${profile}-generation`);
    await mkdir(path.join(generation, 'bin'), { recursive: true });
    await symlink(generation, path.join(stateDir, 'profiles', `${profile}-1-link`));
    await symlink(`${profile}-1-link`, path.join(stateDir, 'profiles', profile));
  }
  return stateDir;
}

/** CPU ms of a live process: its own, and its finished children's. */
async function cpuOf(pid) {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return { self: ((Number(fields[11]) + Number(fields[12])) * 1000) / HZ, children: ((Number(fields[13]) + Number(fields[14])) * 1000) / HZ };
}

async function session({ root, stateDir }, first) {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(root, 'packages/engine/bin/dysnomia.js'), 'agent', `--plugin=${path.join(root, 'packages/plugin-wrapper')}`], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DYSNOMIA_STATEDIR: stateDir },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = new Map();
  let helloAt;
  const hello = new Promise((resolve) => (helloAt = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line);
    if (message.hello) helloAt(performance.now() - started);
    else if (message.line === undefined) waiting.get(message.id)?.(message);
  });
  let id = 0;
  const ask = async (body) => {
    const asked = performance.now();
    const answer = await new Promise((resolve) => {
      waiting.set(++id, resolve);
      child.stdin.write(`${JSON.stringify({ ...body, id })}\n`);
    });
    if (!answer.ok || answer.result?.outcomes?.some((o) => !o.ok)) throw new Error(`${body.kind} failed: ${JSON.stringify(answer).slice(0, 400)}`);
    return performance.now() - asked;
  };
  const result = { hello: await hello };
  // The first session activates every service (and is not counted).
  if (first) for (const s of services) await ask({ kind: 'operation', operation: 'activate', ...s, record: { profile: 'default', mapping: mapping(s) } });
  const changed = services.slice(N - K);
  const kept = services.slice(0, N - K);
  const cpu0 = await cpuOf(child.pid);
  result.lock = await ask({ kind: 'service-locks', operation: 'lock', services, parallel: PARALLEL });
  const cpu1 = await cpuOf(child.pid);
  let operations = 0;
  for (const s of [...changed].reverse()) operations += await ask({ kind: 'operation', operation: 'deactivate', ...s, record: { profile: 'default', mapping: mapping(s) } });
  for (const s of changed) operations += await ask({ kind: 'operation', operation: 'activate', ...s, record: { profile: 'default', mapping: mapping(s) } });
  const cpu2 = await cpuOf(child.pid);
  result.unlock = await ask({ kind: 'service-locks', operation: 'unlock', services: kept, parallel: PARALLEL });
  const cpu3 = await cpuOf(child.pid);
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
  Object.assign(result, {
    operation: operations / (2 * K),
    lockCpu: cpu1.self - cpu0.self,
    lockChildren: cpu1.children - cpu0.children,
    operationCpu: (cpu2.self - cpu1.self) / (2 * K),
    unlockCpu: cpu3.self - cpu2.self,
    unlockChildren: cpu3.children - cpu2.children,
  });
  return result;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`The agent's requests for one target's share of a one-service change: lock ${N} wrapper services, ${K} deactivations + ${K} activations, unlock ${N - K}; parallel ${PARALLEL}`);
console.log(`${os.availableParallelism()} cores, Node ${process.versions.node}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; median of ${SESSIONS - 1} sessions (the first activates the services and is left out), ${roots.map((r) => r.label).join(', ')} interleaved\n`);
for (const r of roots) r.stateDir = await stateFolder(r.label);
const results = new Map(roots.map((r) => [r, []]));
for (let s = 0; s < SESSIONS; s++) for (const r of roots) results.get(r).push(await session(r, s === 0));
const row = (label, cells) => console.log(`  ${label.padEnd(42)} ${cells.map((c) => c.padStart(12)).join(' ')}`);
row('', roots.map((r) => r.label));
const figure = (key, per = 1, digits = 0) => roots.map((r) => `${(median(results.get(r).slice(1).map((x) => x[key])) / per).toFixed(digits)} ms`);
row('agent start (hello)', figure('hello'));
row(`lock ${N} (first request with the engine): wall`, figure('lock'));
row('  agent CPU per service', figure('lockCpu', N, 2));
row('  bin/wrapper CPU per service', figure('lockChildren', N, 2));
row(`unlock ${N - K}: wall`, figure('unlock'));
row('  agent CPU per service', figure('unlockCpu', N - K, 2));
row('  bin/wrapper CPU per service', figure('unlockChildren', N - K, 2));
row('one (de)activation with its record: wall', figure('operation', 1, 1));
row('  agent CPU', figure('operationCpu', 1, 1));
await rm(work, { recursive: true, force: true });
