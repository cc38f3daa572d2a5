/** Nix's base-32 alphabet: digits and lower-case letters without e, o, u and t. */
const ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz';

/** Nix's `compressHash`: XOR-folds a digest into `size` bytes. */
export function compressHash(digest: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  digest.forEach((byte, i) => {
    out[i % size]! ^= byte;
  });
  return out;
}

/** Nix's `printHash32`: 20 bytes become the 32 characters of a store path's hash part. */
export function nixBase32(bytes: Uint8Array): string {
  const length = Math.floor((bytes.length * 8 - 1) / 5) + 1;
  let text = '';
  for (let n = length - 1; n >= 0; n--) {
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    const low = (bytes[i] ?? 0) >> j;
    const high = i + 1 < bytes.length ? (bytes[i + 1] ?? 0) << (8 - j) : 0;
    text += ALPHABET[(low | high) & 0x1f];
  }
  return text;
}
