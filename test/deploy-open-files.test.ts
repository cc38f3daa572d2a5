import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { BIN_DIR, NO_REGISTRY_ENV, tempDir } from './helpers/cli.js';

// A deployment's open files do not grow with the entries it sends: a coordinator that read the
// metadata of every missing entry at once ran out of file descriptors (EMFILE) with a large
// closure, or many targets at once, under the usual limit of 1,024 (here 120, with 400 entries).
const PACKAGES = 400;
const OPEN_FILES = 120;

t.test(`${PACKAGES} packages to one target with at most ${OPEN_FILES} open files`, async (t) => {
  const dir = await tempDir(t);
  const names = Array.from({ length: PACKAGES }, (_, i) => `p${i}`);
  for (const name of names) {
    await mkdir(path.join(dir, 'pkgs', name, 'bin'), { recursive: true });
    await writeFile(path.join(dir, 'pkgs', name, 'bin', name), `#!/bin/sh\necho ${name}\n`);
    await chmod(path.join(dir, 'pkgs', name, 'bin', name), 0o755);
  }
  const machine = path.join(dir, 'machine');
  await writeFile(path.join(dir, 'infrastructure.json'), JSON.stringify({ m: { clientInterface: 'local', properties: { hostname: 'localhost', stateDir: machine } } }));
  await writeFile(path.join(dir, 'packages.json'), JSON.stringify({ m: names.map((name) => `./pkgs/${name}`) }));

  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...NO_REGISTRY_ENV, DYSNOMIA_STATEDIR: path.join(dir, 'coordinator') };
  const command = ['/usr/bin/env', '-i', ...Object.entries(env).map(([key, value]) => `${key}=${value}`), process.execPath, path.join(BIN_DIR, 'dysnomia.js'), 'deploy', '-i', 'infrastructure.json', '-P', 'packages.json', '--json'];
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('/bin/sh', ['-c', `ulimit -n ${OPEN_FILES} && exec "$0" "$@"`, ...command], { cwd: dir, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
  t.equal(result.code, 0, result.stderr);
  const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event: string; entries?: number; ok?: boolean });
  t.equal(events.find((e) => e.event === 'transferred')?.entries, PACKAGES, 'every entry sent');
  t.equal(events.find((e) => e.event === 'done')?.ok, true);
  const stored = (await readdir(path.join(machine, 'store'))).filter((name) => /-p\d+$/.test(name));
  t.equal(stored.length, PACKAGES, 'every entry in the target\'s store');
});
