import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { RECORDER_MODULE, writeExecutable, writeFileIn } from './helpers/fixtures.js';

/** A plugin that serves no operation of its own use here but taps the engine's hooks. */
const GUARD_PLUGIN = `export default {
  type: 'change-window',
  engine: '^1.0.0',
  meta: { name: 'dysnomia-plugin-change-window' },
  activate() {},
  deactivate() {},
  apply(hooks) {
    hooks.beforeOperation.tapPromise('change-window', async (ctx) => {
      if (ctx.container.properties.frozen === 'yes') throw new Error('container ' + ctx.container.name + ' is frozen');
    });
    hooks.resolveContainer.tap({ name: 'inline-containers', stage: -1 }, (request) =>
      request.container.startsWith('inline:')
        ? { name: request.container.slice(7), properties: { type: 'recorder', recordTo: process.env.HOME + '/inline' }, argument: request.container }
        : undefined,
    );
  },
};
`;

t.test('hooks tapped by a plugin the config lists: a veto names the tap and the hook; a container from a tap', async (t) => {
  const dir = await tempDir(t);
  await writeFileIn(path.join(dir, 'guard.mjs'), GUARD_PLUGIN);
  await writeFileIn(path.join(dir, 'dysnomia.config.json'), JSON.stringify({ plugins: ['./guard.mjs'], modulesPath: ['modules'], stateDir: 'state' }));
  await writeExecutable(path.join(dir, 'modules/recorder'), RECORDER_MODULE);
  const record = path.join(dir, 'record');
  await writeFileIn(path.join(dir, 'frozen'), `type=recorder\nrecordTo=${record}\nfrozen=yes\n`);

  const vetoed = await dysnomia(['activate', '-c', dir, '-C', './frozen'], { cwd: dir });
  t.equal(vetoed.code, 1);
  t.equal(vetoed.stderr, 'dysnomia: error: plugin "dysnomia-plugin-change-window" (tap "change-window") failed in hook beforeOperation: container frozen is frozen\n');
  t.notOk(existsSync(`${record}.args`), 'the module did not run');

  const inline = await dysnomia(['activate', '-c', dir, '-C', 'inline:virtual'], { cwd: dir, env: { HOME: dir } });
  t.equal(inline.code, 0, inline.stderr);
  t.ok(existsSync(path.join(dir, 'inline.args')), 'the container a tap provided was used');
});
