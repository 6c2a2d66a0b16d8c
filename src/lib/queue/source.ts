/**
 * queue/source: where qmail-queue's input bytes come from. A ByteSource is
 * read chunk by chunk; it returns 0 at end of input and throws (errno
 * `.code`) on a read error. Two kinds:
 *
 * - fdSource(fd): a raw descriptor, as the real qmail-queue reads fds 0 and
 *   1. Reads go through the libuv thread pool (fs.read) so the process's
 *   timers (the 24-hour death timer) keep running; a descriptor someone left
 *   O_NONBLOCK (EAGAIN) is retried after a short pause instead of failing.
 * - bufferSource(buf): bytes already in memory (in-process injection by
 *   qmail-smtpd / qmail-inject running inside a server).
 *
 * drainSource(src, put) reads a source to its end into a sink (the message
 * copies of qmail-queue, maildir and mbox delivery).
 */
import { read } from 'node:fs';
import { errCode } from '../errstr.ts';

/** A pull-style byte stream: read(into) resolves to the count, 0 at end. */
export interface ByteSource {
  read(into: Buffer): Promise<number>;
}

const readAsync = (fd: number, into: Buffer): Promise<number> =>
  new Promise((res, rej) => read(fd, into, 0, into.length, null, (e, n) => (e ? rej(e) : res(n))));

/** A ByteSource reading descriptor fd from its current offset. */
export function fdSource(fd: number): ByteSource {
  return {
    async read(into: Buffer): Promise<number> {
      for (;;) {
        try {
          return await readAsync(fd, into);
        } catch (e) {
          const c = errCode(e);
          if (c === 'EAGAIN' || c === 'EINTR') {
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          throw e;
        }
      }
    },
  };
}

/** A ByteSource over bytes in memory (copied out in chunks of the caller's size). */
export function bufferSource(buf: Uint8Array): ByteSource {
  let off = 0;
  return {
    read(into: Buffer): Promise<number> {
      const n = Math.min(into.length, buf.length - off);
      into.set(buf.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
  };
}

/**
 * Read src to its end, handing each chunk to put (a view into one reused
 * buffer of 64 KiB, valid only during the call). Resolves to undefined at the
 * end of input, or to { readError } when a read fails (nothing more is read);
 * whatever put throws propagates unchanged.
 */
export async function drainSource(src: ByteSource, put: (chunk: Buffer) => void): Promise<{ readError: unknown } | undefined> {
  const buf = Buffer.allocUnsafe(65536);
  for (;;) {
    let n: number;
    try {
      n = await src.read(buf);
    } catch (e) {
      return { readError: e };
    }
    if (n === 0) return undefined;
    put(buf.subarray(0, n));
  }
}
