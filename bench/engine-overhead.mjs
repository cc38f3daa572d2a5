// Engine overhead benchmark (issue 2). Prints its figures and the comparisons:
//  1. `dysnomia --version`, median of repeated runs, against a bare `node -e ''`;
//  2. a no-op activation through the CLI (an executable module, and a JS plugin),
//     against running the same executable module directly;
//  3. the engine's own overhead per operation with a JS plugin called in process,
//     over 1,000 operations, against calling the plugin function directly
//     (target: under 1 ms per operation).
// Run: npm run bench   (builds first)
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../packages/engine/dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages/engine/dist/cli/dysnomia.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'dysnomia-bench-'));
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const OPERATIONS = Number(process.env.BENCH_OPERATIONS ?? 1000);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value) => `${value.toFixed(2)} ms`;
function timeCommand(file, args, env = {}) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    execFileSync(file, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

try {
  mkdirSync(path.join(work, 'modules'));
  mkdirSync(path.join(work, 'component'));
  const module = path.join(work, 'modules/noop');
  writeFileSync(module, '#!/bin/sh\nexit 0\n');
  chmodSync(module, 0o755);
  writeFileSync(
    path.join(work, 'modules/noopjs.mjs'),
    "export default { type: 'noopjs', engine: '^1.0.0', activate() {}, deactivate() {} };\n",
  );
  writeFileSync(path.join(work, 'container'), 'type=noop\nport=1\n');
  const env = { DYSNOMIA_MODULES_PATH: path.join(work, 'modules'), DYSNOMIA_STATEDIR: path.join(work, 'state') };
  const component = path.join(work, 'component');
  const container = path.join(work, 'container');

  console.log(`# CLI timings: median of ${RUNS} runs`);
  const nodeBare = timeCommand(process.execPath, ['-e', '']);
  const version = timeCommand(process.execPath, [cli, '--version']);
  console.log(`node -e ''                              ${ms(nodeBare)}`);
  console.log(`dysnomia --version                      ${ms(version)}  (+${ms(version - nodeBare)} over bare node)`);

  const direct = timeCommand(module, ['activate', component, container]);
  const viaCli = timeCommand(process.execPath, [cli, '-o', 'activate', '-c', component, '-C', container], env);
  const viaCliJs = timeCommand(process.execPath, [cli, '-o', 'activate', '-c', component, '-C', container, '-t', 'noopjs'], env);
  console.log(`no-op module run directly               ${ms(direct)}`);
  console.log(`dysnomia activate, executable module    ${ms(viaCli)}  (+${ms(viaCli - direct)} over running it directly)`);
  console.log(`dysnomia activate, JS plugin            ${ms(viaCliJs)}  (+${ms(viaCliJs - nodeBare)} over bare node)`);

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
