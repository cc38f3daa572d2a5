// A worker thread's entry: sends one store archive to a target over a connection of its own (see store-send.ts).
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { DysnomiaError } from '@dysnomia/engine/internal/errors.js';
import { SshConnection } from './ssh-connection.js';
import { openImport, streamArchive } from './store-send.js';
import type { StoreSendMessage, StoreSendOrder, StoreSendWork } from './store-send.js';

const work = workerData as StoreSendWork;
const port = parentPort!;
const say = (message: StoreSendMessage) => port.postMessage(message);
// Asked for before anything is awaited, so an order that comes early is not missed.
const order = once(port, 'message') as Promise<[StoreSendOrder]>;

// Bytes are said per MiB: a message per 32 KiB packet would cost more than it tells.
let unsaid = 0;
const counted = (n: number) => {
  unsaid += n;
  if (unsaid >= 1 << 20) {
    say({ kind: 'bytes', n: unsaid });
    unsaid = 0;
  }
};

let connection: SshConnection | undefined;
try {
  connection = await SshConnection.open(work.settings);
  const open = await openImport(connection, work);
  say({ kind: 'ready' });
  const [contents] = await order;
  await streamArchive(connection, work, open, contents, counted);
  if (unsaid > 0) say({ kind: 'bytes', n: unsaid });
  say({ kind: 'done' });
} catch (error) {
  const known = error instanceof DysnomiaError ? error : undefined;
  say({ kind: 'failed', message: (error as Error).message ?? String(error), code: known?.code ?? 'ERR_DYSNOMIA_INPUT', exitCode: known?.exitCode ?? 1 });
} finally {
  connection?.close();
  port.removeAllListeners('message');
}
