import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { writeFileIn } from './helpers/fixtures.js';
import { startMariadb } from './helpers/mariadb.js';

/*
 * The container's password never appears on any process's command line while
 * the mysql-database plugin works: a watcher reads /proc/PID/cmdline of every
 * process, over and over, during each operation.
 */

const PASSWORD = 'S3cret-pw_not-on-argv';
const db = await startMariadb(t, { adminPassword: PASSWORD });

interface Sighting {
  pid: string;
  args: string[];
}

/** Reads every process's command line until stopped; returns what it saw of the mysql client programs and any leak. */
function watchProcesses() {
  let running = true;
  const leaks: Sighting[] = [];
  const clients: Sighting[] = [];
  const optionFiles = new Map<string, { file: number; dir: number }>();
  let scans = 0;
  const loop = (async () => {
    while (running) {
      for (const pid of await readdir('/proc')) {
        if (!/^\d+$/.test(pid)) continue;
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmdline === '') continue;
        const args = cmdline.split('\0').slice(0, -1);
        if (cmdline.includes(PASSWORD)) leaks.push({ pid, args });
        if (args.some((arg) => /(^|\/)(mariadb|mariadb-dump|mysql|mysqldump)$/.test(arg))) {
          clients.push({ pid, args });
          const option = args.find((arg) => arg.startsWith('--defaults-file='))?.slice('--defaults-file='.length);
          if (option !== undefined && !optionFiles.has(option)) {
            const [file, dir] = await Promise.all([stat(option), stat(path.dirname(option))]).catch(() => [undefined, undefined]);
            if (file && dir) optionFiles.set(option, { file: file.mode & 0o777, dir: dir.mode & 0o777 });
          }
        }
      }
      scans += 1;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { leaks, clients, optionFiles, scans };
    },
  };
}

t.test('no password in any command line during activate, snapshot, restore, capture, deactivate, collect-garbage', async (t) => {
  const dir = await tempDir(t, 'dysnomia-mysql-pw-');
  const tmp = path.join(dir, 'tmp');
  const component = path.join(dir, 'components', 'payroll');
  // SLEEP keeps the client running long enough for the watcher to see it.
  await writeFileIn(path.join(component, 'mysql-databases/01-schema.sql'), 'CREATE TABLE pay (id INT, amount INT);\nDO SLEEP(1.5);\n');
  await writeFileIn(path.join(component, 'mysql-databases/02-data.sql'), 'INSERT INTO pay VALUES (1, 100);\nDO SLEEP(0.5);\n');
  await writeFileIn(path.join(tmp, '.keep'), '');
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'state'), TMPDIR: tmp };

  const watcher = watchProcesses();
  const results: Record<string, number> = {};
  for (const operation of ['activate', 'snapshot', 'restore', 'capture', 'deactivate', 'collect-garbage']) {
    const result = await dysnomia(['--operation', operation, '--component', component, '--container', db.containerFile, '--debug'], { env });
    results[operation] = result.code;
    t.notMatch(result.stdout + result.stderr, PASSWORD, `${operation}: the password is not in the output, even with --debug`);
  }
  const seen = await watcher.stop();

  t.same(results, { activate: 0, snapshot: 0, restore: 0, capture: 0, deactivate: 0, 'collect-garbage': 0 }, 'every operation succeeded');
  t.ok(seen.scans > 5, `the watcher scanned /proc ${seen.scans} times`);
  t.ok(seen.clients.length > 0, 'the watcher saw the mysql client running (so it could have seen a leak)');
  t.same(seen.leaks, [], 'no process had the password in its command line');
  t.ok(seen.optionFiles.size > 0, 'the client was given an option file');
  for (const [file, modes] of seen.optionFiles) {
    t.equal(modes.file, 0o600, `${file} is mode 0600`);
    t.equal(modes.dir, 0o700, `its folder is private (0700)`);
  }
  t.same((await readdir(tmp)).filter((name) => name !== '.keep'), [], 'the option files and dump folders are removed afterwards');
});
