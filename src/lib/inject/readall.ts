/**
 * inject/readall: the whole of a readable stream as one Buffer (qmail-inject
 * reads its message to the end before queueing). Rejects with the stream's
 * error (the caller reports `read error`).
 */
import type { Readable } from 'node:stream';

/** All bytes of s until its end. */
export function readStream(s: Readable): Promise<Buffer> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer | string) => chunks.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c));
    s.once('end', () => res(Buffer.concat(chunks)));
    s.once('error', rej);
  });
}
