import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { BIN_DIR, dysnomia, tempDir } from './helpers/cli.js';

/** The built `dysnomia` with the same clean environment as runCommand, for piping binary streams. */
function spawnDysnomia(args: string[], env: Record<string, string>): ChildProcess {
  const clean = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env };
  const child = spawn('/usr/bin/env', ['-i', ...Object.entries(clean).map(([k, v]) => `${k}=${v}`), process.execPath, path.join(BIN_DIR, 'dysnomia.js'), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // An importer that refuses (or is killed) stops reading: the unwritten rest is expected to fail with EPIPE.
  child.stdin!.on('error', () => undefined);
  return child;
}

function collect(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }> {
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr })));
}

async function storeNames(stateDir: string): Promise<{ entries: string[]; temporary: string[] }> {
  const names = await readdir(path.join(stateDir, 'store')).catch(() => [] as string[]);
  return { entries: names.filter((n) => !n.startsWith('.')).sort(), temporary: names.filter((n) => n.startsWith('.tmp-')) };
}

async function makeTool(dir: string, word: string, bytes = 0): Promise<string> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  await writeFile(path.join(dir, 'bin', path.basename(dir)), `#!/bin/sh\necho ${word}\n`, { mode: 0o755 });
  if (bytes > 0) await writeFile(path.join(dir, 'payload'), Buffer.alloc(bytes, word.charCodeAt(0)));
  return dir;
}

t.test('dysnomia store: add, query-missing, closure, verify, gc, through the CLI', async (t) => {
  const dir = await tempDir(t);
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'state') };
  await makeTool(path.join(dir, 'alpha'), 'alpha');
  await makeTool(path.join(dir, 'beta'), 'beta');

  const added = await dysnomia(['store', '--add', './alpha', path.join(dir, 'beta')], { env, cwd: dir });
  t.equal(added.code, 0, added.stderr);
  const [alpha, beta] = added.stdout.trim().split('\n');
  t.match(alpha, new RegExp(`^${path.join(dir, 'state/store')}/[0-9a-z]{32}-alpha$`));
  t.match(beta, /-beta$/);
  const again = await dysnomia(['store', '--add', '--json', './alpha'], { env, cwd: dir });
  t.same(JSON.parse(again.stdout), [alpha], 'adding the same folder again: the same entry');

  const absent = `${'1'.repeat(32)}-absent`;
  const missing = await dysnomia(['store', '--query-missing', path.basename(alpha!), absent, beta!], { env });
  t.equal(missing.stdout, `${absent}\n`);
  const missingJson = await dysnomia(['store', '--query-missing', '--json', absent], { env });
  t.same(JSON.parse(missingJson.stdout), [absent]);

  const closure = await dysnomia(['store', '--closure', alpha!], { env });
  t.equal(closure.stdout, `${alpha}\n`);

  t.equal((await dysnomia(['store', '--verify'], { env })).code, 0);
  await chmod(path.join(beta!, 'bin'), 0o755);
  await chmod(path.join(beta!, 'bin/beta'), 0o755);
  await writeFile(path.join(beta!, 'bin/beta'), '#!/bin/sh\necho tampered\n');
  const verify = await dysnomia(['store', '--verify', '--json'], { env });
  t.equal(verify.code, 1, 'a tampered entry fails --verify');
  t.same(JSON.parse(verify.stdout), { checked: 2, failed: [beta] });
  t.match(verify.stderr, `${path.basename(beta!)}: the contents do not match the hash`);

  const dry = await dysnomia(['store', '--gc', '--dry-run', '--json'], { env });
  t.same(JSON.parse(dry.stdout), { removed: [alpha, beta].sort(), kept: 0, dryRun: true });
  const installed = await dysnomia(['profile', '--install', alpha!], { env });
  t.equal(installed.code, 0, installed.stderr);
  const gc = await dysnomia(['store', '--gc'], { env });
  t.equal(gc.code, 0, gc.stderr);
  t.equal(gc.stdout, `${beta}\n`, 'what no generation refers to is removed');
  t.same((await storeNames(env.DYSNOMIA_STATEDIR)).entries.filter((e) => !e.endsWith('-profile')), [path.basename(alpha!)]);
});

t.test('dysnomia store: bad usage exits with status 2 and names the argument', async (t) => {
  const dir = await tempDir(t);
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'state') };
  const cases: Array<[string[], string]> = [
    [['store'], 'no operation given: use one of --add'],
    [['store', '--add'], '--add needs at least one argument'],
    [['store', '--add', '--gc', 'x'], 'only one operation at a time: --add and --gc'],
    [['store', '--query-missing', 'not-an-entry'], "not a store entry: 'not-an-entry'"],
    [['store', '--add', '--name', 'x', 'a', 'b'], '--name names one source'],
    [['store', '--add', '--name', '../x', 'a'], "invalid store name '../x'"],
    [['store', '--gc', 'extra'], 'unexpected argument for --gc: extra'],
    [['store', '--verify', '--dry-run'], '--dry-run only applies to --gc'],
    [['store', '--add', path.join(dir, 'nowhere')], `no such component source: ${path.join(dir, 'nowhere')}`],
    [['store', '--bogus'], "Unknown option '--bogus'"],
  ];
  for (const [args, message] of cases) {
    const result = await dysnomia(args, { env });
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, `dysnomia: error: ${message}`);
    t.notMatch(result.stderr, /^\s+at /m);
  }
});

t.test('export | import between two state folders; a cut or killed transfer leaves nothing, then succeeds', async (t) => {
  const dir = await tempDir(t);
  const source = { DYSNOMIA_STATEDIR: path.join(dir, 'source') };
  const target = { DYSNOMIA_STATEDIR: path.join(dir, 'target') };
  await makeTool(path.join(dir, 'small'), 'small');
  await makeTool(path.join(dir, 'large'), 'large', 8 * 1024 * 1024);
  const entries = (await dysnomia(['store', '--add', path.join(dir, 'small'), path.join(dir, 'large')], { env: source })).stdout.trim().split('\n');
  const exported = await collect(spawnDysnomia(['store', '--export', ...entries], source));
  t.equal(exported.code, 0, exported.stderr);
  const archive = exported.stdout;

  // A transfer cut off half way: the importer sees end of input early.
  const cut = spawnDysnomia(['store', '--import'], target);
  const cutResult = collect(cut);
  cut.stdin!.end(archive.subarray(0, Math.floor(archive.length / 2)));
  const cutOutcome = await cutResult;
  t.equal(cutOutcome.code, 1, 'a cut archive fails');
  t.match(cutOutcome.stderr, /unreadable or incomplete archive|store archive refused/);
  t.same(await storeNames(target.DYSNOMIA_STATEDIR), { entries: [], temporary: [] }, 'no entry and no temporary folder');

  // The importer killed in the middle: its temporary folder stays until the next gc, no entry appears.
  const killed = spawnDysnomia(['store', '--import'], target);
  const killedResult = collect(killed);
  killed.stdin!.write(archive.subarray(0, archive.length - 1024 * 1024));
  for (let i = 0; i < 200 && (await storeNames(target.DYSNOMIA_STATEDIR)).temporary.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
  killed.kill('SIGKILL');
  t.equal((await killedResult).signal, 'SIGKILL');
  const afterKill = await storeNames(target.DYSNOMIA_STATEDIR);
  t.same(afterKill.entries, [], 'no entry under its final name');
  t.equal(afterKill.temporary.length, 1, 'the killed import left its temporary folder');
  const gc = await dysnomia(['store', '--gc'], { env: target });
  t.equal(gc.code, 0, gc.stderr);
  t.same(await storeNames(target.DYSNOMIA_STATEDIR), { entries: [], temporary: [] }, 'gc removed the leftover');

  const missingBefore = await dysnomia(['store', '--query-missing', ...entries.map((e) => path.basename(e))], { env: target });
  t.equal(missingBefore.stdout.trim().split('\n').length, 2);
  const importer = spawnDysnomia(['store', '--import', '--json'], target);
  const imported = collect(importer);
  const exporter = spawnDysnomia(['store', '--export', ...entries], source);
  exporter.stdout!.pipe(importer.stdin!);
  const [exportDone, importDone] = await Promise.all([collect(exporter), imported]);
  t.equal(exportDone.code, 0, exportDone.stderr);
  t.equal(importDone.code, 0, importDone.stderr);
  t.same(JSON.parse(importDone.stdout.toString()), entries.map((e) => path.join(target.DYSNOMIA_STATEDIR, 'store', path.basename(e))));
  const missingAfter = await dysnomia(['store', '--query-missing', ...entries.map((e) => path.basename(e))], { env: target });
  t.equal(missingAfter.stdout, '', 'nothing missing after the import');
  const large = path.join(target.DYSNOMIA_STATEDIR, 'store', path.basename(entries[1]!));
  t.equal((await stat(path.join(large, 'payload'))).size, 8 * 1024 * 1024);
  t.equal((await readFile(path.join(large, 'bin/large'), 'utf8')), '#!/bin/sh\necho large\n');
  t.equal((await dysnomia(['store', '--verify'], { env: target })).code, 0);
});

t.test('a private file (0600) goes through store --add, --verify and export | import as 0400', async (t) => {
  const dir = await tempDir(t);
  const source = { DYSNOMIA_STATEDIR: path.join(dir, 'source') };
  const target = { DYSNOMIA_STATEDIR: path.join(dir, 'target') };
  const component = path.join(dir, 'tomcat-app');
  await mkdir(path.join(component, 'conf/Catalina/localhost'), { recursive: true });
  const contextFile = path.join(component, 'conf/Catalina/localhost/app.xml');
  await writeFile(contextFile, '<Context><Resource name="jdbc/db" password="s3cret"/></Context>\n');
  await chmod(contextFile, 0o600);
  await writeFile(path.join(component, 'index.html'), 'hello\n');
  await chmod(path.join(component, 'index.html'), 0o644);

  const added = await dysnomia(['store', '--add', component], { env: source });
  t.equal(added.code, 0, added.stderr);
  const entry = added.stdout.trim();
  t.equal((await stat(path.join(entry, 'conf/Catalina/localhost/app.xml'))).mode & 0o777, 0o400, 'the context file with a password is 0400');
  t.equal((await stat(path.join(entry, 'index.html'))).mode & 0o777, 0o444);
  const verified = await dysnomia(['store', '--verify', '--json'], { env: source });
  t.equal(verified.code, 0, verified.stderr);
  t.same(JSON.parse(verified.stdout), { checked: 1, failed: [] });

  await chmod(contextFile, 0o644);
  const widened = await dysnomia(['store', '--add', component], { env: source });
  t.not(widened.stdout.trim(), entry, 'the same file readable by all is another entry');
  await chmod(contextFile, 0o600);

  const importer = spawnDysnomia(['store', '--import'], target);
  const imported = collect(importer);
  const exporter = spawnDysnomia(['store', '--export', entry], source);
  exporter.stdout!.pipe(importer.stdin!);
  const [exportDone, importDone] = await Promise.all([collect(exporter), imported]);
  t.equal(exportDone.code, 0, exportDone.stderr);
  t.equal(importDone.code, 0, importDone.stderr);
  const received = path.join(target.DYSNOMIA_STATEDIR, 'store', path.basename(entry));
  t.equal((await stat(path.join(received, 'conf/Catalina/localhost/app.xml'))).mode & 0o777, 0o400, 'still 0400 on the receiver');
  t.equal(await readFile(path.join(received, 'conf/Catalina/localhost/app.xml'), 'utf8'), '<Context><Resource name="jdbc/db" password="s3cret"/></Context>\n');
  const targetVerify = await dysnomia(['store', '--verify'], { env: target });
  t.equal(targetVerify.code, 0, targetVerify.stderr);
});
