import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';

/**
 * A store archive sent to an agent on its own input, right after the
 * `import` request's line: frames of a 4-byte big-endian length and that many
 * bytes of the archive; a frame of length 0 ends the archive, and the length
 * ARCHIVE_ABORT says the coordinator gave up (its side failed), so the
 * import refuses what it got. Then request lines go on. One SSH channel per
 * target carries the deployment's requests and its entries: no second
 * command (with its login shell and Node start) for the transfer.
 */
export const ARCHIVE_END = 0;
export const ARCHIVE_ABORT = 0xffffffff;
/** The largest frame a sender makes (bigger chunks are split). */
export const MAX_FRAME = 4 << 20;

export function frameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(length);
  return header;
}

/**
 * Splits an agent's input into request lines (each to `onLine`) and, after
 * a line for which `onLine` returns a receiver, the framed archive as a
 * stream given to that receiver (its reader's backpressure holds the input). An archive whose
 * reader has gone (the import failed) is read to its end and dropped, so the
 * lines after it are read as lines. An input that ends inside an archive
 * ends that archive with an error: the import keeps nothing.
 */
export async function readAgentInput(input: AsyncIterable<Buffer | string>, onLine: (line: string) => ((archive: Readable) => void) | undefined): Promise<void> {
  let pending: Buffer | undefined;
  /** The archive being read: its stream, and the bytes left in the current frame (-1: a frame header is next). */
  let archive: { stream: PassThrough; left: number } | undefined;
  try {
    for await (const raw of input) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      const data = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      pending = undefined;
      let at = 0;
      while (at < data.length) {
        if (archive !== undefined) {
          if (archive.left < 0) {
            if (data.length - at < 4) break;
            const length = data.readUInt32BE(at);
            at += 4;
            if (length === ARCHIVE_END || length === ARCHIVE_ABORT) {
              if (length === ARCHIVE_END) archive.stream.end();
              else archive.stream.destroy(cutOff('the coordinator stopped sending the archive'));
              archive = undefined;
              continue;
            }
            archive.left = length;
          }
          const piece = data.subarray(at, at + archive.left);
          at += piece.length;
          archive.left -= piece.length;
          if (archive.left === 0) archive.left = -1;
          const stream = archive.stream;
          // A reader that failed (and destroyed its stream) gets nothing more; the frames are read on and dropped.
          if (!stream.destroyed && !stream.write(piece)) await drained(stream);
          continue;
        }
        const newline = data.indexOf(10, at);
        if (newline < 0) break;
        const line = data.subarray(at, newline).toString('utf8');
        at = newline + 1;
        const receiver = onLine(line);
        if (receiver !== undefined) {
          archive = { stream: quietStream(), left: -1 };
          receiver(archive.stream);
        }
      }
      if (at < data.length) pending = data.subarray(at);
    }
  } finally {
    archive?.stream.destroy(cutOff('the input ended inside the archive'));
  }
  const rest = pending?.toString('utf8') ?? '';
  if (rest.trim() === '') return;
  const receiver = onLine(rest);
  if (receiver !== undefined) {
    const stream = quietStream();
    receiver(stream);
    stream.destroy(cutOff('the input ended before the archive'));
  }
}

/** The archive's stream: its error (a cut-off or given-up archive) reaches its reader by the read; unread, it is not an uncaught error. */
function quietStream(): PassThrough {
  const stream = new PassThrough({ highWaterMark: 1 << 20 });
  stream.on('error', () => undefined);
  return stream;
}

function drained(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

function cutOff(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_INPUT', `store archive refused: ${message}`, { exitCode: EXIT_OPERATION_FAILED });
}
