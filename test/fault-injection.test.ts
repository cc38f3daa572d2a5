// Fault injection: a transition from V1 to V2 over two sshd machines is interrupted at
// every step, once by killing the coordinator (SIGKILL) and once by cutting one target's
// SSH session. After each, a plain re-run of V2 must converge (the services each machine
// runs, its profile, its own record, no lock left anywhere), and a plain re-run of V1 must
// converge back. The faults come from DYSNOMIA_TEST_FAULT, which only the deploy code reads.
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { dysnomia } from './helpers/cli.js';
import { failureText, parseEvents, sshTarget, twoMachines, writeProgram } from './helpers/deploy-fixtures.js';

t.setTimeout(900_000);
const { dir, env, knownHosts, test1, test2, state1, state2 } = await twoMachines(t, 'dysnomia-faults-');
const marks = { test1: path.join(dir, 'machines/test1/marks'), test2: path.join(dir, 'machines/test2/marks') };
await mkdir(marks.test1, { recursive: true });
await mkdir(marks.test2, { recursive: true });
const states = { test1: state1, test2: state2 };

const target = (host: typeof test1, state: string, folder: string) => ({ ...sshTarget(host, knownHosts, state), containers: { wrapper: { marks: folder } } });
const infrastructure = path.join(dir, 'infrastructure.json');
await writeFile(infrastructure, JSON.stringify({ test1: target(test1, state1, marks.test1), test2: target(test2, state2, marks.test2) }, null, 2));

const project = path.join(dir, 'project');
/** A wrapper service whose activation writes `<marks>/<name>-v<version>` and whose deactivation removes it: each version its own state. */
async function wrapper(name: string, version: number): Promise<string> {
  const folder = path.join(project, `${name}-v${version}`);
  await writeProgram(
    path.join(folder, 'bin/wrapper'),
    `#!/bin/sh\nset -e\ncase "$1" in\n  activate) touch "$marks/${name}-v${version}" ;;\n  deactivate) rm -f "$marks/${name}-v${version}" ;;\nesac\n`,
  );
  return folder;
}

// V1: a and b on test1, c and d on test2; b and c depend on a.
// V2: a changes (so b and c are redeployed with it), b moves to test2, d goes, e comes on test1.
const v1 = { services: path.join(project, 'services-v1.mjs'), distribution: path.join(project, 'distribution-v1.json') };
const v2 = { services: path.join(project, 'services-v2.mjs'), distribution: path.join(project, 'distribution-v2.json') };
const servicesModel = async (versions: Record<string, number>, names: string[]) => {
  const pkg = async (name: string) => JSON.stringify(await wrapper(name, versions[name] ?? 1));
  const lines = await Promise.all(names.map(async (name) => `    ${name}: { pkg: ${await pkg(name)}, type: 'wrapper' },`));
  return `export default () => {\n  const s = {\n${lines.join('\n')}\n  };\n  if (s.b) s.b.dependsOn = { a: s.a };\n  if (s.c) s.c.dependsOn = { a: s.a };\n  return s;\n};\n`;
};
await writeFile(v1.services, await servicesModel({}, ['a', 'b', 'c', 'd']));
await writeFile(v1.distribution, JSON.stringify({ a: ['test1'], b: ['test1'], c: ['test2'], d: ['test2'] }));
await writeFile(v2.services, await servicesModel({ a: 2 }, ['a', 'b', 'c', 'e']));
await writeFile(v2.distribution, JSON.stringify({ a: ['test1'], b: ['test2'], c: ['test2'], e: ['test1'] }));
/** What runs where: the components (service-vVERSION) on each machine. */
type Placement = Record<'test1' | 'test2', string[]>;
const expected: Record<'v1' | 'v2', Placement> = {
  v1: { test1: ['a-v1', 'b-v1'], test2: ['c-v1', 'd-v1'] },
  v2: { test1: ['a-v2', 'e-v1'], test2: ['b-v1', 'c-v1'] },
};

const deploy = (models: typeof v1, fault?: string) =>
  dysnomia(['deploy', '-s', models.services, '-i', infrastructure, '-d', models.distribution, '--profile', 'apps', '--json'], {
    env: { ...env, ...(fault ? { DYSNOMIA_TEST_FAULT: fault } : {}) },
  });

const readMarks = async (folder: string) => (await readdir(folder)).sort();
const files = async (folder: string) => (await readdir(folder).catch(() => [] as string[])).sort();

/** The machines run exactly `want`: the services, their own records, their profiles, and no lock anywhere. */
async function converged(t: Test, want: Placement, label: string): Promise<void> {
  for (const name of ['test1', 'test2'] as const) {
    t.same(await readMarks(marks[name]), want[name], `${label}: ${name} runs exactly what is asked`);
    const record = JSON.parse(await readFile(path.join(states[name], 'activations/apps.json'), 'utf8')) as { mappings: Array<{ entry: string }> };
    t.same(record.mappings.map((m) => m.entry.replace(/^[0-9a-z]{32}-/, '')).sort(), want[name], `${label}: ${name}'s own record says so`);
    t.same(await profileEntries(name), want[name], `${label}: ${name}'s profile holds its components`);
    t.same(await files(path.join(states[name], 'locks')), [], `${label}: no lock left on ${name}`);
  }
  t.same(await files(path.join(env.DYSNOMIA_STATEDIR, 'locks')), [], `${label}: no lock left here`);
}

/** The profile's packages on a machine, through its own engine: the components of what it runs. */
async function profileEntries(name: 'test1' | 'test2'): Promise<string[]> {
  const generation = await lstat(path.join(states[name], 'profiles/apps')).then(() => true, () => false);
  if (!generation) return [];
  const meta = JSON.parse(await readFile(path.join(states[name], 'store/.meta', `${path.basename(await readlinkDeep(path.join(states[name], 'profiles/apps')))}.json`), 'utf8')) as { references: string[] };
  return meta.references.map((entry) => entry.replace(/^[0-9a-z]{32}-/, '')).sort();
}

async function readlinkDeep(link: string): Promise<string> {
  let current = link;
  for (let i = 0; i < 4; i++) {
    const target = await readlink(current).catch(() => undefined);
    if (target === undefined) return current;
    current = path.resolve(path.dirname(current), target);
  }
  return current;
}

// What an interrupted bootstrap or import left in a target's store goes with the next deployment that locks it.
const leftover = path.join(state1, 'store', '.tmp-999999999-interrupted');
const first = await deploy(v1);
if (first.code !== 0) throw new Error(`the first deployment failed:\n${failureText(first)}`);

const STEPS = ['after-lock', 'after-transfer', 'after-deactivate:1', 'after-activate:1', 'after-activate:2', 'after-profiles', 'after-record'];
for (const variant of ['kill', 'cut'] as const) {
  for (const step of STEPS) {
    const fault = variant === 'kill' ? `kill:${step}` : `cut:${step.includes(':') ? step : `${step}:1`}:test2`;
    t.test(`${variant} at ${step}: a plain re-run converges, and the previous models converge back`, async (t) => {
      const interrupted = await deploy(v2, fault);
      if (variant === 'kill') t.not(interrupted.code, 0, 'the coordinator died');
      // Cut after the profiles switched, the deployment was done but for unlocking that target.
      else t.equal(interrupted.code, ['after-profiles', 'after-record'].includes(step) ? 0 : 1, `a cut target fails the deployment unless all was done\n${failureText(interrupted)}`);
      t.notMatch(interrupted.stderr, /internal error|Unhandled/, 'no crash');
      if (variant === 'cut' && !['after-profiles', 'after-record'].includes(step)) {
        // What V1 runs on the healthy target runs again; a V2 component stays only where a dependant on the cut target may still need it (and the message says so).
        const test1 = await readMarks(marks.test1);
        t.ok(expected.v1.test1.every((c) => test1.includes(c)), `the healthy target runs V1's services again (${test1.join(', ')})`);
        for (const extra of test1.filter((c) => !expected.v1.test1.includes(c))) t.match(interrupted.stderr, new RegExp(`deactivating ${extra.split('-')[0]} on test1: not tried`), `${extra} is left only as the message says`);
        if (step.startsWith('after-activate') || step.startsWith('after-deactivate')) {
          // Everything undone, or exactly what was not (only on the cut target) and how to finish.
          t.match(interrupted.stderr, /rolled back to the previous deployment|rolling back left \d+ steps? undone:\n(  - .* on test\d: .*\n)+Each target keeps its own record of what runs on it: run this deploy again/, 'says what could not be undone, and how to finish');
          t.notMatch(interrupted.stderr, /^  - (?!.* on test2: )(?!deactivating \w+ on test1: not tried).*/m, 'on the healthy target only what waits for the cut one is left');
        }
      }

      const again = await deploy(v2);
      t.equal(again.code, 0, `the re-run of V2 succeeds\n${failureText(again)}`);
      await converged(t, expected.v2, 'V2');
      const noop = await deploy(v2);
      t.equal(noop.code, 0);
      t.same(parseEvents(noop.stdout).filter((e) => e.event === 'locked' || e.event === 'step'), [], 'and then it is a no-op: nothing locked, nothing run');

      const back = await deploy(v1);
      t.equal(back.code, 0, `the re-run of V1 succeeds\n${failureText(back)}`);
      await converged(t, expected.v1, 'V1');
    });
  }
}

t.test('V2 killed right after its first activation, then V1 again at once: V1 converges, no V2 service left running', async (t) => {
  const interrupted = await deploy(v2, 'kill:after-activate:1');
  t.not(interrupted.code, 0);
  t.notSame([await readMarks(marks.test1), await readMarks(marks.test2)], [expected.v1.test1, expected.v1.test2], 'the machines are half way');
  const back = await deploy(v1);
  t.equal(back.code, 0, failureText(back));
  t.ok(parseEvents(back.stdout).some((e) => e.event === 'lock-broken'), 'the dead deployment\'s locks were broken, and said');
  const transition = parseEvents(back.stdout).find((e) => e.event === 'transition')!;
  t.ok((transition.activate as string[]).length + (transition.deactivate as string[]).length > 0, 'planned from what the targets run, not from the record here');
  await converged(t, expected.v1, 'V1');
});

t.test('what an interrupted import left in a target\'s store is removed by the next deployment that locks the target', async (t) => {
  await mkdir(path.join(leftover, 'half-an-entry'), { recursive: true });
  const result = await deploy(v2);
  t.equal(result.code, 0, failureText(result));
  t.ok(parseEvents(result.stdout).some((e) => e.event === 'locked' && e.target === 'test1'), 'test1 was locked');
  await t.rejects(lstat(leftover), { code: 'ENOENT' }, 'the leftover of a dead process is gone');
  const back = await deploy(v1);
  t.equal(back.code, 0, failureText(back));
});
