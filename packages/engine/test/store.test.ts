import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import t from 'tap';
import { Header } from 'tar';
import { tempDir } from '../../../test/helpers/cli.js';
import { Profiles } from '../src/profiles/index.js';
import { component, Store } from '../src/store/index.js';
import { exportArchive } from '../src/store/archive.js';
import { extractTar } from '../src/store/safe-extract.js';

const run = promisify(execFile);

/** A folder with an executable, a plain file and a relative link. */
async function makePackage(dir: string, greeting = 'hello'): Promise<string> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  await mkdir(path.join(dir, 'share/doc'), { recursive: true });
  await writeFile(path.join(dir, 'bin/greet'), `#!/bin/sh\necho ${greeting}\n`, { mode: 0o755 });
  await writeFile(path.join(dir, 'share/doc/README'), 'a package\n');
  await symlink('../share/doc/README', path.join(dir, 'bin/readme'));
  return dir;
}

/** A tar archive written block by block, so it can hold what tar tools refuse to write (`../x`, `/etc/x`). */
function rawTar(entries: Array<{ path: string; type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link'; body?: string; linkpath?: string; mode?: number }>): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const type = entry.type ?? 'File';
    const header = new Header({ path: entry.path, type, size: type === 'File' ? body.length : 0, mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o644), mtime: new Date(0), ...(entry.linkpath ? { linkpath: entry.linkpath } : {}) });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** What a store folder holds besides its entries: .meta, and no temporary folder once work is done. */
async function storeListing(store: Store): Promise<{ entries: string[]; temporary: string[] }> {
  const names = await readdir(store.dir).catch(() => [] as string[]);
  return { entries: names.filter((n) => !n.startsWith('.')), temporary: names.filter((n) => n.startsWith('.tmp-')) };
}

t.test('a folder: one entry for the same contents, another when one byte changes; read-only, with metadata', async (t) => {
  const dir = await tempDir(t);
  const store = Store.at(path.join(dir, 'state'));
  const source = await makePackage(path.join(dir, 'pkg'));
  const first = await store.add(source);
  const again = await store.add(source);
  t.match(first, /^[0-9a-z]{32}-pkg$/);
  t.equal(again, first, 'the same contents give the same entry');
  t.same((await storeListing(store)).entries, [first]);
  t.equal(store.path(first), path.join(dir, 'state/store', first));
  t.equal(await readlink(path.join(store.path(first), 'bin/readme')), '../share/doc/README', 'links are copied as links');
  t.equal((await stat(path.join(store.path(first), 'bin/greet'))).mode & 0o777, 0o555);
  t.equal((await stat(path.join(store.path(first), 'share/doc/README'))).mode & 0o777, 0o444);
  t.equal((await stat(store.path(first))).mode & 0o777, 0o555);
  const meta = JSON.parse(await readFile(path.join(store.dir, '.meta', `${first}.json`), 'utf8')) as Record<string, unknown>;
  t.match(meta, { entry: first, references: [], size: 'a package\n'.length + '#!/bin/sh\necho hello\n'.length, sha256: /^sha256:[0-9a-f]{64}$/ });
  t.equal(await store.verify(first), true);
  t.same(await store.missing([first, `${'0'.repeat(32)}-nothing`]), [`${'0'.repeat(32)}-nothing`]);

  await writeFile(path.join(source, 'share/doc/README'), 'a packagE\n');
  const changed = await store.add(source);
  t.not(changed, first, 'one byte more or less is another entry');
  await chmod(path.join(source, 'share/doc/README'), 0o755);
  t.not(await store.add(source), changed, 'the executable bit counts');
  t.not(await store.add(source, { name: 'other' }), changed, 'the name counts');
  t.same((await storeListing(store)).temporary, [], 'no temporary folder is left');

  await chmod(path.join(store.path(first), 'share/doc'), 0o755);
  await chmod(path.join(store.path(first), 'share/doc/README'), 0o644);
  await writeFile(path.join(store.path(first), 'share/doc/README'), 'edited in place\n');
  t.equal(await store.verify(first), false, 'an entry edited in place fails verification');
  t.equal(await store.add(store.path(first)), first, 'adding an entry of this store is that entry');
  await symlink(source, path.join(dir, 'link-to-pkg'));
  t.equal(await store.add(path.join(dir, 'link-to-pkg'), { name: 'pkg' }), await store.add(source), 'a folder given through a link is the folder');
});

t.test('only a path that is not there makes an entry absent: any other read error is said as itself, never as "not in the store"', async (t) => {
  const dir = await tempDir(t);
  const store = Store.at(path.join(dir, 'state'));
  const entry = await store.add(await makePackage(path.join(dir, 'pkg')));
  const absent = `${'0'.repeat(32)}-nothing`;
  t.equal(await store.has(absent), false);
  await t.rejects(store.meta(absent), { code: 'ERR_DYSNOMIA_INPUT', message: `not in the store: ${absent}` });
  const metaFile = path.join(store.dir, '.meta', `${entry}.json`);
  await writeFile(metaFile, '{ cut off');
  t.equal(await store.has(entry), false, 'metadata that is not an entry\'s JSON: absent, so it is sent again');
  // Metadata that cannot be read (a folder here: EISDIR; a coordinator out of file descriptors: EMFILE) says nothing about the store.
  await rm(metaFile);
  await mkdir(metaFile);
  await t.rejects(store.has(entry), { code: 'EISDIR' });
  await t.rejects(store.meta(entry), { code: 'EISDIR' });
  await t.rejects(store.missing([entry]), { code: 'EISDIR' });
});

t.test('a tarball: extracted, the single top folder unwrapped; escaping entries refused, leaving nothing', async (t) => {
  const dir = await tempDir(t);
  const store = Store.at(path.join(dir, 'state'));
  const good = path.join(dir, 'tool-1.0.tgz');
  await makePackage(path.join(dir, 'package'));
  await run('tar', ['-czf', good, '-C', dir, 'package']);
  const entry = await store.add(good);
  t.match(entry, /^[0-9a-z]{32}-tool-1\.0$/);
  t.same((await readdir(store.path(entry))).sort(), ['bin', 'share'], 'package/ was unwrapped');
  t.equal(entry, await store.add(path.join(dir, 'package'), { name: 'tool-1.0' }), 'the same tree as the folder it was made from');
  const { stdout } = await run(path.join(store.path(entry), 'bin/greet'));
  t.equal(stdout, 'hello\n');

  const escaped = `${path.basename(dir)}-escaped`;
  const bad: Array<[string, Parameters<typeof rawTar>[0], RegExp]> = [
    ['dotdot.tar', [{ path: 'ok', body: 'fine' }, { path: `../${escaped}`, body: 'escaped' }], /archive entry '\.\.\/.*-escaped' refused: '\.\.' climbs out/],
    ['nested.tar', [{ path: 'a/', type: 'Directory' }, { path: `a/../../${escaped}`, body: 'escaped' }], /'\.\.' climbs out/],
    ['absolute.tar', [{ path: '/tmp/escaped-by-test', body: 'escaped' }], /archive entry '\/tmp\/escaped-by-test' refused: absolute path/],
    ['link-out.tar', [{ path: 'etc', type: 'SymbolicLink', linkpath: '../../../../etc' }], /the link points outside the folder/],
    ['link-abs.tar', [{ path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }], /the link points outside the folder/],
    ['through-link.tar', [{ path: 'l', type: 'SymbolicLink', linkpath: '.' }, { path: 'l/x', body: 'via a link' }], /'l' is not a folder in the archive/],
    ['hardlink.tar', [{ path: 'h', type: 'Link', linkpath: '/etc/passwd' }], /Link entries are not accepted/],
  ];
  for (const [name, entries, message] of bad) {
    const file = path.join(dir, name);
    await writeFile(file, rawTar(entries));
    await t.rejects(store.add(file), message, name);
  }
  t.same(await storeListing(store), { entries: [entry], temporary: [] }, 'refused tarballs leave no entry and no temporary folder');
  t.equal(await stat(path.join(dir, '..', escaped)).catch(() => undefined), undefined, 'nothing was written beside the store');
  await t.rejects(stat('/tmp/escaped-by-test'));

  await writeFile(path.join(dir, 'cut.tgz'), (await readFile(good)).subarray(0, 60));
  await t.rejects(store.add(path.join(dir, 'cut.tgz')), /unreadable or incomplete archive/);
  await t.rejects(store.add(path.join(dir, 'nothing-here')), /no such component source/);
  await writeFile(path.join(dir, 'notes.txt'), 'x');
  await t.rejects(store.add(path.join(dir, 'notes.txt')), /not a folder, a tarball/);
  t.same((await storeListing(store)).temporary, []);
});

t.test('a build function: built once per inputs, store entries in the inputs become references', async (t) => {
  const dir = await tempDir(t);
  const store = Store.at(path.join(dir, 'state'));
  const library = await store.add(await makePackage(path.join(dir, 'lib'), 'from the library'));
  let calls = 0;
  const wrapper = (greeting: string) =>
    component({
      name: 'wrapper',
      inputs: { greeting, library },
      async build(out, inputs) {
        calls++;
        const { greeting: text, library: libraryPath } = inputs as { greeting: string; library: string };
        await mkdir(path.join(out, 'bin'));
        await writeFile(path.join(out, 'bin/wrapper'), `#!/bin/sh\necho "${text}"\nexec ${libraryPath}/bin/greet\n`, { mode: 0o755 });
      },
    });
  const first = await store.add(wrapper('hi'));
  const second = await store.add(wrapper('hi'));
  t.equal(second, first, 'same inputs, same entry');
  t.equal(calls, 1, 'built once');
  t.match(first, /^[0-9a-z]{32}-wrapper$/);
  const other = await store.add(wrapper('bye'));
  t.not(other, first, 'other inputs, another entry');
  t.equal(calls, 2);
  t.same(await store.references(first), [library]);
  t.same(await store.closure([first]), [library, first], 'references first');
  const { stdout } = await run(path.join(store.path(first), 'bin/wrapper'));
  t.equal(stdout, 'hi\nfrom the library\n', 'the build got the library as an absolute path');

  const nested = component({ name: 'outer', inputs: { inner: wrapper('hi') }, build: async (out) => writeFile(path.join(out, 'x'), 'x') });
  const outer = await store.add(nested);
  t.same(await store.references(outer), [first], 'a component in the inputs is built (here: found) and referenced');
  t.equal(calls, 2);

  const failing = component({ name: 'broken', build() { throw new Error('compiler exploded'); } });
  await t.rejects(store.add(failing), /building broken failed: compiler exploded/);
  t.same((await storeListing(store)).temporary, []);
  t.throws(() => component({ name: '../evil', build() {} }), /invalid store name '\.\.\/evil'/);
  await t.rejects(store.add(component({ name: 'fn-input', inputs: { f: () => 1 }, build() {} })), /input inputs\.f is not a JSON value/);
});

t.test('archives: export and import verify every entry; a cut, tampered or incomplete archive adds nothing', async (t) => {
  const dir = await tempDir(t);
  const source = Store.at(path.join(dir, 'source'));
  const library = await source.add(await makePackage(path.join(dir, 'lib')));
  await writeFile(path.join(dir, 'big'), Buffer.alloc(300_000, 7));
  const big = await source.add(component({ name: 'app', inputs: { library }, build: async (out) => writeFile(path.join(out, 'data'), await readFile(path.join(dir, 'big'))) }));
  const hardLinked = await source.add(
    component({
      name: 'hard-linked',
      async build(out) {
        await writeFile(path.join(out, 'a'), 'same inode');
        await link(path.join(out, 'a'), path.join(out, 'b'));
      },
    }),
  );
  const other = Store.at(path.join(dir, 'other'));
  const linkArchive = path.join(dir, 'link-archive');
  await source.exportArchive([hardLinked], createWriteStream(linkArchive));
  t.same(await other.importArchive(createReadStream(linkArchive)), [hardLinked], 'hard links travel as plain files');
  t.equal(await readFile(path.join(other.path(hardLinked), 'b'), 'utf8'), 'same inode');

  const archive = path.join(dir, 'archive');
  await source.exportArchive(await source.closure([big]), createWriteStream(archive));
  const bytes = await readFile(archive);

  const target = Store.at(path.join(dir, 'target'));
  t.same(await target.importArchive(Readable.from([bytes])), [library, big]);
  t.equal(await target.verify(big), true);
  t.equal(await target.verify(library), true);
  t.same(await target.references(big), [library]);
  t.equal((await lstat(path.join(target.path(library), 'bin/readme'))).isSymbolicLink(), true);
  t.same(await target.importArchive(createReadStream(archive)), [library, big], 'importing again is harmless');

  const headerEnd = bytes.indexOf(0x0a) + 1;
  // The tar stream ends with zero blocks; cutting those off loses nothing, so the cuts go up to the last byte of data.
  let lastData = bytes.length - 1;
  while (bytes[lastData] === 0) lastData--;
  const cuts = [0, 10, headerEnd, headerEnd + 512, headerEnd + 1024, headerEnd + 512 * 7, lastData - 300_000, lastData - 512, lastData];
  for (const cut of cuts) {
    const fresh = Store.at(path.join(dir, `cut-${cut}`));
    await t.rejects(fresh.importArchive(Readable.from([bytes.subarray(0, cut)])), /store archive refused|unreadable or incomplete archive/, `cut at ${cut} of ${bytes.length}`);
    t.same(await storeListing(fresh), { entries: [], temporary: [] }, `cut at ${cut}: no entry, no temporary folder`);
  }

  const tampered = Buffer.from(bytes);
  const at = tampered.indexOf(Buffer.alloc(64, 7));
  tampered[at] = 8;
  const victim = Store.at(path.join(dir, 'tampered'));
  await t.rejects(victim.importArchive(Readable.from([tampered])), /app: the contents do not match the hash in the name/);
  t.same(await storeListing(victim), { entries: [], temporary: [] });

  const header = bytes.subarray(0, headerEnd).toString().replace(`"references":["${library}"]`, '"references":[]');
  await t.rejects(victim.importArchive(Readable.from([Buffer.from(header), bytes.subarray(headerEnd)])), /do not match the hash/, 'references are part of the hash');

  const onlyTop = path.join(dir, 'only-top');
  await source.exportArchive([big], createWriteStream(onlyTop));
  await t.rejects(victim.importArchive(createReadStream(onlyTop)), new RegExp(`refers to ${library}, which is neither in the archive nor in the store`));
  await t.rejects(victim.importArchive(Readable.from([Buffer.from('GET / HTTP/1.1\n')])), /not a store archive/);
  t.same(await storeListing(victim), { entries: [], temporary: [] });
});

t.test('an export whose receiver fails first: a later error of the packer fails nothing else (it ended the process)', async (t) => {
  const dir = await tempDir(t);
  const store = Store.at(path.join(dir, 'state'));
  const big = path.join(dir, 'big');
  await mkdir(big);
  for (let i = 0; i < 200; i++) await writeFile(path.join(big, `file-${i}`), `${i}\n`);
  const entry = await store.add(big);
  const gone = `${'0'.repeat(32)}-gone`;
  // The receiver (an SSH channel) fails at once; the packer then meets an entry folder that is not there.
  const receiver = new Writable({ write: (_chunk, _encoding, done) => done(new Error('channel closed')) });
  const metas = [await store.meta(entry), { ...(await store.meta(entry)), entry: gone }];
  await t.rejects(exportArchive(store.dir, metas, receiver), /channel closed/);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.pass('the packer\'s own error (ENOENT) after the pipeline failed reached no one as an uncaught error');
  await t.rejects(exportArchive(store.dir, [{ ...metas[0]!, entry: gone }], new PassThrough().resume()), { code: 'ENOENT' }, 'an error of the packer alone rejects the export');
});

t.test('garbage collection keeps what generations, manifests and activated components reach, and removes the rest', async (t) => {
  const dir = await tempDir(t);
  const stateDir = path.join(dir, 'state');
  const store = Store.at(stateDir);
  const add = (name: string, inputs: Record<string, string> = {}) =>
    store.add(component({ name, inputs, build: async (out) => writeFile(path.join(out, 'name'), name) }));
  const base = await add('base');
  const app = await add('app', { base });
  const deployed = await add('deployed');
  const activated = await add('activated');
  const garbage = await add('garbage');
  const garbageUser = await add('garbage-user', { garbage });

  await mkdir(path.join(stateDir, 'profiles'), { recursive: true });
  await symlink(`../store/${app}`, path.join(stateDir, 'profiles/default-1-link'));
  await symlink('default-1-link', path.join(stateDir, 'profiles/default'));
  await mkdir(path.join(stateDir, 'deployments/net'), { recursive: true });
  await writeFile(path.join(stateDir, 'deployments/net/manifest.json'), JSON.stringify({ targets: { a: { storePaths: [store.path(deployed)] } } }));
  await mkdir(path.join(stateDir, 'activated/box'), { recursive: true });
  await symlink(store.path(activated), path.join(stateDir, 'activated/box/activated'));
  const leftover = path.join(store.dir, '.tmp-999999999-abc');
  await mkdir(path.join(leftover, 'out'), { recursive: true });
  const live = await store.temporaryFolder();

  const garbageBytes = (await store.meta(garbage)).size + (await store.meta(garbageUser)).size;
  const dry = await store.collectGarbage({ dryRun: true });
  t.same(dry, { removed: [garbageUser, garbage].sort(), kept: 4, bytes: garbageBytes }, 'the bytes the removed entries take are counted');
  t.equal(await store.has(garbage), true, 'a dry run removes nothing');

  const result = await store.collectGarbage();
  t.same(result.removed.sort(), [garbage, garbageUser].sort());
  t.equal(result.kept, 4);
  t.same((await storeListing(store)).entries.sort(), [activated, app, base, deployed].sort(), 'app keeps base, its reference');
  t.equal(await stat(path.join(store.dir, '.meta', `${garbage}.json`)).catch(() => undefined), undefined, 'metadata goes with its entry');
  t.equal(await stat(leftover).catch(() => undefined), undefined, 'the temporary folder of a dead process is removed');
  t.ok(await stat(live), 'the temporary folder of a live process is kept');

  await writeFile(path.join(stateDir, 'deployments/broken.json'), '{ not json');
  await t.rejects(store.collectGarbage(), /broken\.json: cannot read this deployment manifest, so nothing is collected/);
});

/** Like examples/mariadb-server: a container file and an init script holding a password (0600), a private script, public docs. */
async function makeSecretPackage(dir: string, password = 'hunter2'): Promise<string> {
  await mkdir(path.join(dir, 'etc/dysnomia/containers'), { recursive: true });
  await mkdir(path.join(dir, 'share/mariadb-server'), { recursive: true });
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  await writeFile(path.join(dir, 'etc/dysnomia/containers/mariadb'), `mysqlUsername=root\nmysqlPassword=${password}\n`, { mode: 0o600 });
  await writeFile(path.join(dir, 'share/mariadb-server/init.sql'), `ALTER USER root IDENTIFIED BY '${password}';\n`, { mode: 0o600 });
  await writeFile(path.join(dir, 'bin/show-secret'), '#!/bin/sh\necho private script\n', { mode: 0o700 });
  await writeFile(path.join(dir, 'share/mariadb-server/README'), 'public\n', { mode: 0o644 });
  // umask cannot widen modes: set them exactly.
  await chmod(path.join(dir, 'etc/dysnomia/containers/mariadb'), 0o600);
  await chmod(path.join(dir, 'share/mariadb-server/init.sql'), 0o600);
  await chmod(path.join(dir, 'bin/show-secret'), 0o700);
  await chmod(path.join(dir, 'share/mariadb-server/README'), 0o644);
  return dir;
}

const modeOf = async (file: string) => (await stat(file)).mode & 0o777;

t.test('private files (no read for group and others): stored 0400/0500, part of the hash; public contents keep their names', async (t) => {
  const dir = await tempDir(t);
  const store = Store.at(path.join(dir, 'state'));
  const source = await makeSecretPackage(path.join(dir, 'mariadb-server'));
  const entry = await store.add(source);
  const root = store.path(entry);
  t.equal(await modeOf(path.join(root, 'etc/dysnomia/containers/mariadb')), 0o400, 'the 0600 container file is 0400, not 0444');
  t.equal(await modeOf(path.join(root, 'share/mariadb-server/init.sql')), 0o400);
  t.equal(await modeOf(path.join(root, 'bin/show-secret')), 0o500, 'a private executable is 0500');
  t.equal(await modeOf(path.join(root, 'share/mariadb-server/README')), 0o444, 'a public file stays 0444');
  t.equal(await modeOf(path.join(root, 'etc/dysnomia/containers')), 0o555, 'folders stay 0555');
  t.equal(await readFile(path.join(root, 'etc/dysnomia/containers/mariadb'), 'utf8'), 'mysqlUsername=root\nmysqlPassword=hunter2\n', 'the owner reads it');
  t.equal((await run(path.join(root, 'bin/show-secret'))).stdout, 'private script\n', 'the owner runs it');
  t.equal(await store.verify(entry), true, 'a private entry verifies');
  t.equal(await store.add(source), entry, 'the same private contents: the same entry');

  await chmod(path.join(source, 'etc/dysnomia/containers/mariadb'), 0o644);
  const published = await store.add(source);
  t.not(published, entry, 'the same bytes at 0644 are another entry');
  t.equal(await modeOf(path.join(store.path(published), 'etc/dysnomia/containers/mariadb')), 0o444);
  await chmod(path.join(source, 'etc/dysnomia/containers/mariadb'), 0o400);
  t.equal(await store.add(source), entry, '0400 is as private as 0600 (only group and other read bits count)');
  await chmod(path.join(source, 'etc/dysnomia/containers/mariadb'), 0o604);
  t.not(await store.add(source), entry, 'world-readable is public');

  // Entry names computed before private files existed (HEAD 6eac626): public contents, a 0640 file included, hash the same.
  const pinned = path.join(dir, 'pinned-src');
  await makePackage(pinned);
  await mkdir(path.join(pinned, 'etc'));
  await writeFile(path.join(pinned, 'etc/shared.conf'), 'x=1\n');
  await chmod(path.join(pinned, 'etc/shared.conf'), 0o640);
  t.equal(await store.add(pinned, { name: 'pinned' }), 'rr4lac1blj515xg387f32whw9wzaa66a-pinned', 'existing public entries keep their names');
  t.equal(await modeOf(path.join(store.path('rr4lac1blj515xg387f32whw9wzaa66a-pinned'), 'etc/shared.conf')), 0o444, 'group-readable is public');
});

t.test('private files travel through export | import and tarball sources, whatever the umask', async (t) => {
  const dir = await tempDir(t);
  const source = Store.at(path.join(dir, 'source'));
  const secret = await source.add(await makeSecretPackage(path.join(dir, 'mariadb-server')));
  const publicEntry = await source.add(await makePackage(path.join(dir, 'pkg')));
  const archive = path.join(dir, 'archive');
  await source.exportArchive([secret, publicEntry], createWriteStream(archive));

  const target = Store.at(path.join(dir, 'target'));
  t.same(await target.importArchive(createReadStream(archive)), [secret, publicEntry]);
  t.equal(await modeOf(path.join(target.path(secret), 'etc/dysnomia/containers/mariadb')), 0o400, 'imported private file is 0400');
  t.equal(await modeOf(path.join(target.path(secret), 'bin/show-secret')), 0o500);
  t.equal(await modeOf(path.join(target.path(secret), 'share/mariadb-server/README')), 0o444);
  t.equal(await target.verify(secret), true, 'and verifies on the receiver');

  // A receiver with umask 077 would otherwise write every file 0600, turning public files private and failing the hash.
  const strict = Store.at(path.join(dir, 'strict'));
  const previous = process.umask(0o077);
  try {
    t.same(await strict.importArchive(createReadStream(archive)), [secret, publicEntry], 'umask 077: the archive still verifies');
  } finally {
    process.umask(previous);
  }
  t.equal(await modeOf(path.join(strict.path(publicEntry), 'share/doc/README')), 0o444);
  t.equal(await modeOf(path.join(strict.path(secret), 'share/mariadb-server/init.sql')), 0o400);

  const tarball = path.join(dir, 'mariadb-server.tgz');
  await run('tar', ['-czf', tarball, '-C', dir, 'mariadb-server']);
  const fromTarball = await source.add(tarball);
  t.equal(fromTarball, secret, 'a tarball with 0600 members is the same entry as its folder');
  t.equal(await modeOf(path.join(source.path(fromTarball), 'etc/dysnomia/containers/mariadb')), 0o400);

  const raw = path.join(dir, 'raw.tar');
  await writeFile(raw, rawTar([{ path: 'secret', body: 'pw', mode: 0o600 }, { path: 'open', body: 'pw', mode: 0o644 }]));
  const rawEntry = await source.add(raw);
  t.equal(await modeOf(path.join(source.path(rawEntry), 'secret')), 0o400);
  t.equal(await modeOf(path.join(source.path(rawEntry), 'open')), 0o444);
});

t.test('extraction creates a private file private: never readable by others while it is written', async (t) => {
  const dir = await tempDir(t);
  const dest = path.join(dir, 'out');
  await mkdir(dest);
  const body = Buffer.alloc(4096, 'p');
  const header = Buffer.alloc(512);
  new Header({ path: 'secret', type: 'File', size: body.length, mode: 0o600, mtime: new Date(0) }).encode(header, 0);
  const input = new PassThrough();
  const previous = process.umask(0); // a create-0644-then-chmod would show here
  t.teardown(() => void process.umask(previous));
  const done = extractTar(input, dest, { confineLinks: true });
  input.write(Buffer.concat([header, body.subarray(0, 1024)]));
  let seen: number | undefined;
  for (let i = 0; i < 200 && seen === undefined; i++) {
    seen = await stat(path.join(dest, 'secret')).then((s) => s.mode & 0o777, () => undefined);
    if (seen === undefined) await new Promise((r) => setTimeout(r, 10));
  }
  t.equal(seen, 0o600, 'half written, the file is already 0600');
  input.end(Buffer.concat([body.subarray(1024), Buffer.alloc(1024)]));
  await done;
  t.equal(await modeOf(path.join(dest, 'secret')), 0o600);
  t.equal((await readFile(path.join(dest, 'secret'))).length, 4096);
});

t.test('a profile linking to a private file: the owner reads it through the profile', async (t) => {
  const stateDir = path.join(await tempDir(t), 'state');
  const store = Store.at(stateDir);
  const entry = await store.add(await makeSecretPackage(path.join(path.dirname(stateDir), 'mariadb-server')));
  const profiles = Profiles.at(stateDir);
  t.same(await profiles.install('default', [entry]), { generation: 1, changed: true });
  const throughProfile = path.join(stateDir, 'profiles/default/etc/dysnomia/containers/mariadb');
  t.equal(await readFile(throughProfile, 'utf8'), 'mysqlUsername=root\nmysqlPassword=hunter2\n');
  t.equal(await modeOf(throughProfile), 0o400, 'the link leads to the 0400 file');
  t.equal((await lstat(path.join(stateDir, 'profiles/default/etc'))).isSymbolicLink(), true, 'etc is a link into the entry');
  t.equal((await run(path.join(stateDir, 'profiles/default/bin/show-secret'))).stdout, 'private script\n');
  const generation = (await profiles.generations('default'))[0]!;
  t.equal(await store.verify(generation.entry), true);
});
