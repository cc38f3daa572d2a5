import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import {
  appendKnownHost,
  fingerprint,
  hostLookupName,
  KnownHosts,
  keyTypeOf,
  parseKnownHosts,
  patternsMatch,
} from '../src/remote/known-hosts.js';

const run = promisify(execFile);

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-kh-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A real host key made by ssh-keygen: its blob and its `type base64` line. */
async function hostKey(dir: string, name: string, type = 'ed25519'): Promise<{ blob: Buffer; text: string; file: string }> {
  const file = path.join(dir, name);
  await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
  const [keyType, base64] = (await readFile(`${file}.pub`, 'utf8')).trim().split(/\s+/);
  return { blob: Buffer.from(base64!, 'base64'), text: `${keyType} ${base64}`, file };
}

t.test('lookup names and key types', async (t) => {
  t.equal(hostLookupName('Example.COM', 22), 'example.com');
  t.equal(hostLookupName('127.0.0.1', 2222), '[127.0.0.1]:2222');
  const dir = await tempDir();
  const key = await hostKey(dir, 'k');
  t.equal(keyTypeOf(key.blob), 'ssh-ed25519');
  const { stdout } = await run('ssh-keygen', ['-lf', `${key.file}.pub`]);
  t.equal(fingerprint(key.blob), stdout.split(/\s+/)[1], 'the same fingerprint as ssh-keygen -l');
});

t.test('host patterns: lists, wildcards, negation, ports', async (t) => {
  t.ok(patternsMatch('a.example,b.example', 'b.example'));
  t.ok(patternsMatch('*.example', 'web.example'));
  t.ok(patternsMatch('web?.example', 'web1.example'));
  t.notOk(patternsMatch('web?.example', 'web12.example'));
  t.notOk(patternsMatch('*.example,!db.example', 'db.example'), 'a matching negation excludes the line');
  t.ok(patternsMatch('[127.0.0.1]:2222', '[127.0.0.1]:2222'));
  t.notOk(patternsMatch('127.0.0.1', '[127.0.0.1]:2222'), 'a plain name is port 22 only');
  t.notOk(patternsMatch('[127.0.0.1]:2222', '[127.0.0.1]:2223'));
});

t.test('hashed names written by ssh-keygen -H are matched', async (t) => {
  const dir = await tempDir();
  const key = await hostKey(dir, 'k');
  const file = path.join(dir, 'known_hosts');
  await import('node:fs/promises').then((fs) => fs.writeFile(file, `[10.1.2.3]:2200 ${key.text}\nplain.example ${key.text}\n`));
  await run('ssh-keygen', ['-H', '-f', file]);
  const text = await readFile(file, 'utf8');
  t.match(text, /^\|1\|/m, 'ssh-keygen hashed the names');
  t.notMatch(text, /10\.1\.2\.3/);
  const known = await KnownHosts.load(file);
  t.equal(known.check('10.1.2.3', 2200, key.blob).status, 'known');
  t.equal(known.check('plain.example', 22, key.blob).status, 'known');
  t.equal(known.check('10.1.2.3', 22, key.blob).status, 'unknown');
});

t.test('known, unknown, changed, revoked; comments and markers', async (t) => {
  const dir = await tempDir();
  const good = await hostKey(dir, 'good');
  const other = await hostKey(dir, 'other');
  const rsa = await hostKey(dir, 'rsa', 'rsa');
  const file = path.join(dir, 'known_hosts');
  const text = [
    '# comment',
    '',
    `[127.0.0.1]:2222 ${good.text} host-a`,
    `@cert-authority *.example ${other.text}`,
    `@revoked * ${rsa.text}`,
    `web.example ${rsa.text}`,
    'garbage-line-without-key',
  ].join('\n');
  const known = new KnownHosts(file, parseKnownHosts(text, file));
  t.match(known.check('127.0.0.1', 2222, good.blob), { status: 'known', entry: { line: 3 } });
  t.match(known.check('127.0.0.1', 2222, other.blob), { status: 'changed', entry: { line: 3, file } }, 'same type, other key: changed');
  t.match(known.check('127.0.0.1', 2223, good.blob), { status: 'unknown', otherTypes: [] });
  t.match(known.check('web.example', 22, good.blob), { status: 'unknown', otherTypes: ['ssh-rsa'] }, 'another type is known for it');
  t.match(known.check('web.example', 22, rsa.blob), { status: 'revoked', entry: { line: 5 } }, 'a revoked key is refused even when listed');
  t.equal(known.check('x.example', 22, other.blob).status, 'unknown', 'cert-authority lines are not host keys');
  t.same(known.keyTypesFor('127.0.0.1', 2222), ['ssh-ed25519']);
});

t.test('appending a key as accept-new does: a missing file is created 0600, ssh-keygen -F finds it', async (t) => {
  const dir = await tempDir();
  const key = await hostKey(dir, 'k');
  const file = path.join(dir, 'ssh/known_hosts');
  t.equal((await KnownHosts.load(file)).entries.length, 0, 'a missing file is empty');
  await appendKnownHost(file, '127.0.0.1', 2201, key.blob);
  await appendKnownHost(file, 'host.example', 22, key.blob, true);
  t.equal((await stat(file)).mode & 0o777, 0o600);
  const known = await KnownHosts.load(file);
  t.equal(known.check('127.0.0.1', 2201, key.blob).status, 'known');
  t.equal(known.check('host.example', 22, key.blob).status, 'known', 'the hashed entry matches');
  const found = await run('ssh-keygen', ['-F', '[127.0.0.1]:2201', '-f', file]);
  t.match(found.stdout, key.text);
  const hashed = await run('ssh-keygen', ['-F', 'host.example', '-f', file]);
  t.match(hashed.stdout, key.text, 'OpenSSH reads the hashed entry we wrote');
});
