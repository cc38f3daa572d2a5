import { execFile } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
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

  // The packages part: deploy to a profile of this machine, redeploy, change, roll back.
  t.match(stdout, /Hello from the profile of [^\n]+!\nDeployed by Dysnomia\n/, 'both packages ran from the profile');
  t.match(stdout, /all 2 entries already there\n.*profile default unchanged \(target generation 1\)/s, 'the identical redeploy sent nothing and made no generation');
  t.match(stdout, /profile default at target generation 2\n.*A new message of the day\n/s, 'the changed package made generation 2');
  const profile = path.join(example, 'out/machine/profiles/default');
  t.equal(await readlink(profile), 'default-1-link', 'rollback made generation 1 current again');
  const motd = await run(path.join(profile, 'bin/motd'), []);
  t.equal(motd.stdout, 'Deployed by Dysnomia\n', "generation 1's program runs after the rollback");

  // The services part: the orchestrator on two in-process machines.
  t.match(stdout, /machine1: activate shelf in wrapper\n(.*\n)*?machine2: activate clock in process/, 'the shelf before the clock that depends on it');
  t.match(stdout, /stocked by [0-9a-z]{32}-shelf/, "the wrapper ran with its container's properties");
  t.match(stdout, /the clock on machine2 says \d\d:\d\d:\d\d/, 'the process ran on machine2');
  t.match(stdout, /== The same models again: nothing to do\n(.*\n)*?0 to deactivate, 0 to activate, 4 unchanged/);
  t.match(stdout, /== Move the clock[^\n]*\n(.*\n)*?1 to deactivate, 1 to activate, 3 unchanged/, 'only the clock moved');
  t.match(stdout, /the clock on machine1 says \d\d:\d\d:\d\d/);
  t.match(stdout, /4 to deactivate, 0 to activate, 0 unchanged/, 'undeploy deactivated everything');
  await t.rejects(readFile(path.join(example, 'out/machine1/shelf.txt')), 'the shelf was emptied');
  const ps = await run('ps', ['-eo', 'args']);
  t.notMatch(ps.stdout, /services\/clock|-clock\/bin\/clock/, 'no clock process is left running');
});
