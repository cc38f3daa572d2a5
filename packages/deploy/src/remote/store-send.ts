import type { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { ClientChannel } from 'ssh2';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import type { ErrorCode } from '@dysnomia/engine/internal/errors.js';
import { exportArchive } from '@dysnomia/engine/internal/store/archive.js';
import type { EntryMeta } from '@dysnomia/engine/internal/store/meta.js';
import { collect } from './bootstrap.js';
import { byteCounter } from './byte-counter.js';
import type { SshConnection, SshSettings } from './ssh-connection.js';

/** What a store archive's send needs: the target's `store --import` command line, this store's folder and the entries' metadata in archive order. */
export interface StoreSendRequest {
  /** The target's name, for messages. */
  target: string;
  /** The shell command that runs `dysnomia store --import --json` on the target. */
  command: string;
  storeDir: string;
  metas: EntryMeta[];
}

/**
 * Streams the entries as one store archive into the target's `store
 * --import` over `connection`; the target verifies every entry before it
 * takes it. Both sides are raced: when the target's import fails (a refused
 * entry, a full disk) its channel closes and the archive would wait for a
 * drain forever; the receiver's rejection ends the send instead and its own
 * message is the error.
 */
export async function sendStoreArchive(connection: SshConnection, request: StoreSendRequest, onBytes: (n: number) => void): Promise<void> {
  const channel: ClientChannel = await connection.channel(request.command);
  const received = collect(channel, `target "${request.target}": store --import`);
  const counted = byteCounter(onBytes);
  counted.pipe(channel as unknown as Writable);
  const sent = exportArchive(request.storeDir, request.metas, counted).catch((error: unknown) => {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${request.target}": sending the archive failed: ${(error as Error).message}`, { exitCode: EXIT_OPERATION_FAILED });
  });
  try {
    await connection.within(Promise.race([Promise.all([sent, received]), connection.whenLost()]), 'while receiving store entries');
  } catch (error) {
    // Whichever side failed, stop the other: no export left waiting, no import left reading.
    sent.catch(() => undefined);
    received.catch(() => undefined);
    counted.destroy();
    channel.destroy();
    throw error;
  }
}

/** What the send's worker thread is given. */
export interface StoreSendWork extends StoreSendRequest {
  /** How to reach the target: a connection of the worker's own, host keys checked as for every connection. */
  settings: SshSettings;
}

/** What the worker says back: bytes gone out, then the end. */
export type StoreSendMessage = { kind: 'bytes'; n: number } | { kind: 'done' } | { kind: 'failed'; message: string; code: ErrorCode; exitCode: number };

/**
 * From this size on, an archive goes through a worker thread with its own
 * SSH connection: ssh2 encrypts and writes every packet on the thread that
 * owns the connection, and one thread sending to several targets at once was
 * the bottleneck of a large deployment (one core for all of them, and one
 * share of a busy machine's CPU). Below it a second handshake costs more
 * than it saves.
 */
export const WORKER_SEND_BYTES = 8 * 1024 * 1024;

/** A send running in a worker thread; `stop()` ends it (the worker's connection closes, the target's import refuses the cut-off archive). */
export interface RunningSend {
  done: Promise<void>;
  stop(): void;
}

export function sendStoreArchiveInWorker(work: StoreSendWork, onBytes: (n: number) => void): RunningSend {
  // A host key unknown to known_hosts was recorded by the session's own connection already; this one never adds one.
  const settings = neverAcceptNewKeys(work.settings);
  const worker = new Worker(new URL('./store-send-worker.js', import.meta.url), { workerData: { ...work, settings } satisfies StoreSendWork });
  let stopped = false;
  const done = new Promise<void>((resolve, reject) => {
    let ended = false;
    worker.on('message', (message: StoreSendMessage) => {
      if (message.kind === 'bytes') onBytes(message.n);
      else if (message.kind === 'done') {
        ended = true;
        resolve();
      } else {
        ended = true;
        reject(new DysnomiaError(message.code, message.message, { exitCode: message.exitCode }));
      }
    });
    worker.on('error', (error) => reject(new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${work.target}": sending the archive failed: ${error.message}`, { exitCode: EXIT_OPERATION_FAILED, cause: error })));
    worker.on('exit', () => {
      if (!ended) reject(new DysnomiaError('ERR_DYSNOMIA_UNREACHABLE', `target "${work.target}": the transfer was ${stopped ? 'stopped' : 'cut off'}`, { exitCode: EXIT_OPERATION_FAILED }));
    });
  });
  return {
    done,
    stop: () => {
      stopped = true;
      void worker.terminate();
    },
  };
}

function neverAcceptNewKeys(settings: SshSettings): SshSettings {
  return { ...settings, acceptNewHostKeys: false, ...(settings.jump ? { jump: neverAcceptNewKeys(settings.jump) } : {}) };
}
