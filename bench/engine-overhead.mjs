// Engine overhead benchmark (issues 2 and 14). Prints its figures and the comparisons:
//  1. CLI start-up: `dysnomia --version` and a no-op activation through the CLI
//     (`bin/dysnomia.js`, as npm links it) with an executable module, the
//     first-party wrapper plugin (found by npm resolution) and a JS plugin file in
//     DYSNOMIA_MODULES_PATH; every command is run in interleaved rounds with
//     `node -e ''`, the anchor, so a loaded machine slows both alike. Goal: each
//     activation at most 1.5x `node -e ''`. Also shown: the same no-op through a
//     bash script doing what Dysnomia's own shell front end does (the original's
//     cost), and where the time goes (node's start, loading the engine, the operation);
//  2. the engine's own overhead per operation with a JS plugin called in process,
//     over 1,000 operations, against calling the plugin function directly
//     (target: under 1 ms per operation).
// Run: npm run bench   (builds first)
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../packages/engine/dist/index.js';
import { GoalTable } from './lib/goals.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages/engine/bin/dysnomia.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'dysnomia-bench-'));
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const OPERATIONS = Number(process.env.BENCH_OPERATIONS ?? 1000);
const START_GOAL = 1.5;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value) => `${value.toFixed(2)} ms`;

/** Runs each command RUNS times, one of each per round, and gives each one's median in ms. */
function timeInterleaved(commands) {
  const times = commands.map(() => []);
  for (let round = 0; round < RUNS; round++) {
    commands.forEach(({ file, args, env = {} }, i) => {
      const start = process.hrtime.bigint();
      execFileSync(file, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: 'ignore', cwd: work });
      times[i].push(Number(process.hrtime.bigint() - start) / 1e6);
    });
  }
  return times.map(median);
}

/** What Dysnomia's bash front end does for one operation: parse the options, read the container, run the module. */
const BASH_FRONT_END = `#!/bin/bash
set -e
while [ $# -gt 0 ]; do
  case "$1" in
    -o|--operation) operation="$2"; shift 2 ;;
    -c|--component) component="$2"; shift 2 ;;
    -C|--container) container="$2"; shift 2 ;;
    -t|--type) flagtype="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$operation" ] && [ -n "$component" ] && [ -n "$container" ] || exit 2
set -a; source "$container"; set +a
type="\${flagtype:-$type}"
for dir in $(echo "$DYSNOMIA_MODULES_PATH" | tr ':' ' '); do
  if [ -x "$dir/$type" ]; then exec "$dir/$type" "$operation" "$component" "$container"; fi
done
echo "no module for $type" >&2; exit 2
`;

try {
  mkdirSync(path.join(work, 'modules'));
  mkdirSync(path.join(work, 'component'));
  mkdirSync(path.join(work, 'wrapped/bin'), { recursive: true });
  const module = path.join(work, 'modules/noop');
  writeFileSync(module, '#!/bin/sh\nexit 0\n');
  chmodSync(module, 0o755);
  writeFileSync(path.join(work, 'wrapped/bin/wrapper'), '#!/bin/sh\nexit 0\n');
  chmodSync(path.join(work, 'wrapped/bin/wrapper'), 0o755);
  writeFileSync(
    path.join(work, 'modules/noopjs.mjs'),
    "export default { type: 'noopjs', engine: '^1.0.0', activate() {}, deactivate() {} };\n",
  );
  writeFileSync(path.join(work, 'container'), 'type=noop\nport=1\n');
  writeFileSync(path.join(work, 'dysnomia-bash'), BASH_FRONT_END);
  chmodSync(path.join(work, 'dysnomia-bash'), 0o755);
  const env = { DYSNOMIA_MODULES_PATH: path.join(work, 'modules'), DYSNOMIA_STATEDIR: path.join(work, 'state') };
  const component = path.join(work, 'component');
  const container = path.join(work, 'container');
  const activate = ['-o', 'activate', '-c', component, '-C', container];
  const node = (args, withEnv = env) => ({ file: process.execPath, args, env: withEnv });

  // One call first, so the wrapper plugin's npm resolution is remembered as on any machine after its first call.
  execFileSync(process.execPath, [cli, '-o', 'activate', '-c', path.join(work, 'wrapped'), '-t', 'wrapper', '-E'], { env: { ...process.env, ...env }, stdio: 'ignore', cwd: work });

  console.log(`# CLI timings: median of ${RUNS} interleaved rounds (bin/dysnomia.js, as npm links it)`);
  const [nodeBare, version, direct, bash, executable, wrapper, jsPlugin] = timeInterleaved([
    node(['-e', '']),
    node([cli, '--version']),
    { file: module, args: ['activate', component, container] },
    { file: path.join(work, 'dysnomia-bash'), args: activate, env },
    node([cli, ...activate]),
    node([cli, '-o', 'activate', '-c', path.join(work, 'wrapped'), '-t', 'wrapper', '-E']),
    node([cli, ...activate, '-t', 'noopjs']),
  ]);
  const over = (value) => `${ms(value)}  (${(value / nodeBare).toFixed(2)}x node -e '')`;
  console.log(`node -e ''                                 ${ms(nodeBare)}  (the anchor)`);
  console.log(`dysnomia --version                         ${over(version)}`);
  console.log(`no-op module run directly                  ${ms(direct)}`);
  console.log(`the no-op through a bash front end         ${ms(bash)}  (what Dysnomia's shell script costs)`);
  console.log(`dysnomia activate, executable module       ${over(executable)}`);
  console.log(`dysnomia activate, wrapper plugin (npm)    ${over(wrapper)}`);
  console.log(`dysnomia activate, JS plugin file          ${over(jsPlugin)}`);
  console.log(`where the time goes: node's start ${ms(nodeBare)}; loading the engine and routing (--version) +${ms(version - nodeBare)}; ` +
    `the operation +${ms(executable - version)} (executable, of which the module itself ${ms(direct)}), +${ms(wrapper - version)} (wrapper), +${ms(jsPlugin - version)} (JS file)`);

  const goals = new GoalTable();
  const anchor = { label: "node -e ''", seconds: nodeBare / 1000 };
  for (const [job, value] of [['activate, executable module', executable], ['activate, wrapper plugin', wrapper], ['activate, JS plugin file', jsPlugin]]) {
    goals.add({ job: `dysnomia ${job}`, ours: value / 1000, anchor, goal: { maxRatio: START_GOAL } });
  }
  goals.print('CLI start-up goals');

  console.log(`\n# In process: ${OPERATIONS} operations with a JS plugin`);
  let calls = 0;
  const plugin = { type: 'inproc', engine: '^1.0.0', activate() { calls++; }, deactivate() { calls++; } };
  const statefulPlugin = { ...plugin, type: 'inproc-stateful', stateful: true };
  writeFileSync(path.join(work, 'inproc'), 'type=inproc\n');
  const engine = await Engine.create({
    cwd: work,
    env: { PATH: process.env.PATH },
    config: { dir: work, modulesPath: [], containersPath: [], plugins: [] },
    stateDir: path.join(work, 'state'),
    plugins: [plugin, statefulPlugin],
    logLevel: 'quiet',
  });
  const request = { operation: 'activate', container: path.join(work, 'inproc'), component };
  for (let i = 0; i < 50; i++) await engine.run(request); // warm up

  let start = process.hrtime.bigint();
  for (let i = 0; i < OPERATIONS; i++) await plugin.activate({});
  const bare = Number(process.hrtime.bigint() - start) / 1e6 / OPERATIONS;

  start = process.hrtime.bigint();
  for (let i = 0; i < OPERATIONS; i++) await engine.run(request);
  const perOperation = Number(process.hrtime.bigint() - start) / 1e6 / OPERATIONS;

  start = process.hrtime.bigint();
  for (let i = 0; i < OPERATIONS; i++) {
    await engine.run({ ...request, type: 'inproc-stateful', operation: i % 2 === 0 ? 'activate' : 'deactivate' });
  }
  const statefulPerOperation = Number(process.hrtime.bigint() - start) / 1e6 / OPERATIONS;

  console.log(`plugin function called directly         ${ms(bare)} per call`);
  console.log(`engine.run, stateless plugin            ${ms(perOperation)} per operation (engine overhead ${ms(perOperation - bare)}; target < 1 ms: ${perOperation - bare < 1 ? 'met' : 'NOT met'})`);
  console.log(`engine.run, stateful (markers written)  ${ms(statefulPerOperation)} per operation (activate/deactivate alternating)`);
  if (calls < OPERATIONS * 2) throw new Error(`the plugin ran ${calls} times, expected at least ${OPERATIONS * 2}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
