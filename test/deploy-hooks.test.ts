// The orchestrator's hooks, tapped by a plugin the config lists, through real
// deployments to a local target: the order of the calls and what they carry, a
// refusal of the plan (nothing changes), a tap that throws (named, rolled back).
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { failureText, parseEvents, writeProgram } from './helpers/deploy-fixtures.js';

/** Writes one JSON line per hook call to $HOOK_LOG; refuses or throws where the environment says. */
const RECORDING_PLUGIN = `import { appendFileSync } from 'node:fs';
const note = (entry) => appendFileSync(process.env.HOOK_LOG, JSON.stringify(entry) + '\\n');
export default {
  type: 'hook-recorder',
  engine: '^1.0.0',
  meta: { name: 'dysnomia-plugin-hook-recorder' },
  activate() {},
  deactivate() {},
  apply(engineHooks, deploy) {
    if (!deploy) return;
    deploy.plan.tapPromise('record', async (plan) => {
      note({ hook: 'plan', from: plan.fromGeneration ?? null, activate: plan.transition.activate.map((m) => m.service), deactivate: plan.transition.deactivate.map((m) => m.service), dryRun: plan.dryRun });
      if (process.env.REFUSE_PLAN) throw new Error(process.env.REFUSE_PLAN);
    });
    for (const hook of ['beforeActivate', 'afterActivate', 'beforeDeactivate', 'afterDeactivate']) {
      deploy[hook].tapPromise('record', async (ctx) => {
        note({ hook, service: ctx.mapping.service, target: ctx.mapping.target, container: ctx.mapping.container, hostname: ctx.target && ctx.target.hostname, undo: ctx.undo, owner: ctx.mapping.serviceProperties && ctx.mapping.serviceProperties.owner });
        if (!ctx.undo && process.env.THROW_AT === hook + ':' + ctx.mapping.service) throw new Error('checked ' + ctx.mapping.service + ': not good');
      });
    }
    deploy.transitionFailed.tapPromise('record', async (ctx) => note({ hook: 'transitionFailed', service: ctx.mapping ? ctx.mapping.service : null }));
    deploy.profilesSwitched.tapPromise('record', async (ctx) => note({ hook: 'profilesSwitched', targets: ctx.switched.map((s) => s.target) }));
    deploy.deploymentRecorded.tapPromise('record', async (ctx) => note({ hook: 'deploymentRecorded', generation: ctx.generation }));
  },
};
`;

t.test('a config-listed plugin sees the deploy hooks in order; refuses a plan; a throwing tap is named and rolled back', async (t) => {
  const dir = await tempDir(t, 'dysnomia-deploy-hooks-');
  const state = path.join(dir, 'state');
  const marks = path.join(dir, 'marks');
  const hookLog = path.join(dir, 'hooks.log');
  await mkdir(marks);
  for (const name of ['db', 'web', 'web2']) {
    await writeProgram(path.join(dir, name, 'bin/wrapper'), `#!/bin/sh\n# ${name}\ncase "$1" in activate) touch ${marks}/${name} ;; deactivate) rm -f ${marks}/${name} ;; esac\n`);
  }
  await writeFile(path.join(dir, 'recorder.mjs'), RECORDING_PLUGIN);
  await writeFile(path.join(dir, 'dysnomia.config.json'), JSON.stringify({ plugins: ['./recorder.mjs'], stateDir: 'state' }));
  await writeFile(path.join(dir, 'infrastructure.json'), JSON.stringify({ here: { properties: { hostname: 'localhost', stateDir: state }, clientInterface: 'local' } }));
  const services = (web: string) => ({ db: { pkg: './db', type: 'wrapper' }, web: { pkg: `./${web}`, type: 'wrapper', dependsOn: { db: 'db' }, owner: 'team-a' } });
  await writeFile(path.join(dir, 'distribution.json'), JSON.stringify({ db: ['here'], web: ['here'] }));
  const deploy = async (web: string, env: Record<string, string> = {}) => {
    await writeFile(path.join(dir, 'services.json'), JSON.stringify(services(web)));
    await writeFile(hookLog, '');
    const result = await dysnomia(['deploy', '-s', 'services.json', '-i', 'infrastructure.json', '-d', 'distribution.json', '--json'], { cwd: dir, env: { HOOK_LOG: hookLog, ...env } });
    const calls = (await readFile(hookLog, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    return { ...result, calls };
  };
  const generations = async () => (await readdir(path.join(state, 'deployments/default')).catch(() => [])).filter((f) => /^\d+\.json$/.test(f)).sort();

  const first = await deploy('web');
  t.equal(first.code, 0, failureText(first));
  const step = { target: 'here', container: 'wrapper', hostname: 'localhost', undo: false };
  t.same(first.calls, [
    { hook: 'plan', from: null, activate: ['db', 'web'], deactivate: [], dryRun: false },
    { hook: 'beforeActivate', service: 'db', ...step },
    { hook: 'afterActivate', service: 'db', ...step },
    { hook: 'beforeActivate', service: 'web', ...step, owner: 'team-a' },
    { hook: 'afterActivate', service: 'web', ...step, owner: 'team-a' },
    { hook: 'profilesSwitched', targets: ['here'] },
    { hook: 'deploymentRecorded', generation: 1 },
  ], 'every hook in order, with the mapping, its target and the service\'s own properties');
  const activations = JSON.parse(await readFile(path.join(state, 'activations/default.json'), 'utf8')) as { mappings: Array<Record<string, unknown>> };
  t.notOk(activations.mappings.some((m) => 'serviceProperties' in m), 'the service\'s own properties stay with the coordinator');

  const refused = await deploy('web2', { REFUSE_PLAN: 'change window closed' });
  t.equal(refused.code, 1);
  t.equal(refused.stderr, 'dysnomia: error: plugin "dysnomia-plugin-hook-recorder" (tap "record") failed in hook plan: change window closed\n');
  t.same(refused.calls, [{ hook: 'plan', from: 1, activate: ['web'], deactivate: ['web'], dryRun: false }], 'nothing ran after the refusal');
  t.same((await readdir(marks)).sort(), ['db', 'web'], 'nothing changed on the target');
  t.same(await generations(), ['1.json'], 'no new generation');
  t.same(await readdir(path.join(state, 'locks')), [], 'no lock left');
  t.notMatch(refused.stderr, /\n\s+at /, 'no stack trace');

  const thrown = await deploy('web2', { THROW_AT: 'afterActivate:web' });
  t.equal(thrown.code, 1);
  t.match(thrown.stderr, 'activating web on here (container wrapper) failed: plugin "dysnomia-plugin-hook-recorder" (tap "record") failed in hook afterActivate: checked web: not good');
  t.match(thrown.stderr, 'rolled back to the previous deployment (deployment generation 1)');
  t.same(thrown.calls.map((c) => `${c.hook as string}${c.service ? ` ${c.service as string}` : ''}${c.undo ? ' (undo)' : ''}`), [
    'plan',
    'beforeDeactivate web',
    'afterDeactivate web',
    'beforeActivate web',
    'afterActivate web',
    'transitionFailed web',
    // The rollback undoes the activation whose after-hook failed, then puts the old web back.
    'beforeDeactivate web (undo)',
    'afterDeactivate web (undo)',
    'beforeActivate web (undo)',
    'afterActivate web (undo)',
  ]);
  t.same((await readdir(marks)).sort(), ['db', 'web'], 'the previous deployment runs again');
  t.same(await generations(), ['1.json']);
  const events = parseEvents(thrown.stdout);
  t.ok(events.some((e) => e.event === 'undone'), 'the rollback is reported');

  const dry = await dysnomia(['deploy', '-s', 'services.json', '-i', 'infrastructure.json', '-d', 'distribution.json', '--dry-run', '--json'], { cwd: dir, env: { HOOK_LOG: hookLog, REFUSE_PLAN: 'not now' } });
  t.equal(dry.code, 1, 'a dry run reports the refusal too');
  t.match(dry.stderr, 'failed in hook plan: not now');
});
