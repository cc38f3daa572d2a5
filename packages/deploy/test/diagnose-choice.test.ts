import t from 'tap';
import { chooseMapping } from '../src/diagnose/diagnose.js';
import type { DeployedMapping } from '../src/deploy/deployment.js';
import { parseExtraParams } from '../src/models/extra-params.js';

const mapping = (service: string, target: string, container = 'wrapper'): DeployedMapping => ({ id: `${service}@${target}:${container}`, service, name: service, type: 'wrapper', entry: `00000000000000000000000000000000-${service}`, target, container, after: [] });
const mappings = [mapping('db', 'test1', 'mysql-a'), mapping('db', 'test1', 'mysql-b'), mapping('web', 'test1'), mapping('web', 'test2'), mapping('tool', 'test2')];

t.test('diagnose picks the one mapping, or says what the choices are', async (t) => {
  t.equal(chooseMapping(mappings, { service: 'tool' }, 'apps').target, 'test2');
  t.equal(chooseMapping(mappings, { service: 'web', target: 'test2' }, 'apps').id, 'web@test2:wrapper');
  t.equal(chooseMapping(mappings, { service: 'db', container: 'mysql-b' }, 'apps').id, 'db@test1:mysql-b');
  t.throws(() => chooseMapping(mappings, { service: 'nope' }, 'apps'), { message: 'service "nope" is not in the deployment of profile "apps" (its services: db, tool, web)', exitCode: 2 });
  t.throws(() => chooseMapping(mappings, { service: 'web' }, 'apps'), { message: 'service "web" runs on several targets: test1, test2; choose one with -t TARGET' });
  t.throws(() => chooseMapping(mappings, { service: 'tool', target: 'test1' }, 'apps'), { message: 'service "tool" does not run on target "test1" (it runs on: test2)' });
  t.throws(() => chooseMapping(mappings, { service: 'db' }, 'apps'), { message: 'service "db" runs in several containers on target "test1": mysql-a, mysql-b; choose one with -C CONTAINER' });
  t.throws(() => chooseMapping(mappings, { service: 'db', container: 'x' }, 'apps'), { message: /has no container "x" on target "test1" \(its containers: mysql-a, mysql-b\)/ });
  t.throws(() => chooseMapping([], { service: 'db' }, 'apps'), { message: /its services: none/ });
});

t.test('--extra-params takes a JSON object', async (t) => {
  t.same(parseExtraParams('{"stage":"test","replicas":2}'), { stage: 'test', replicas: 2 });
  t.throws(() => parseExtraParams('{"stage":'), { message: /^--extra-params: not JSON: /, exitCode: 2 });
  t.throws(() => parseExtraParams('[1]'), { message: '--extra-params takes a JSON object ({"name": value, …})' });
  t.throws(() => parseExtraParams('null'), { message: /JSON object/ });
});
