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

/** Where a store archive goes: the target (for messages) and the shell command that runs `dysnomia store --import --json` there. */
export interface ImportCommand {
  target: string;
  command: string;
}

/** What goes: this store's folder and the entries' metadata in archive order (references first). */
export interface ArchiveContents {
  storeDir: string;
  metas: EntryMeta[];
}

/** The target's `store --import`, started and waiting for its archive on stdin. */
export interface OpenImport {
  channel: ClientChannel;
  /** The import's outcome: resolves when it took every entry, rejects with its own words. */
  received: Promise<string>;
}

export async function openImport(connection: SshConnection, to: ImportCommand): Promise<OpenImport> {
  const channel = await connection.channel(to.command);
  const received = collect(channel, `target "${to.target}": store --import`);
  received.catch(() => undefined);
  return { channel, received };
}

/**
 * Streams the entries as one store archive into an open import; the target
 * verifies every entry before it takes it. Both sides are raced: when the
 * target's import fails (a refused entry, a full disk) its channel closes and
 * the archive would wait for a drain forever; the receiver's rejection ends
 * the send instead and its own message is the error.
 */
export async function streamArchive(connection: SshConnection, to: ImportCommand, open: OpenImport, contents: ArchiveContents, onBytes: (n: number) => void): Promise<void> {
  const { channel, received } = open;
  const counted = byteCounter(onBytes);
  counted.pipe(channel as unknown as Writable);
  const sent = exportArchive(contents.storeDir, contents.metas, counted).catch((error: unknown) => {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${to.target}": sending the archive failed: ${(error as Error).message}`, { exitCode: EXIT_OPERATION_FAILED });
  });
  try {
    await connection.within(Promise.race([Promise.all([sent, received]), connection.whenLost()]), 'while receiving store entries');
  } catch (error) {
    // Whichever side failed, stop the other: no export left waiting, no import left reading.
    sent.catch(() => undefined);
    counted.destroy();
    channel.destroy();
    throw error;
  }
}

/**
 * From this size on, an archive goes through a worker thread with its own
 * SSH connection: ssh2 encrypts and writes every packet on the thread that
 * owns the connection, and one thread sending to several targets at once was
 * the bottleneck of a large deployment (one core for all of them, and one
 * share of a busy machine's CPU). Below it a second handshake, login
 * shell and Node start cost more than they save: a smaller archive goes to
 * the target's agent on its own channel (RemoteAgentLink.sendArchive).
 */
export const WORKER_SEND_BYTES = 8 * 1024 * 1024;

/** What the send's worker thread is given when it starts. */
export interface StoreSendWork extends ImportCommand {
  /** How to reach the target: a connection of the worker's own, host keys checked as for every connection. */
  settings: SshSettings;
}

/** What the worker is told once the entries are known. */
export type StoreSendOrder = { kind: 'send' } & ArchiveContents;

/** What the worker says back: connected with the import started, bytes gone out, then the end. */
export type StoreSendMessage = { kind: 'ready' } | { kind: 'bytes'; n: number } | { kind: 'done' } | { kind: 'failed'; message: string; code: ErrorCode; exitCode: number };

/**
 * A worker thread that connects to the target and starts its `store
 * --import` at once, then waits for `send`: started while the targets are
 * locked, the connection, the handshake and the target's Node start are done
 * by the time the entries to send are known.
 */
export interface PreparedSend {
  /**
   * Resolves true once the target took the archive; false when the worker
   * never got its connection or the import started (nothing was sent: the
   * caller sends over its own connection, as a target that takes one
   * connection at a time needs).
   */
  send(contents: ArchiveContents, onBytes: (n: number) => void): Promise<boolean>;
  /** Ends it (the worker's connection closes; a target's import that got part of an archive refuses it and keeps nothing). */
  stop(): void;
}

export function prepareStoreSend(work: StoreSendWork): PreparedSend {
  // A host key unknown to known_hosts was recorded by the session's own connection already; this one never adds one.
  const settings = neverAcceptNewKeys(work.settings);
  const worker = new Worker(new URL('./store-send-worker.js', import.meta.url), { workerData: { ...work, settings } satisfies StoreSendWork });
  let stopped = false;
  let onBytes: (n: number) => void = () => undefined;
  const done = new Promise<boolean>((resolve, reject) => {
    let ended = false;
    let ready = false;
    // Anything that goes wrong before the worker is ready means nothing was sent: false, and the caller sends itself.
    const settle = (outcome: boolean | (() => Error)) => {
      if (ended) return;
      ended = true;
      if (typeof outcome === 'boolean') resolve(outcome);
      else if (ready) reject(outcome());
      else resolve(false);
    };
    worker.on('message', (message: StoreSendMessage) => {
      if (message.kind === 'ready') ready = true;
      else if (message.kind === 'bytes') onBytes(message.n);
      else if (message.kind === 'done') settle(true);
      else settle(() => new DysnomiaError(message.code, message.message, { exitCode: message.exitCode }));
    });
    worker.on('error', (error) => settle(() => new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${work.target}": sending the archive failed: ${error.message}`, { exitCode: EXIT_OPERATION_FAILED, cause: error })));
    worker.on('exit', () => settle(() => new DysnomiaError('ERR_DYSNOMIA_UNREACHABLE', `target "${work.target}": the transfer was ${stopped ? 'stopped' : 'cut off'}`, { exitCode: EXIT_OPERATION_FAILED })));
  });
  // A failure before send() is said by send(); one after stop() by nobody.
  done.catch(() => undefined);
  return {
    send(contents, bytes) {
      onBytes = bytes;
      worker.postMessage({ kind: 'send', ...contents } satisfies StoreSendOrder);
      return done;
    },
    stop() {
      stopped = true;
      void worker.terminate();
    },
  };
}

function neverAcceptNewKeys(settings: SshSettings): SshSettings {
  return { ...settings, acceptNewHostKeys: false, ...(settings.jump ? { jump: neverAcceptNewKeys(settings.jump) } : {}) };
}
