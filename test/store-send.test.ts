// A large store archive's worker thread (packages/deploy/src/remote/store-send.ts), from the built modules: the worker runs dist/.
import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { prepareStoreSend } from '../packages/deploy/dist/remote/store-send.js';
import type { StoreSendWork } from '../packages/deploy/dist/remote/store-send.js';
import { Store } from '../packages/engine/dist/store/store.js';
import { tempDir } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { startSshd } from './helpers/sshd.js';
import type { SshdInstance } from './helpers/sshd.js';

function work(host: Pick<SshdInstance, 'host' | 'port' | 'user' | 'clientKey'>, knownHostsFile: string, command: string, acceptNewHostKeys = false): StoreSendWork {
  return {
    target: 'test1',
    command,
    settings: { target: 'test1', host: host.host, port: host.port, username: host.user, privateKeyPath: host.clientKey.privateKey, agent: '', knownHostsFile, acceptNewHostKeys },
  };
}

async function storeWithEntry(dir: string): Promise<{ store: Store; entry: string }> {
  const source = path.join(dir, 'source/app');
  await mkdir(path.join(source, 'share'), { recursive: true });
  await writeFile(path.join(source, 'share/data'), Buffer.alloc(3 * 1024 * 1024, 5));
  const store = Store.at(path.join(dir, 'coordinator'));
  return { store, entry: await store.add(source) };
}

t.test('the worker sends the archive over a connection of its own; what arrives imports and verifies', async (t) => {
  const dir = await tempDir(t);
  const knownHosts = path.join(dir, 'known_hosts');
  const host = await startSshd(t, { knownHosts });
  const { store, entry } = await storeWithEntry(dir);
  const received = path.join(dir, 'received.archive');
  const send = prepareStoreSend(work(host, knownHosts, `cat > '${received}'`));
  t.teardown(() => send.stop());
  let bytes = 0;
  t.equal(await send.send({ storeDir: store.dir, metas: await store.archiveMetas([entry]) }, (n) => (bytes += n)), true, 'sent by the worker');
  t.ok(bytes > 3 * 1024 * 1024, 'its bytes were counted');
  const target = Store.at(path.join(dir, 'target'));
  t.same(await target.importArchive(createReadStream(received)), [entry]);
  t.equal(await target.verify(entry), true);
});

t.test('a worker that cannot connect sends nothing and says so (the session then sends itself); it never adds a host key', async (t) => {
  const dir = await tempDir(t);
  const { store, entry } = await storeWithEntry(dir);
  const contents = { storeDir: store.dir, metas: await store.archiveMetas([entry]) };

  const closed = { host: '127.0.0.1', port: await freePort(), user: 'nobody', clientKey: { privateKey: path.join(dir, 'no-key') } } as Pick<SshdInstance, 'host' | 'port' | 'user' | 'clientKey'>;
  await writeFile(closed.clientKey.privateKey, '');
  const refused = prepareStoreSend(work(closed, path.join(dir, 'known_hosts'), 'cat > /dev/null'));
  t.teardown(() => refused.stop());
  t.equal(await refused.send(contents, () => undefined), false, 'a closed port: nothing sent');

  const emptyKnownHosts = path.join(dir, 'empty_known_hosts');
  await writeFile(emptyKnownHosts, '');
  const host = await startSshd(t, { knownHosts: path.join(dir, 'other_known_hosts') });
  const unknown = prepareStoreSend(work(host, emptyKnownHosts, 'cat > /dev/null', true));
  t.teardown(() => unknown.stop());
  t.equal(await unknown.send(contents, () => undefined), false, 'an unknown host key: nothing sent');
  t.equal(await readFile(emptyKnownHosts, 'utf8'), '', 'the unknown key was not recorded');
});
