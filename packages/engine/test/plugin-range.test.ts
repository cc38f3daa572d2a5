import { createRequire } from 'node:module';
import t from 'tap';
import { definePlugin, isEngineCompatible } from '../src/plugin.js';

const require = createRequire(import.meta.url);
const semverSatisfies = require('semver/functions/satisfies') as (v: string, r: string, o: object) => boolean;

t.test('engine ranges are decided as semver decides them (plain carets take a fast path)', async (t) => {
  const ranges = ['^1.0.0', '^1.2.0', '^1.2.3', '^2.0.0', '^0.1.0', '^0.0.3', '>=1.0.0', '1.x', '~1.2.0', '^1.0.0 || ^2.0.0', '*'];
  const versions = ['1.0.0', '1.2.2', '1.2.3', '1.3.0', '2.0.0', '0.1.5', '0.0.3', '1.0.0-rc.1', '10.0.0'];
  for (const range of ranges) {
    for (const version of versions) {
      t.equal(isEngineCompatible(range, version), semverSatisfies(version, range, { includePrerelease: true }), `${version} in ${range}`);
    }
  }
});

t.test('definePlugin still refuses a range that is not semver', async (t) => {
  const plugin = { type: 'x', engine: '^1.0', activate() {}, deactivate() {} };
  t.ok(definePlugin({ ...plugin, engine: '^1.0.0' }), 'a plain caret range is valid');
  t.ok(definePlugin(plugin), '^1.0 is a valid semver range too');
  t.throws(() => definePlugin({ ...plugin, engine: 'one point oh' }), { code: 'ERR_DYSNOMIA_INVALID_PLUGIN', message: /"engine" must be a semver range/ });
});
