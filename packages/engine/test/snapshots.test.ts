import t from 'tap';
import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { runCommand, tempDir } from '../../../test/helpers/cli.js';
import { computeOutputHash } from '../src/snapshots/hash.js';
import { storeSnapshot } from '../src/snapshots/store.js';

const snapshots = (args: string[], env: Record<string, string>, cwd?: string) =>
  runCommand('dysnomia-snapshots', args, cwd === undefined ? { env } : { env, cwd });

/** A snapshot folder in Dysnomia's layout, with one file per entry of `files`. */
async function makeSnapshot(root: string, container: string, component: string, id: string, files: Record<string, string> = { 'dump.sql': id }): Promise<string> {
  const dir = path.join(root, 'snapshots', container, component, id);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  return dir;
}

/** Generation N as Dysnomia's createGenerationSymlink makes it (relative link), plus its checksum file. */
async function makeGeneration(root: string, container: string, component: string, generation: number, id: string): Promise<void> {
  const dir = path.join(root, 'generations', container, component);
  await mkdir(dir, { recursive: true });
  await symlink(`../../../snapshots/${container}/${component}/${id}`, path.join(dir, String(generation)));
  const checksums = path.join(root, 'checksums', container, component);
  await mkdir(checksums, { recursive: true });
  await writeFile(path.join(checksums, id), await computeOutputHash(path.join(root, 'snapshots', container, component, id)));
}

/**
 * mysql-production/testdb: generations 1 → aaa, 2 → bbb, 10 → ccc (10 is the
 * latest: numeric, not lexical order); mysql-production/otherdb: 1 → ddd;
 * postgresql/testdb: 1 → eee.
 */
async function fixture(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const root = path.join(await tempDir(t), 'state');
  for (const id of ['aaa', 'bbb', 'ccc']) await makeSnapshot(root, 'mysql-production', 'testdb', id);
  await makeGeneration(root, 'mysql-production', 'testdb', 1, 'aaa');
  await makeGeneration(root, 'mysql-production', 'testdb', 2, 'bbb');
  await makeGeneration(root, 'mysql-production', 'testdb', 10, 'ccc');
  await makeSnapshot(root, 'mysql-production', 'otherdb', 'ddd');
  await makeGeneration(root, 'mysql-production', 'otherdb', 1, 'ddd');
  await makeSnapshot(root, 'postgresql', 'testdb', 'eee');
  await makeGeneration(root, 'postgresql', 'testdb', 1, 'eee');
  return root;
}

async function names(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

t.test('--query-all lists the snapshot of every generation, per component in generation order', async (t) => {
  const root = await fixture(t);
  const r = await snapshots(['--query-all'], { DYSNOMIA_STATEDIR: root });
  t.equal(r.code, 0, r.stderr);
  t.equal(
    r.stdout,
    [
      'mysql-production/otherdb/ddd',
      'mysql-production/testdb/aaa',
      'mysql-production/testdb/bbb',
      'mysql-production/testdb/ccc',
      'postgresql/testdb/eee',
      '',
    ].join('\n'),
  );
  t.equal(r.stderr, '');
});

t.test('--query-latest prints the snapshot of the highest generation of each component', async (t) => {
  const root = await fixture(t);
  const r = await snapshots(['--query-latest'], { DYSNOMIA_STATEDIR: root });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'mysql-production/otherdb/ddd\nmysql-production/testdb/ccc\npostgresql/testdb/eee\n');
});

t.test('-C and -c restrict the queries; a path stands for its last segment', async (t) => {
  const root = await fixture(t);
  const env = { DYSNOMIA_STATEDIR: root };

  const byContainer = await snapshots(['--query-latest', '-C', 'mysql-production'], env);
  t.equal(byContainer.stdout, 'mysql-production/otherdb/ddd\nmysql-production/testdb/ccc\n');

  const byComponent = await snapshots(['--query-latest', '-c', 'testdb'], env);
  t.equal(byComponent.stdout, 'mysql-production/testdb/ccc\npostgresql/testdb/eee\n');

  const both = await snapshots(['--query-all', '--container', '/etc/dysnomia/containers/mysql-production', '--component=/home/me/testdb'], env);
  t.equal(both.code, 0, both.stderr);
  t.equal(both.stdout, 'mysql-production/testdb/aaa\nmysql-production/testdb/bbb\nmysql-production/testdb/ccc\n');

  const nixStorePath = await snapshots(['--query-latest', '-C', 'postgresql', '-c', '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-testdb'], env);
  t.equal(nixStorePath.stdout, 'postgresql/testdb/eee\n', 'the hash prefix of a Nix store path is stripped');

  const unknown = await snapshots(['--query-all', '-C', 'nosuchcontainer'], env);
  t.equal(unknown.code, 0);
  t.equal(unknown.stdout, '');
});

t.test('--query-all lists a snapshot that several generations link to once', async (t) => {
  const root = await fixture(t);
  await makeGeneration(root, 'postgresql', 'testdb', 2, 'eee');
  await makeSnapshot(root, 'postgresql', 'testdb', 'fff');
  await makeGeneration(root, 'postgresql', 'testdb', 3, 'fff');
  await makeGeneration(root, 'postgresql', 'testdb', 4, 'eee');
  const r = await snapshots(['--query-all', '-C', 'postgresql'], { DYSNOMIA_STATEDIR: root });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'postgresql/testdb/eee\npostgresql/testdb/fff\n');
  const latest = await snapshots(['--query-latest', '-C', 'postgresql'], { DYSNOMIA_STATEDIR: root });
  t.equal(latest.stdout, 'postgresql/testdb/eee\n', 'generation 4 links back to eee');
});

t.test('queries of an empty state folder print nothing', async (t) => {
  const root = path.join(await tempDir(t), 'empty');
  const all = await snapshots(['--query-all'], { DYSNOMIA_STATEDIR: root });
  t.equal(all.code, 0, all.stderr);
  t.equal(all.stdout, '');
  const latest = await snapshots(['--query-latest'], { DYSNOMIA_STATEDIR: root });
  t.equal(latest.code, 0, latest.stderr);
  t.equal(latest.stdout, '');
});

t.test('--resolve prints absolute paths, even for a relative DYSNOMIA_STATEDIR', async (t) => {
  const dir = await tempDir(t);
  const r = await snapshots(['--resolve', 'mysql-production/testdb/aaa', 'postgresql/testdb/eee'], { DYSNOMIA_STATEDIR: 'state' }, dir);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `${path.join(dir, 'state/snapshots/mysql-production/testdb/aaa')}\n${path.join(dir, 'state/snapshots/postgresql/testdb/eee')}\n`);

  const escaping = await snapshots(['--resolve', '../../etc/passwd'], { DYSNOMIA_STATEDIR: 'state' }, dir);
  t.equal(escaping.code, 2);
  t.equal(escaping.stdout, '');
  t.match(escaping.stderr, /\.\.\/\.\.\/etc\/passwd/);
});

t.test('--print-missing prints the given paths that are not in the snapshots folder', async (t) => {
  const root = await fixture(t);
  const r = await snapshots(
    ['--print-missing', 'mysql-production/testdb/aaa', 'mysql-production/testdb/zzz', 'postgresql/testdb/eee', 'postgresql/newdb/yyy'],
    { DYSNOMIA_STATEDIR: root },
  );
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'mysql-production/testdb/zzz\npostgresql/newdb/yyy\n');

  const none = await snapshots(['--print-missing'], { DYSNOMIA_STATEDIR: root });
  t.equal(none.code, 0);
  t.equal(none.stdout, '');
});

t.test('--import copies a snapshot in as the next generation, once', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'state');
  const id = '330232eda02b77c3629a4623b498855c';
  const source = path.join(dir, 'incoming', id);
  await mkdir(path.join(source, 'sub'), { recursive: true });
  await writeFile(path.join(source, 'dump.sql'), 'create table t (x int);\n');
  await writeFile(path.join(source, 'sub', 'extra'), 'more');
  const env = { DYSNOMIA_STATEDIR: root };

  const first = await snapshots(['--import', '-C', 'mysql-production', '-c', 'testdb', source], env);
  t.equal(first.code, 0, first.stderr);
  t.equal(first.stdout, `mysql-production/testdb/${id}\n`);
  const stored = path.join(root, 'snapshots/mysql-production/testdb', id);
  t.equal(await readFile(path.join(stored, 'dump.sql'), 'utf8'), 'create table t (x int);\n');
  t.equal(await readFile(path.join(stored, 'sub/extra'), 'utf8'), 'more');
  t.ok((await lstat(source)).isDirectory(), 'the source is copied, not moved');
  t.same(await names(path.join(root, 'generations/mysql-production/testdb')), ['1']);
  t.equal(await readlink(path.join(root, 'generations/mysql-production/testdb/1')), `../../../snapshots/mysql-production/testdb/${id}`);
  t.equal(await readFile(path.join(root, 'checksums/mysql-production/testdb', id), 'utf8'), await computeOutputHash(source));
  t.same(await names(path.join(root, 'snapshots/mysql-production/testdb')), [id], 'no temporary folder is left behind');

  const again = await snapshots(['--import', '-C', 'mysql-production', '-c', 'testdb', source], env);
  t.equal(again.code, 0, again.stderr);
  t.equal(again.stdout, `mysql-production/testdb/${id}\n`);
  t.same(await names(path.join(root, 'generations/mysql-production/testdb')), ['1'], 'no second generation');
  t.same(await names(path.join(root, 'snapshots/mysql-production/testdb')), [id], 'no second copy');

  const elsewhere = path.join(dir, 'elsewhere', id);
  await mkdir(path.join(elsewhere, 'sub'), { recursive: true });
  await writeFile(path.join(elsewhere, 'dump.sql'), 'create table t (x int);\n');
  await writeFile(path.join(elsewhere, 'sub', 'extra'), 'more');
  const sameContent = await snapshots(['--import', '-C', 'mysql-production', '-c', 'testdb', elsewhere], env);
  t.equal(sameContent.code, 0, sameContent.stderr);
  t.same(await names(path.join(root, 'generations/mysql-production/testdb')), ['1'], 'same id and contents from another place: still one generation');

  const query = await snapshots(['--query-all'], env);
  t.equal(query.stdout, `mysql-production/testdb/${id}\n`);
});

t.test('--import of an id stored with other contents fails and changes nothing', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'state');
  await makeSnapshot(root, 'mysql-production', 'testdb', 'abc', { 'dump.sql': 'original' });
  await makeGeneration(root, 'mysql-production', 'testdb', 1, 'abc');
  const source = path.join(dir, 'incoming', 'abc');
  await mkdir(source, { recursive: true });
  await writeFile(path.join(source, 'dump.sql'), 'different');

  const r = await snapshots(['--import', '-C', 'mysql-production', '-c', 'testdb', source], { DYSNOMIA_STATEDIR: root });
  t.equal(r.code, 1);
  t.match(r.stderr, /mysql-production\/testdb\/abc is already stored with other contents/);
  t.equal(await readFile(path.join(root, 'snapshots/mysql-production/testdb/abc/dump.sql'), 'utf8'), 'original');
  t.same(await names(path.join(root, 'generations/mysql-production/testdb')), ['1']);
});

t.test('--import needs -C and -c', async (t) => {
  const dir = await tempDir(t);
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'state') };
  const noContainer = await snapshots(['--import', '-c', 'testdb', dir], env);
  t.equal(noContainer.code, 2);
  t.match(noContainer.stderr, /--import needs the container/);
  const noComponent = await snapshots(['--import', '-C', 'mysql-production', dir], env);
  t.equal(noComponent.code, 2);
  t.match(noComponent.stderr, /--import needs the component/);
  t.same(await names(path.join(dir, 'state')), [], 'nothing was written');
});

t.test('--check verifies snapshots against their recorded checksums', async (t) => {
  const root = await fixture(t);
  const env = { DYSNOMIA_STATEDIR: root };

  const clean = await snapshots(['--check'], env);
  t.equal(clean.code, 0, clean.stderr);
  t.equal(clean.stdout, '');
  t.equal(clean.stderr, '');

  await writeFile(path.join(root, 'snapshots/mysql-production/testdb/bbb/dump.sql'), 'tampered');
  const damaged = await snapshots(['--check'], env);
  t.equal(damaged.code, 1);
  t.equal(damaged.stdout, 'mysql-production/testdb/bbb\n');
  t.match(damaged.stderr, /^mysql-production\/testdb\/bbb: checksum mismatch: recorded sha256:[0-9a-f]{64}, contents have sha256:[0-9a-f]{64}\n$/);

  const filtered = await snapshots(['--check', '-C', 'postgresql'], env);
  t.equal(filtered.code, 0, 'only the selected container is checked');
  t.equal(filtered.stdout, '');

  const given = await snapshots(['--check', 'mysql-production/testdb/aaa', 'mysql-production/testdb/nope'], env);
  t.equal(given.code, 1);
  t.equal(given.stdout, 'mysql-production/testdb/nope\n');
  t.match(given.stderr, /mysql-production\/testdb\/nope: the snapshot does not exist/);

  await makeSnapshot(root, 'postgresql', 'testdb', 'unrecorded');
  const noChecksum = await snapshots(['--check', 'postgresql/testdb/unrecorded'], env);
  t.equal(noChecksum.code, 1);
  t.equal(noChecksum.stdout, 'postgresql/testdb/unrecorded\n');
  t.match(noChecksum.stderr, /no checksum is recorded/);
});

t.test('checksums are Dysnomia\'s computeOutputHash (serializeDirectory | sha256sum)', async (t) => {
  const dir = await tempDir(t);
  const snapshot = path.join(dir, 'snap');
  await mkdir(path.join(snapshot, 'b'), { recursive: true });
  await writeFile(path.join(snapshot, 'a.sql'), 'one\n');
  await writeFile(path.join(snapshot, 'b', 'c'), 'two');
  const script = 'cd "$1" && { find . | LC_ALL=C sort; echo; find . -type f | LC_ALL=C sort | while read f; do cat "$f"; done; } | sha256sum';
  const { stdout } = await promisify(execFile)('bash', ['-c', script, 'bash', snapshot]);
  t.equal(await computeOutputHash(snapshot), `sha256:${stdout.slice(0, 64)}`);
  const file = await promisify(execFile)('sha256sum', [path.join(snapshot, 'a.sql')]);
  t.equal(await computeOutputHash(path.join(snapshot, 'a.sql')), `sha256:${file.stdout.slice(0, 64)}`);
});

t.test('--gc --keep 1 removes older generations and the snapshots they linked to', async (t) => {
  const root = await fixture(t);
  const env = { DYSNOMIA_STATEDIR: root };
  const r = await snapshots(['--gc', '--keep', '1'], env);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '');
  t.equal(
    r.stderr,
    [
      'Removing old generation symlink: mysql-production/testdb/1',
      'Removing old generation symlink: mysql-production/testdb/2',
      'Removing old snapshot: mysql-production/testdb/aaa',
      'Removing old snapshot: mysql-production/testdb/bbb',
      '',
    ].join('\n'),
  );
  t.same(await names(path.join(root, 'generations/mysql-production/testdb')), ['10']);
  t.same(await names(path.join(root, 'snapshots/mysql-production/testdb')), ['ccc']);
  t.same(await names(path.join(root, 'checksums/mysql-production/testdb')), ['ccc']);
  t.same(await names(path.join(root, 'snapshots/mysql-production/otherdb')), ['ddd'], 'a component with one generation is left alone');
  const all = await snapshots(['--query-all'], env);
  t.equal(all.stdout, 'mysql-production/otherdb/ddd\nmysql-production/testdb/ccc\npostgresql/testdb/eee\n');
});

t.test('--gc keeps --keep generations (default 1) and honours -C', async (t) => {
  const root = await fixture(t);
  const env = { DYSNOMIA_STATEDIR: root };
  const two = await snapshots(['--gc', '--keep=2'], env);
  t.equal(two.code, 0, two.stderr);
  t.same(await names(path.join(root, 'generations/mysql-production/testdb')), ['10', '2']);
  t.same(await names(path.join(root, 'snapshots/mysql-production/testdb')), ['bbb', 'ccc']);

  const otherContainer = await snapshots(['--gc', '-C', 'postgresql'], env);
  t.equal(otherContainer.code, 0, otherContainer.stderr);
  t.same(await names(path.join(root, 'generations/mysql-production/testdb')), ['10', '2'], '-C postgresql leaves mysql-production alone');

  const byDefault = await snapshots(['--gc'], env);
  t.equal(byDefault.code, 0, byDefault.stderr);
  t.same(await names(path.join(root, 'generations/mysql-production/testdb')), ['10']);
  t.same(await names(path.join(root, 'snapshots/mysql-production/testdb')), ['ccc']);

  const bad = await snapshots(['--gc', '--keep', 'many'], env);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--keep takes a whole number/);
});

t.test('bad usage exits with 2, names the argument and prints no stack trace', async (t) => {
  const env = { DYSNOMIA_STATEDIR: path.join(await tempDir(t), 'state') };
  const unknown = await snapshots(['--query-all', '--bogus'], env);
  t.equal(unknown.code, 2);
  t.equal(unknown.stdout, '');
  t.match(unknown.stderr, /--bogus/);
  t.notMatch(unknown.stderr, /\n\s+at /, 'no stack trace');

  const none = await snapshots([], env);
  t.equal(none.code, 2);
  t.match(none.stderr, /no operation given/);

  const two = await snapshots(['--query-all', '--gc'], env);
  t.equal(two.code, 2);
  t.match(two.stderr, /--query-all and --gc/);

  const stray = await snapshots(['--query-latest', 'stray'], env);
  t.equal(stray.code, 2);
  t.match(stray.stderr, /stray/);

  const keepAlone = await snapshots(['--query-all', '--keep', '3'], env);
  t.equal(keepAlone.code, 2);
  t.match(keepAlone.stderr, /--keep only applies to --gc/);
});

t.test('--help names every option and environment variable; --version names the command', async (t) => {
  const help = await snapshots(['--help'], {});
  t.equal(help.code, 0);
  for (const option of ['--query-all', '--query-latest', '--check', '--print-missing', '--resolve', '--import', '--gc', '--keep', '-C, --container', '-c, --component', '-h, --help', '-v, --version', '--debug', 'DYSNOMIA_STATEDIR', 'NIX_STORE_DIR']) {
    t.ok(help.stdout.includes(option), `help mentions ${option}`);
  }
  const version = await snapshots(['-v'], {});
  t.equal(version.code, 0);
  t.match(version.stdout, /^dysnomia-snapshots \(@dysnomia\/engine \d+\.\d+\.\d+/);
});

t.test('dysnomia snapshots runs the same command', async (t) => {
  const root = await fixture(t);
  const r = await runCommand('dysnomia', ['snapshots', '--query-latest', '-c', 'otherdb'], { env: { DYSNOMIA_STATEDIR: root } });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'mysql-production/otherdb/ddd\n');
});

t.test('storeSnapshot names snapshots by content and makes a generation only for new content', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'state');
  const source = path.join(dir, 'dump');
  await mkdir(source);
  await writeFile(path.join(source, 'dump.sql'), 'insert into t values (1);\n');
  const generations = path.join(root, 'generations/mysql-production/testdb');
  const snapshotsOf = path.join(root, 'snapshots/mysql-production/testdb');

  const first = await storeSnapshot(root, 'mysql-production', 'testdb', source);
  const firstHash = await computeOutputHash(source);
  t.equal(first.id, firstHash.slice('sha256:'.length), 'the id is the content hash');
  t.equal(first.relativePath, `mysql-production/testdb/${first.id}`);
  t.equal(first.generation, 1);
  t.equal(first.createdGeneration, true);
  t.equal(first.copied, true);
  t.equal(await readFile(path.join(first.path, 'dump.sql'), 'utf8'), 'insert into t values (1);\n');
  t.equal(await readFile(path.join(root, 'checksums/mysql-production/testdb', first.id), 'utf8'), firstHash);

  const same = await storeSnapshot(root, 'mysql-production', 'testdb', source);
  t.equal(same.id, first.id);
  t.equal(same.generation, 1);
  t.equal(same.createdGeneration, false);
  t.equal(same.copied, false);
  t.same(await names(generations), ['1'], 'identical content: still one generation');
  t.same(await names(snapshotsOf), [first.id], 'and one snapshot, no temporary folder left');

  await writeFile(path.join(source, 'dump.sql'), 'insert into t values (2);\n');
  const changed = await storeSnapshot(root, 'mysql-production', 'testdb', source);
  t.not(changed.id, first.id);
  t.equal(changed.generation, 2);
  t.equal(changed.createdGeneration, true);
  t.same(await names(generations), ['1', '2'], 'changed content: two generations');
  t.same(await names(snapshotsOf), [first.id, changed.id].sort());
  t.equal(await readlink(path.join(generations, '2')), `../../../snapshots/mysql-production/testdb/${changed.id}`);

  const latest = await snapshots(['--query-latest'], { DYSNOMIA_STATEDIR: root });
  t.equal(latest.stdout, `mysql-production/testdb/${changed.id}\n`);
  const check = await snapshots(['--check'], { DYSNOMIA_STATEDIR: root });
  t.equal(check.code, 0, check.stderr);

  await writeFile(path.join(source, 'dump.sql'), 'insert into t values (1);\n');
  const back = await storeSnapshot(root, 'mysql-production', 'testdb', source);
  t.equal(back.id, first.id);
  t.equal(back.generation, 3, 'going back to older content is a new generation, as in Dysnomia');
  t.equal(back.copied, false, 'reusing the stored snapshot');
  t.same(await names(snapshotsOf), [first.id, changed.id].sort());

  await t.rejects(storeSnapshot(root, 'mysql-production', 'testdb', path.join(dir, 'nope')), { code: 'ERR_DYSNOMIA_INPUT' });
  await t.rejects(storeSnapshot(root, '../escape', 'testdb', source), { code: 'ERR_DYSNOMIA_INPUT' });
});

t.test('a snapshot (a database dump) is readable by its owner only: files 0600, folders 0700, also under folders an earlier version made 0755', async (t) => {
  const dir = await tempDir(t, 'dysnomia-snapshot-modes-');
  const root = path.join(dir, 'state');
  await mkdir(path.join(root, 'snapshots/mysql-production'), { recursive: true, mode: 0o755 });
  const source = path.join(dir, 'dump');
  await mkdir(path.join(source, 'more'), { recursive: true });
  await writeFile(path.join(source, 'dump.sql'), 'INSERT INTO staff VALUES (1, "Ada");\n', { mode: 0o644 });
  await writeFile(path.join(source, 'more/notes'), 'x\n', { mode: 0o644 });
  const stored = await storeSnapshot(root, 'mysql-production', 'staff', source);
  const mode = async (p: string) => (await lstat(p)).mode & 0o777;
  t.equal(await mode(path.join(stored.path, 'dump.sql')), 0o600);
  t.equal(await mode(path.join(stored.path, 'more/notes')), 0o600);
  t.equal(await mode(path.join(stored.path, 'more')), 0o700);
  t.equal(await mode(stored.path), 0o700);
  for (const folder of ['snapshots', 'snapshots/mysql-production', 'snapshots/mysql-production/staff']) t.equal(await mode(path.join(root, folder)), 0o700, folder);
  t.equal(await mode(path.join(source, 'dump.sql')), 0o644, 'the source is left as it is');
});
