// Wrapper-service deployments through the CLI, for the benchmarks over sshd
// targets: components whose bin/wrapper writes a marker file, the services
// model of a seeded dependency graph, a `dysnomia` run with --json (its
// events, time, and the coordinator's peak memory and open files), what its
// events say it did, and the markers found on the targets.
import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DYSNOMIA = path.join(ROOT, 'packages/engine/bin/dysnomia.js');

/** The CLI runs under way, so a benchmark stopped midway can stop them too (stopRuns). */
const running = new Set();

export function stopRuns() {
  for (const child of running) child.kill('SIGTERM');
}

/** bin/wrapper: writes (activate) or removes (deactivate) `$markerDir/NAME` holding "NAME VERSION", after a ~3 ms sleep. */
export function wrapperScript(name, version) {
  // markerDir comes from the wrapper container's properties (the environment of bin/wrapper).
  return `#!/bin/sh
# ${name} ${version}
case "$1" in
  activate) mkdir -p "$markerDir" && echo '${name} ${version}' > "$markerDir/${name}" && sleep 0.003 ;;
  deactivate) rm -f "$markerDir/${name}" && sleep 0.003 ;;
  *) ;;
esac
`;
}

export async function writeComponent(dir, name, version) {
  const program = path.join(dir, 'bin', 'wrapper');
  await mkdir(path.dirname(program), { recursive: true });
  await writeFile(program, wrapperScript(name, version));
  await chmod(program, 0o755);
}

/**
 * The services model of `deps` (acyclicDependencies): wrapper services named
 * `name(i)`, component `./components/NAME` (`./components/NAME-v2` for the
 * `changed` service when `version` is v2), each dependsOn its dependencies.
 */
export function wrapperServicesModel(deps, name, { changed, version }) {
  return Object.fromEntries(deps.map((list, i) => [name(i), {
    name: name(i),
    type: 'wrapper',
    pkg: `./components/${name(i)}${i === changed && version === 'v2' ? '-v2' : ''}`,
    ...(list.length > 0 ? { dependsOn: Object.fromEntries(list.map((d, n) => [`dep${n}`, name(d)])) } : {}),
  }]));
}

/** Linux: a process's peak resident set (VmHWM, bytes) and its open files now; undefined when it is gone or there is no /proc. */
async function processFigures(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    const fds = (await readdir(`/proc/${pid}/fd`)).length;
    return { peakRss: hwm ? Number(hwm[1]) * 1024 : undefined, fds };
  } catch {
    return undefined;
  }
}

/**
 * Runs the CLI with a clean environment and --json; every event comes back
 * with `at` (ms since the start) and is written to `logFile` (kept with
 * --keep) to see where a run spends its time. With `watch`, the coordinator's
 * /proc entry is read every 100 ms: `peakRss` (its VmHWM, which the kernel
 * keeps as a high-water mark, so only a peak in the last 100 ms before it
 * exits can be missed) and `peakFds` (open files). `cli`: another checkout's
 * bin/dysnomia.js; `nodeArgs` go to the coordinator's node (--cpu-prof …).
 * Rejects with stderr on failure.
 */
export function runDysnomia(args, stateDir, logFile, { cwd, env = {}, watch = false, cli = DYSNOMIA, nodeArgs = [] } = {}) {
  const started = Date.now();
  const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, DYSNOMIA_STATEDIR: stateDir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const events = [];
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (chunk) => {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      events.push({ at: Date.now() - started, ...JSON.parse(line) });
    }
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const figures = { peakRss: undefined, peakFds: undefined };
  const poll = async () => {
    const now = await processFigures(child.pid);
    if (!now) return;
    if (now.peakRss !== undefined) figures.peakRss = Math.max(figures.peakRss ?? 0, now.peakRss);
    figures.peakFds = Math.max(figures.peakFds ?? 0, now.fds);
  };
  const timer = watch ? setInterval(poll, 100) : undefined;
  return new Promise((resolve, reject) => {
    child.on('close', async (code) => {
      running.delete(child);
      clearInterval(timer);
      await writeFile(logFile, `${args.join(' ')}\nload average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n${events.map(({ at, ...e }) => `+${String(at).padStart(6)} ms ${JSON.stringify(e)}`).join('\n')}\n${stderr ? `stderr:\n${stderr}` : ''}`);
      if (code === 0) resolve({ events, seconds: (Date.now() - started) / 1000, ...(watch ? figures : {}) });
      else reject(Object.assign(new Error(`dysnomia exited with status ${code}`), { code, stderr, events }));
    });
  });
}

/** What a --json run reported: step counts per action, the services activated and deactivated, entries sent, targets connected, and the ms each phase took. */
export function tally(events) {
  const steps = events.filter((e) => e.event === 'step' && e.status === 'done' && !e.undo);
  const servicesOf = (action) => new Set(steps.filter((s) => s.action === action).map((s) => s.service));
  const count = (action) => steps.filter((s) => s.action === action).length;
  // Each phase ends with its last event (or where the phase before it ended, when it had none), in the order a deployment runs.
  const ends = [];
  const phaseEnd = (test) => {
    const end = Math.max(ends.at(-1) ?? 0, events.filter(test).at(-1)?.at ?? 0);
    ends.push(end);
    return end;
  };
  const start = phaseEnd((e) => e.event === 'start');
  const connected = phaseEnd((e) => e.event === 'connected');
  const locked = phaseEnd((e) => e.event === 'locked' || e.event === 'transition');
  const sent = phaseEnd((e) => e.event === 'plan' || e.event === 'transferred');
  const operated = phaseEnd((e) => e.event === 'step' && ['lock', 'activate', 'deactivate'].includes(e.action));
  const profiles = phaseEnd((e) => e.event === 'profile');
  const done = phaseEnd((e) => e.event === 'done');
  return {
    ok: events.find((e) => e.event === 'done')?.ok === true,
    activate: count('activate'),
    deactivate: count('deactivate'),
    lock: count('lock'),
    unlock: count('unlock'),
    activated: servicesOf('activate'),
    deactivated: servicesOf('deactivate'),
    built: events.filter((e) => e.event === 'built').length,
    sent: events.filter((e) => e.event === 'transferred').reduce((a, e) => a + e.entries, 0),
    connected: new Set(events.filter((e) => e.event === 'connected').map((e) => e.target)).size,
    failed: events.filter((e) => e.event === 'failed').length,
    unchanged: events.find((e) => e.event === 'transition')?.unchanged,
    profilesChanged: events.filter((e) => e.event === 'profile' && e.changed).length,
    // After the warm-up a target is bootstrapped again only when the engine's build changed under the bench (a rebuild of packages/engine/dist).
    bootstraps: events.filter((e) => e.event === 'bootstrap' && e.phase === 'done').length,
    // Seconds spent in each phase, from the events' arrival times.
    phases: { 'models+build': start, 'connect': connected - start, 'lock+plan': locked - connected, 'send': sent - locked, 'de/activate': operated - sent, 'profiles': profiles - operated, 'record+unlock': done - profiles },
  };
}

export const phaseLine = (phases) => Object.entries(phases).map(([name, at]) => `${name} ${(at / 1000).toFixed(2)}`).join(' | ');

/** The marker files in `dirs`: name → content. */
export async function markers(dirs) {
  const found = new Map();
  for (const dir of dirs) {
    for (const name of await readdir(dir).catch(() => [])) found.set(name, (await readFile(path.join(dir, name), 'utf8')).trim());
  }
  return found;
}

export const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));
