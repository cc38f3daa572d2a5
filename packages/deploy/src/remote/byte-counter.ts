import { Transform } from 'node:stream';

/** A pass-through stream that tells `onBytes` the size of every chunk going through it. */
export function byteCounter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
}
