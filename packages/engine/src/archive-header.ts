/**
 * The first line of an archive stream (store and snapshot archives both
 * start with one header line of JSON), and the bytes after it. `refuse`
 * makes the archive's own error; `kind` names it ("store archive").
 */
export async function readHeaderLine(
  iterator: AsyncIterator<Buffer>,
  options: { maxBytes: number; kind: string; refuse: (message: string) => Error },
): Promise<{ header: string; rest: Buffer }> {
  const chunks: Buffer[] = [];
  let length = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done) throw options.refuse('the stream ended before the header line (empty or cut off)');
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    const newline = chunk.indexOf(0x0a);
    if (newline >= 0) {
      chunks.push(chunk.subarray(0, newline));
      return { header: Buffer.concat(chunks).toString('utf8'), rest: chunk.subarray(newline + 1) };
    }
    chunks.push(chunk);
    length += chunk.length;
    if (length > options.maxBytes) throw options.refuse(`no header line: not a ${options.kind}`);
  }
}
