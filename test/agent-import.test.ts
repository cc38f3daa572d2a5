// A store archive sent to a target's agent on its own channel (RemoteAgentLink.sendArchive, the agent's `import`),
// from the built modules: the coordinator's link and an agent in this process, joined by streams as an SSH channel joins them.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import type { Writable } from 'node:stream';
import t from 'tap';
import type { ClientChannel } from 'ssh2';
import { RemoteAgentLink } from '../packages/deploy/dist/remote/agent-link.js';
import { serveAgent } from '../packages/engine/dist/agent/agent.js';
import { exportArchive } from '../packages/engine/dist/store/archive.js';
import { Store } from '../packages/engine/dist/store/store.js';
import { tempDir } from './helpers/cli.js';

/** An agent serving `stateDir`, and the channel the coordinator's side gets: what it writes is the agent's input, the agent's answers are its data. */
async function agentOn(stateDir: string): Promise<{ link: RemoteAgentLink; inputBytes: () => number; served: Promise<void> }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let inputBytes = 0;
  const channel = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      inputBytes += chunk.length;
      input.write(chunk, callback);
    },
    final(callback) {
      input.end();
      callback();
    },
  }) as Duplex & { stderr: PassThrough };
  channel.stderr = new PassThrough();
  output.on('data', (chunk: Buffer) => channel.push(chunk));
  const served = serveAgent(input, output, stateDir).then(() => {
    channel.push(null);
    channel.emit('close');
  });
  const link = await RemoteAgentLink.open(channel as unknown as ClientChannel, 'test1');
  return { link, inputBytes: () => inputBytes, served };
}

async function storeWith(dir: string, files: Record<string, Buffer | string>): Promise<{ store: Store; entry: string }> {
  const source = path.join(dir, 'source', 'app');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(source, name)), { recursive: true });
    await writeFile(path.join(source, name), content);
  }
  const store = Store.at(path.join(dir, 'coordinator'));
  return { store, entry: await store.add(source) };
}

t.test('the archive goes on the agent channel; a request made meanwhile is answered after it', async (t) => {
  const dir = await tempDir(t);
  const { store, entry } = await storeWith(dir, { 'bin/app': '#!/bin/sh\n', 'share/data': Buffer.alloc(5 * 1024 * 1024, 9) });
  const target = path.join(dir, 'target');
  const { link, served } = await agentOn(target);
  const metas = await store.archiveMetas([entry]);
  let counted = 0;
  const sending = link.sendArchive((output) => exportArchive(store.dir, metas, output), (n) => (counted += n));
  const meanwhile = link.request({ kind: 'missing', entries: [entry] });
  t.same(await sending, [entry], 'the target imported the entry');
  t.match(await meanwhile, { ok: true, result: { missing: [] } }, 'the request made during the transfer waited for its end');
  t.ok(counted > 5 * 1024 * 1024, 'its bytes were counted');
  t.equal(await Store.at(target).verify(entry), true, 'the entry is whole there');
  await link.close();
  await served;
});

t.test('a sender that fails tells the agent to drop what it got; a refused archive is the target\'s own error; the link goes on', async (t) => {
  const dir = await tempDir(t);
  const { store, entry } = await storeWith(dir, { 'share/data': Buffer.alloc(3 * 1024 * 1024, 4) });
  const target = path.join(dir, 'target');
  const { link, served } = await agentOn(target);
  const metas = await store.archiveMetas([entry]);

  // The export fails half-way (a file here could not be read).
  const failing = link.sendArchive(async (output) => {
    const whole = new PassThrough();
    const chunks: Buffer[] = [];
    whole.on('data', (chunk: Buffer) => chunks.push(chunk));
    await exportArchive(store.dir, metas, whole);
    const archive = Buffer.concat(chunks);
    (output as Writable).write(archive.subarray(0, archive.length / 2));
    throw new Error('cannot read share/data here');
  }, () => undefined);
  await t.rejects(failing, /cannot read share\/data here/);
  t.match(await link.request({ kind: 'missing', entries: [entry] }), { ok: true, result: { missing: [entry] } }, 'nothing was added, and the agent reads requests again');

  // A damaged archive: the target refuses it with its own words.
  const damaged = link.sendArchive(async (output) => {
    const whole = new PassThrough();
    const chunks: Buffer[] = [];
    whole.on('data', (chunk: Buffer) => chunks.push(chunk));
    await exportArchive(store.dir, metas, whole);
    const archive = Buffer.concat(chunks);
    archive[archive.length - 100_000] = archive[archive.length - 100_000]! ^ 1;
    (output as Writable).end(archive);
    await new Promise((resolve) => (output as Writable).on('finish', resolve));
  }, () => undefined);
  await t.rejects(damaged, /target "test1": importing the store entries failed: store archive refused: .*do not match/);

  // And a good one after both.
  t.same(await link.sendArchive((output) => exportArchive(store.dir, metas, output), () => undefined), [entry]);
  t.same((await readdir(path.join(target, 'store'))).filter((name) => name.startsWith('.tmp-')), [], 'no temporary folder left');
  await link.close();
  await served;
});
