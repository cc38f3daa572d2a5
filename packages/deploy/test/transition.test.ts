import t from 'tap';
import { deploymentOf } from '../src/deploy/deployment.js';
import type { Deployment } from '../src/deploy/deployment.js';
import { planTransition, runGraph } from '../src/deploy/transition.js';
import { parseDistribution } from '../src/models/distribution.js';
import { parseInfrastructure } from '../src/models/infrastructure.js';
import { parseServices } from '../src/models/services.js';

/** A model as loaded from a JS file: no line numbers. */
const source = (file: string, value: unknown) => ({ file, value, lineOf: () => undefined });

const infrastructure = parseInfrastructure(source('/models/infrastructure.json', { test1: { properties: { hostname: 'test1.example' }, containers: { 'mysql-production': { mysqlPort: 3306 } } }, test2: { properties: { hostname: 'test2.example' } } }));

/** db ← api ← web (dependsOn), tool alone; components named after the service and a version. */
async function deployment(placement: Record<string, unknown>, versions: Record<string, number> = {}): Promise<Deployment> {
  const distribution = await parseDistribution(source('/models/distribution.json', placement), infrastructure);
  const services = await parseServices(
    source('/models/services.json', {
      db: { pkg: '/pkgs/db', type: 'mysql-database' },
      api: { pkg: '/pkgs/api', type: 'wrapper', dependsOn: { db: 'db' } },
      web: { pkg: '/pkgs/web', type: 'wrapper', dependsOn: { api: 'api' } },
      tool: { pkg: '/pkgs/tool', type: 'package' },
    }),
    infrastructure,
    distribution,
  );
  return deploymentOf(services, infrastructure, 'default', async (source) => {
    const name = String(source).split('/').pop()!;
    return `${'0'.repeat(31)}${versions[name] ?? 1}-${name}`;
  });
}

const base = { db: { targets: [{ target: 'test1', container: 'mysql-production' }] }, api: ['test2'], web: ['test1', 'test2'], tool: ['test2'] };
const ids = (d: Deployment, service: string) => d.mappings.filter((m) => m.service === service).map((m) => m.id);

t.test('a mapping carries its container, the model properties of that container, and what it waits for', async (t) => {
  const d = await deployment(base);
  const db = d.mappings.find((m) => m.service === 'db')!;
  t.match(db, { target: 'test1', container: 'mysql-production', properties: { mysqlPort: '3306' }, after: [] }, 'properties as strings, as container files have them');
  t.same(d.mappings.find((m) => m.service === 'api')!.after, ids(d, 'db'));
  t.same(d.mappings.find((m) => m.service === 'web' && m.target === 'test1')!.after, ids(d, 'api'));
  t.same(d.mappings.find((m) => m.service === 'api')!.properties, {}, 'a container the models do not describe: empty, the target fills it');
  t.same(Object.keys(d.profiles), ['test1', 'test2']);
});

t.test('identity: a moved or changed dependency renews its dependants, nothing else', async (t) => {
  const first = await deployment(base);
  const moved = await deployment({ ...base, db: { targets: [{ target: 'test2', container: 'mysql-database' }] } });
  t.notSame(ids(moved, 'db'), ids(first, 'db'));
  t.notSame(ids(moved, 'api'), ids(first, 'api'), 'api depends on the moved db');
  t.notSame(ids(moved, 'web'), ids(first, 'web'), 'web depends on api');
  t.same(ids(moved, 'tool'), ids(first, 'tool'), 'tool is unrelated');
  const changed = await deployment(base, { api: 2 });
  t.same(ids(changed, 'db'), ids(first, 'db'), 'a dependency is not renewed by its dependant');
  t.notSame(ids(changed, 'api'), ids(first, 'api'));
  t.notSame(ids(changed, 'web'), ids(first, 'web'));
  t.same(ids(await deployment(base), 'web'), ids(first, 'web'), 'the same models give the same identities');
});

t.test('a transition deactivates dependants first and activates dependencies first', async (t) => {
  const first = await deployment(base);
  const fresh = planTransition(undefined, first);
  t.same(fresh.deactivate, []);
  const order = fresh.activate.map((m) => m.service);
  t.ok(order.indexOf('db') < order.indexOf('api') && order.indexOf('api') < order.lastIndexOf('web') && order.indexOf('api') < order.indexOf('web'));
  const next = await deployment(base, { db: 2 });
  const change = planTransition({ ...first, profile: 'default' }, next);
  const down = change.deactivate.map((m) => m.service);
  t.same(new Set(down), new Set(['db', 'api', 'web']));
  t.ok(down.lastIndexOf('web') < down.indexOf('api') && down.indexOf('api') < down.indexOf('db'), 'web, then api, then db');
  t.same(change.unchanged.map((m) => m.service), ['tool']);
  t.same(planTransition(next, next).activate, [], 'nothing to do between equal deployments');
});

t.test('runGraph: waits, a bound per target, and nothing new after a failure', async (t) => {
  const items = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, target: id === 'e' ? 'other' : 'one' }));
  const waits = new Map([['c', ['a', 'b']], ['d', ['c']]]);
  const started: string[] = [];
  let running = 0;
  let peak = 0;
  const outcome = await runGraph(items, waits, (target) => (target === 'one' ? 2 : 1), async (item) => {
    started.push(item.id);
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, 20));
    running--;
  });
  t.equal(outcome.failure, undefined);
  t.same(outcome.done.map((i) => i.id).sort(), ['a', 'b', 'c', 'd', 'e']);
  t.ok(started.indexOf('c') > started.indexOf('a') && started.indexOf('c') > started.indexOf('b') && started.indexOf('d') > started.indexOf('c'));
  t.equal(peak, 3, "two at once on 'one' plus one on 'other'");

  const ran: string[] = [];
  const failing = await runGraph(items, waits, () => 1, async (item) => {
    ran.push(item.id);
    if (item.id === 'b') throw new Error('b broke');
  });
  t.equal(failing.failure?.item.id, 'b');
  t.match(String(failing.failure?.error), /b broke/);
  t.notOk(ran.includes('c') || ran.includes('d'), 'the dependants of the failure never started');
  t.notOk(failing.done.some((i) => i.id === 'b'));
});
