import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { REPO_ROOT } from './helpers/cli.js';

const run = promisify(execFile);

t.test("README's main job: the local example deployment runs end to end", async (t) => {
  const example = path.join(REPO_ROOT, 'examples/hello-local');
  const { stdout } = await run('bash', [path.join(example, 'run.sh')], { env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  t.match(stdout, 'out/www/greeter.txt: Hello from the greeter component.');
  t.match(stdout, /www\/farewell\nwww\/greeter\n/, 'both components were activated');
  t.match(stdout, /activate greeter in journal for Example Operator/, 'the executable module got its container properties');
  t.same(await readdir(path.join(example, 'out/www')), ['greeter.txt'], 'farewell was deactivated, greeter is still deployed');
  t.equal(await readFile(path.join(example, 'out/www/greeter.txt'), 'utf8'), 'Hello from the greeter component.\n');
  t.same(await readdir(path.join(example, 'out/state/garbage/www')), [], 'garbage collected');
  t.match(await readFile(path.join(example, 'out/journal.log'), 'utf8'), /activate greeter in journal[^\n]*\n.*deactivate greeter in journal/s);
});
