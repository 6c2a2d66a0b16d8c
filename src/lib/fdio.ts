/**
 * fdio: blocking reads from a file descriptor for filter programs that run as
 * real processes (tcprules, addcr, delcr, fixcrio, recordio) and must not
 * touch process.stdin (which would put a pipe on fd 0 into O_NONBLOCK and
 * hide read errors such as EISDIR). Writes use strerr.writeAll.
 *
 *   readFd(fd, size?)   one read: up to size bytes (default 8192); an empty
 *                       Buffer at end of file; EAGAIN (a descriptor someone
 *                       else made non-blocking) waits 10 ms and retries,
 *                       EINTR retries; other errors are thrown with .code.
 *   readInto(fd, buf)   the same read into a caller's buffer (tcprules
 *                       reuses one): the byte count, 0 at end of file.
 *   fdChunks(fd, size?) the reads of fd until end of file, as an iterable.
 *   readAll(fd)         all of fd to its end, or undefined on a read error
 *                       (qmail-remote's and qmail-qmqpc's message/envelope).
 *   filterFds(f, end?)  copy fd 0 to fd 1 through f (addcr, delcr): 0 at end
 *                       of input, 111 on a read or write error (silently,
 *                       as those filters do).
 */
import { fs } from './nodefs.ts';
import { writeAll } from './strerr.ts';

const { readSync } = fs;

const nap = new Int32Array(new SharedArrayBuffer(4));

/** One read(2) of up to size bytes from fd; empty at EOF (see module comment). */
export function readFd(fd: number, size = 8192): Buffer {
  const buf = Buffer.allocUnsafe(size);
  return buf.subarray(0, readInto(fd, buf));
}

/** One read(2) from fd into buf (reused by the caller): the byte count, 0 at EOF; retries as readFd. */
export function readInto(fd: number, buf: Buffer): number {
  for (;;) {
    try {
      return readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(nap, 0, 0, 10);
      else if (code !== 'EINTR') throw e;
    }
  }
}

/** Every read of fd until end of file. */
export function* fdChunks(fd: number, size = 65536): Generator<Buffer> {
  for (;;) {
    const b = readFd(fd, size);
    if (b.length === 0) return;
    yield b;
  }
}

/** All of fd to its end (a file or a pipe), or undefined when a read fails. */
export function readAll(fd: number): Buffer | undefined {
  const parts: Buffer[] = [];
  try {
    for (const b of fdChunks(fd)) parts.push(b);
  } catch {
    return undefined;
  }
  return Buffer.concat(parts);
}

/**
 * Copy fd 0 to fd 1 through f (each read's output written before the next
 * read), then write end() if given. Returns 0, or 111 on any read/write error.
 */
export function filterFds(f: (chunk: Buffer) => Buffer, end?: () => Buffer): number {
  try {
    for (const chunk of fdChunks(0)) writeAll(1, f(chunk));
    if (end) writeAll(1, end());
  } catch {
    return 111;
  }
  return 0;
}
