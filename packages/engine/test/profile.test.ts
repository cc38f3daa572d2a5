import { execFile } from 'node:child_process';
import { lstat, lutimes, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { tempDir } from '../../../test/helpers/cli.js';
import { Profiles } from '../src/profiles/index.js';
import { component, Store } from '../src/store/index.js';

const run = promisify(execFile);

/** A store entry whose bin/<command> prints `output`, plus any extra files. */
function program(store: Store, name: string, command: string, output: string, extra: Record<string, string> = {}) {
  return store.add(
    component({
      name,
      inputs: { command, output, extra },
      async build(out, inputs) {
        const spec = inputs as { command: string; output: string; extra: Record<string, string> };
        await mkdir(path.join(out, 'bin'));
        await writeFile(path.join(out, 'bin', spec.command), `#!/bin/sh\necho '${spec.output}'\n`, { mode: 0o755 });
        for (const [file, text] of Object.entries(spec.extra)) {
          await mkdir(path.dirname(path.join(out, file)), { recursive: true });
          await writeFile(path.join(out, file), text);
        }
      },
    }),
  );
}

async function runFromProfile(stateDir: string, profile: string, command: string): Promise<string> {
  return (await run(path.join(stateDir, 'profiles', profile, 'bin', command))).stdout;
}

t.test('install, identical install, rollback, switch and delete generations; programs run from the profile', async (t) => {
  const stateDir = path.join(await tempDir(t), 'state');
  const store = Store.at(stateDir);
  const profiles = Profiles.at(stateDir);
  const hello1 = await program(store, 'hello-1', 'hello', 'hello version 1', { 'share/doc/hello/README': 'v1' });
  const hello2 = await program(store, 'hello-2', 'hello', 'hello version 2', { 'share/doc/hello/README': 'v2' });
  const tool = await program(store, 'tool', 'tool', 'the tool', { 'share/doc/tool/README': 'tool', 'etc/tool.conf': 'x=1' });

  t.same(await profiles.install('default', [hello1, tool]), { generation: 1, changed: true });
  t.equal(await runFromProfile(stateDir, 'default', 'hello'), 'hello version 1\n');
  t.equal(await runFromProfile(stateDir, 'default', 'tool'), 'the tool\n');
  t.same((await readdir(path.join(stateDir, 'profiles/default/share/doc'))).sort(), ['hello', 'tool'], 'share/doc of both packages merged');
  t.equal(await readlink(path.join(stateDir, 'profiles/default')), 'default-1-link');
  t.same(await profiles.install('default', [tool, store.path(hello1)]), { generation: 1, changed: false }, 'the same set in another order: no new generation');
  t.same(await profiles.generations('default').then((g) => g.map((x) => x.number)), [1]);

  t.same(await profiles.install('default', [hello2, tool]), { generation: 2, changed: true });
  t.equal(await runFromProfile(stateDir, 'default', 'hello'), 'hello version 2\n');
  t.same(await profiles.packages('default'), [hello2, tool].sort());
  const generation2 = (await profiles.generations('default'))[1]!;
  t.match(generation2, { number: 2, current: true, entry: /^[0-9a-z]{32}-profile$/ });
  t.same(await store.references(generation2.entry), [hello2, tool].sort(), 'a generation is a store entry referencing its packages');

  t.equal(await profiles.rollback('default'), 1);
  t.equal(await runFromProfile(stateDir, 'default', 'hello'), 'hello version 1\n', 'rollback brings back the previous programs');
  await t.rejects(profiles.rollback('default'), /no generation before 1/);
  await profiles.switchTo('default', 2);
  t.equal(await runFromProfile(stateDir, 'default', 'hello'), 'hello version 2\n');
  await t.rejects(profiles.switchTo('default', 7), /profile default has no generation 7 \(it has 1, 2\)/);

  t.same(await profiles.install('default', [hello1]), { generation: 3, changed: true });
  await t.rejects(profiles.deleteGenerations('default', [3]), /generation 3 is the current one/);
  t.same(await profiles.deleteGenerations('default', [1]), [1]);
  const old = path.join(stateDir, 'profiles/default-2-link');
  // The link's own time is the generation's creation time.
  await lutimes(old, new Date(Date.now() - 10 * 86_400_000), new Date(Date.now() - 10 * 86_400_000));
  t.same(await profiles.deleteGenerations('default', '30d'), [], 'nothing older than 30 days');
  t.same(await profiles.deleteGenerations('default', '7d'), [2]);
  t.same((await profiles.generations('default')).map((g) => [g.number, g.current]), [[3, true]]);
  t.same(await profiles.deleteGenerations('default', 'old'), [], 'the current generation stays');
  t.equal(await runFromProfile(stateDir, 'default', 'hello'), 'hello version 1\n');

  const collected = await store.collectGarbage();
  t.same(collected.removed.filter((e) => !e.endsWith('-profile')).sort(), [hello2, tool].sort(), 'packages of deleted generations are garbage');
  t.equal(await store.has(hello1), true, 'the current generation keeps its package');
  t.equal(await runFromProfile(stateDir, 'default', 'hello'), 'hello version 1\n');
});

t.test('two profiles are independent; a conflict names both packages and changes nothing', async (t) => {
  const stateDir = path.join(await tempDir(t), 'state');
  const store = Store.at(stateDir);
  const profiles = Profiles.at(stateDir);
  const a = await program(store, 'greeter-a', 'greet', 'from a');
  const b = await program(store, 'greeter-b', 'greet', 'from b');
  await profiles.install('default', [a]);
  await profiles.install('tools', [b]);
  await profiles.install('tools', [b, await program(store, 'other', 'other', 'other')]);
  t.same(await profiles.list(), ['default', 'tools']);
  t.equal(await runFromProfile(stateDir, 'default', 'greet'), 'from a\n');
  t.equal(await runFromProfile(stateDir, 'tools', 'greet'), 'from b\n');
  t.same((await profiles.generations('default')).map((g) => g.number), [1]);
  t.same((await profiles.generations('tools')).map((g) => g.number), [1, 2]);
  await profiles.rollback('tools');
  t.same((await profiles.generations('default')).map((g) => [g.number, g.current]), [[1, true]], 'rolling back tools leaves default alone');

  await t.rejects(profiles.install('default', [a, b]), new RegExp(`bin/greet is provided by both ${a} and ${b}`));
  t.same((await profiles.generations('default')).map((g) => [g.number, g.current]), [[1, true]], 'no new generation after a conflict');
  t.equal(await runFromProfile(stateDir, 'default', 'greet'), 'from a\n');

  for (const bad of ['', 'a/b', '..', '.hidden', 'x-3-link']) {
    await t.rejects(profiles.install(bad, [a]), /invalid profile name/, JSON.stringify(bad));
  }
  await t.rejects(profiles.install('default', ['/etc']), /not a store entry: '\/etc'/);
  await t.rejects(profiles.install('default', [`${'0'.repeat(32)}-gone`]), /not in the store/);
  t.equal((await lstat(path.join(stateDir, 'profiles/default'))).isSymbolicLink(), true);
});

t.test('an npm package from a local tarball: installed with its dependencies, its command runs from the profile', async (t) => {
  const dir = await tempDir(t);
  const stateDir = path.join(dir, 'state');
  await mkdir(path.join(dir, 'greeting'));
  await writeFile(path.join(dir, 'greeting/package.json'), JSON.stringify({ name: 'greeting-lib', version: '2.0.0', main: 'index.js' }));
  await writeFile(path.join(dir, 'greeting/index.js'), 'module.exports = (who) => `hello, ${who}!`;\n');
  await run('npm', ['pack', '--pack-destination', dir], { cwd: path.join(dir, 'greeting') });
  await mkdir(path.join(dir, 'hello'));
  await writeFile(
    path.join(dir, 'hello/package.json'),
    JSON.stringify({
      name: '@demo/hello-npm',
      version: '1.2.3',
      bin: { 'hello-npm': 'cli.js' },
      dependencies: { 'greeting-lib': `file:${path.join(dir, 'greeting-lib-2.0.0.tgz')}` },
      devDependencies: { 'not-installed-dev-dependency': `file:${path.join(dir, 'missing.tgz')}` },
    }),
  );
  await writeFile(path.join(dir, 'hello/cli.js'), '#!/usr/bin/env node\nconsole.log(require("greeting-lib")(process.argv[2] || "world"));\n');
  await run('npm', ['pack', '--pack-destination', dir], { cwd: path.join(dir, 'hello') });

  const store = Store.at(stateDir);
  const tarball = path.join(dir, 'demo-hello-npm-1.2.3.tgz');
  const entry = await store.add(`npm:${tarball}`);
  t.match(entry, /^[0-9a-z]{32}-demo-hello-npm-1\.2\.3$/);
  t.equal((await run(path.join(store.path(entry), 'bin/hello-npm'), ['store'])).stdout, 'hello, store!\n');
  // An npm on PATH that only says it was called: the cached entry must not need it.
  const fakeBin = path.join(dir, 'fake-bin');
  const npmCalls = path.join(dir, 'npm-calls');
  await mkdir(fakeBin);
  await writeFile(path.join(fakeBin, 'npm'), `#!/bin/sh\necho "$*" >> '${npmCalls}'\nexit 1\n`, { mode: 0o755 });
  const realPath = process.env.PATH;
  process.env.PATH = `${fakeBin}:${realPath}`;
  try {
    t.equal(await store.add(`npm:${tarball}`), entry, 'the same tarball again: the cached entry');
  } finally {
    process.env.PATH = realPath;
  }
  t.equal(await readFile(npmCalls, 'utf8').catch(() => 'not called'), 'not called', 'without running npm again');
  t.equal(await store.add(`npm:${path.relative(dir, tarball)}`, { cwd: dir }), entry, 'a relative tarball path, from cwd');
  t.equal(await store.add(`npm:${path.join(dir, 'hello')}`), entry, 'npm:FOLDER packs it: the same contents, the same entry');

  await Profiles.at(stateDir).install('default', [entry]);
  t.equal(await runFromProfile(stateDir, 'default', 'hello-npm'), 'hello, world!\n');
  t.equal(await store.verify(entry), true);
  await t.rejects(store.add(`npm:${path.join(dir, 'missing.tgz')}`), /no such tarball/);
});
